// Property tests: whatever happens to a valid payload's proofs, bodies or records, the
// evaluator never answers PASS and never throws; random junk is never PASS; and honest claims
// over random JSON bodies PASS while changed values are CAUGHT.
import { createHash, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EvaluationResult, evaluateHandoff, jsonEqual } from '../../src/eval/index.js';
import type { HandoffClaim, HandoffPayload, HandoffRecordContent } from '../../src/handoff/index.js';
import {
  checkpointMessage,
  claimAbout,
  newSigningKey,
  payloadOf,
  recordCall,
  setup,
} from './fixture-ledger.js';

const RUNS = Number(process.env.PROVABLY_FUZZ_RUNS ?? 300);

function base() {
  const s = setup();
  const calls = [
    recordCall(s.ledger, { body: { symbol: 'ACME', price: 101.5, tags: ['a', 'b'] } }),
    recordCall(s.ledger, { body: { rate: 4.25, nested: { ok: true } }, encoding: 'gzip' }),
    recordCall(s.ledger, { body: { n: 1 }, url: 'https://data.example.org/quote', actionName: 'rates' }),
  ];
  for (let i = 0; i < 4; i++) recordCall(s.ledger, { body: { filler: i } });
  const payload = payloadOf([
    claimAbout(s.ledger, calls[0] as never, { json_path: '$.price', claimed_value: 101.5 }),
    claimAbout(s.ledger, calls[1] as never, {
      verification_mode: 'range_threshold',
      json_path: '$.rate',
      claimed_value: 4.25,
      range_min: 4,
    }),
    claimAbout(s.ledger, calls[2] as never, { verification_mode: 'verbatim', claimed_value: { n: 1 } }),
  ]);
  return { ...s, payload };
}

/** A well-formed result: the evaluator answered rather than crashed. */
function assertShape(result: EvaluationResult): void {
  expect(['PASS', 'CAUGHT', 'ERROR']).toContain(result.outcome);
  expect(Array.isArray(result.per_claim)).toBe(true);
  expect(Array.isArray(result.errors)).toBe(true);
  for (const c of result.per_claim) {
    expect(c.reason.length).toBeLessThan(700);
    expect((c.indexed_value ?? '').length).toBeLessThan(600);
    expect((c.claimed_value ?? '').length).toBeLessThan(600);
  }
}

function flipBit(text: string, bit: number, encoding: 'hex' | 'base64'): string {
  const bytes = Buffer.from(text, encoding);
  const i = bit % (bytes.length * 8);
  bytes[i >> 3] = (bytes[i >> 3] as number) ^ (1 << (i & 7));
  return bytes.toString(encoding);
}
const flipHexBit = (hex: string, bit: number) => flipBit(hex, bit, 'hex');

function changeRecordField(record: HandoffRecordContent, which: number, salt: number): void {
  const fields = Object.keys(record) as (keyof HandoffRecordContent)[];
  const name = fields[which % fields.length] as keyof HandoffRecordContent;
  const r = record as unknown as Record<string, unknown>;
  const v = r[name];
  if (typeof v === 'string')
    r[name] = name === 'id' ? v.replace(/.$/, (ch) => (ch === '0' ? '1' : '0')) : `${v}x`;
  else if (typeof v === 'number') r[name] = v + 1 + (salt % 7);
  else if (typeof v === 'boolean') r[name] = !v;
  else if (v === null) r[name] = name === 'status' || name === 'intercept_index' ? salt % 600 : `x${salt}`;
  else r[name] = { ...(v as object), 'x-added': String(salt) };
}

const KINDS = [
  'proof-bit',
  'sig-bit',
  'root-bit',
  'body-bit',
  'body-truncate',
  'proof-truncate',
  'leaf+1',
  'leaf-1',
  'size*2',
  'size+1',
  'size-1',
  'wrong-key',
  'record-field',
  'digest-and-body',
  'swap-bundles',
  'checkpoint-org',
] as const;

function mutate(
  payload: HandoffPayload,
  m: { kind: (typeof KINDS)[number]; claim: number; bit: number; n: number; bytes: Uint8Array },
  rogue: ReturnType<typeof newSigningKey>,
): void {
  const claim = payload.claims[m.claim % payload.claims.length] as HandoffClaim;
  const p = claim.proof;
  const body = () => Buffer.from(p.response_body ?? '', 'base64');
  switch (m.kind) {
    case 'proof-bit':
      if (p.inclusion_proof.length === 0)
        p.inclusion_proof.push(createHash('sha256').update(m.bytes).digest('hex'));
      else {
        const i = m.n % p.inclusion_proof.length;
        p.inclusion_proof[i] = flipHexBit(p.inclusion_proof[i] as string, m.bit);
      }
      return;
    case 'sig-bit':
      p.checkpoint.signature = flipBit(p.checkpoint.signature, m.bit, 'base64');
      return;
    case 'root-bit':
      p.checkpoint.root_hash = flipHexBit(p.checkpoint.root_hash, m.bit);
      return;
    case 'body-bit': {
      const b = body();
      const i = m.bit % (b.length * 8);
      b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
      p.response_body = b.toString('base64');
      return;
    }
    case 'body-truncate': {
      const b = body();
      p.response_body = b.subarray(0, m.n % b.length).toString('base64');
      return;
    }
    case 'proof-truncate':
      p.inclusion_proof.splice(p.inclusion_proof.length - 1 - (m.n % Math.max(1, p.inclusion_proof.length)));
      return;
    case 'leaf+1':
      p.leaf_index += 1;
      return;
    case 'leaf-1':
      p.leaf_index -= 1;
      return;
    case 'size*2':
      p.checkpoint.tree_size *= 2;
      return;
    case 'size+1':
      p.checkpoint.tree_size += 1;
      return;
    case 'size-1':
      p.checkpoint.tree_size -= 1;
      return;
    case 'wrong-key': {
      // A well-formed checkpoint over the same tree, signed by a key that is not trusted.
      const { signature: _, ...unsigned } = p.checkpoint;
      p.checkpoint.signature = sign(null, checkpointMessage(unsigned), rogue.privateKey).toString('base64');
      return;
    }
    case 'record-field':
      changeRecordField(p.record, m.n, m.bit);
      return;
    case 'digest-and-body': {
      const forged = Buffer.from(m.bytes.byteLength === 0 ? Uint8Array.of(m.bit & 0xff) : m.bytes);
      if (forged.equals(body())) forged[0] = (forged[0] as number) ^ 1;
      p.response_body = forged.toString('base64');
      p.record.body_sha256 = createHash('sha256').update(forged).digest('hex');
      p.record.body_size = forged.byteLength;
      p.record.content_encoding = null;
      return;
    }
    case 'swap-bundles': {
      const other = payload.claims[
        (m.claim + 1 + (m.n % (payload.claims.length - 1))) % payload.claims.length
      ] as HandoffClaim;
      [claim.proof, other.proof] = [other.proof, claim.proof];
      return;
    }
    case 'checkpoint-org':
      p.checkpoint.org_id = `${p.checkpoint.org_id}-x`;
      return;
  }
}

describe('fuzz: tampered payloads', () => {
  const { payload, options } = base();
  const rogue = newSigningKey('test-key-1');

  it('the unmodified payload passes (the baseline the properties start from)', async () => {
    expect((await evaluateHandoff(payload, options)).outcome).toBe('PASS');
  });

  it('never passes and never throws, whatever is flipped, cut or swapped', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kind: fc.constantFrom(...KINDS),
          claim: fc.nat(),
          bit: fc.nat(),
          n: fc.nat(),
          bytes: fc.uint8Array({ maxLength: 64 }),
        }),
        async (m) => {
          const edited = structuredClone(payload);
          mutate(edited, m, rogue);
          const result = await evaluateHandoff(edited, options);
          assertShape(result);
          expect(result.outcome).not.toBe('PASS');
          const key = `${m.kind}:${result.outcome}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        },
      ),
      { numRuns: RUNS },
    );
    // Tampering with a proof is evidence: the cryptographic mutations are CAUGHT, not ERROR.
    for (const kind of [
      'proof-bit',
      'sig-bit',
      'root-bit',
      'body-bit',
      'wrong-key',
      'digest-and-body',
      'swap-bundles',
    ]) {
      expect(seen.get(`${kind}:ERROR`) ?? 0, kind).toBe(0);
    }
  });

  it('never passes and never throws when a random JSON value replaces part of a claim', async () => {
    const paths: string[][] = [];
    const walk = (v: unknown, at: string[]) => {
      paths.push(at);
      if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...at, k]);
    };
    walk(payload.claims[0]?.proof, ['claims', '0', 'proof']);
    paths.push(
      ['claims', '0', 'action_name'],
      ['claims', '0', 'query_record_id'],
      ['claims', '0', 'claimed_value'],
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), async (path, value) => {
        const edited = structuredClone(payload) as unknown as Record<string, unknown>;
        let parent = edited;
        for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
        const last = path[path.length - 1] as string;
        fc.pre(!jsonEqual(parent[last], value));
        fc.pre(
          !(last === 'query_record_id' && typeof value === 'string' && value.toLowerCase() === parent[last]),
        );
        parent[last] = value;
        const result = await evaluateHandoff(edited, options);
        assertShape(result);
        expect(result.outcome).not.toBe('PASS');
      }),
      { numRuns: RUNS },
    );
  });

  it('never passes and never throws for random junk, as a value or as JSON text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.anything(), fc.string(), fc.uint8Array()),
        async (junk) => {
          const result = await evaluateHandoff(junk, options);
          assertShape(result);
          expect(result.outcome).toBe('ERROR');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: random bodies', () => {
  it('honest claims over random JSON bodies pass; changed values are caught', async () => {
    const { ledger, options } = setup();
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
          minKeys: 1,
        }),
        fc.jsonValue({ maxDepth: 2 }),
        fc.boolean(),
        async (body, other, gzip) => {
          const call = recordCall(ledger, { body, encoding: gzip ? 'gzip' : null });
          // JSON.stringify turns -0 into 0 and drops nothing else that jsonValue generates.
          const stored = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
          const key = Object.keys(stored)[0] as string;
          const path = `$[${JSON.stringify(key)}]`;
          const honest = [
            claimAbout(ledger, call, { verification_mode: 'verbatim', claimed_value: stored as never }),
            claimAbout(ledger, call, { json_path: path, claimed_value: stored[key] as never }),
          ];
          expect((await evaluateHandoff(payloadOf(honest), options)).outcome).toBe('PASS');
          fc.pre(!jsonEqual(other, stored[key]));
          const lying = claimAbout(ledger, call, { json_path: path, claimed_value: other as never });
          const result = await evaluateHandoff(payloadOf([lying]), options);
          expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'value' });
        },
      ),
      { numRuns: Math.max(50, Math.floor(RUNS / 3)) },
    );
  });
});
