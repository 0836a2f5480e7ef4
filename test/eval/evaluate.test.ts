// evaluateHandoff: proofs first, then identity, endpoints and body integrity, then values; and
// the payload-level ERRORs. Every bundle is real (fixture ledger), so a failed proof is a real
// failed proof.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evaluateHandoff, type ProofVerifier } from '../../src/eval/index.js';
import type { HandoffClaim, HandoffPayload } from '../../src/handoff/index.js';
import {
  claimAbout,
  FixtureLedger,
  fixtureVerifier,
  newSigningKey,
  ORG,
  payloadOf,
  recordCall,
  setup,
  TRUSTED,
} from './fixture-ledger.js';

const BODY = { symbol: 'ACME', price: 101.5, tags: ['a', 'b'] };

function oneClaim(fields: Partial<HandoffClaim> = {}) {
  const s = setup();
  const call = recordCall(s.ledger, { body: BODY });
  recordCall(s.ledger, { body: { other: true } });
  const claim = claimAbout(s.ledger, call, { json_path: '$.price', claimed_value: 101.5, ...fields });
  return { ...s, call, claim, payload: payloadOf([claim]) };
}

const clone = <T>(v: T): T => structuredClone(v);

describe('evaluateHandoff: PASS', () => {
  it('verifies a bundle once per evaluation only when its proof inputs are identical', async () => {
    const { ledger, options, verifier } = setup();
    const a = recordCall(ledger, { body: BODY });
    const honest = claimAbout(ledger, a, { json_path: '$.symbol', claimed_value: 'ACME' });
    const edited = clone(honest);
    edited.proof.record.status = 203;
    const result = await evaluateHandoff(payloadOf([honest, edited, clone(honest)]), options);
    expect(result.per_claim.map((c) => [c.verdict, c.check])).toEqual([
      ['PASS', 'value'],
      ['CAUGHT', 'proof'],
      ['PASS', 'value'],
    ]);
    expect(verifier.calls).toBe(2);
  });

  it('passes verified claims over several records, with a bounded, complete per-claim report', async () => {
    const { ledger, options, verifier } = setup();
    const a = recordCall(ledger, { body: BODY });
    const b = recordCall(ledger, {
      body: { rate: 4.25 },
      url: 'https://data.example.org/quote',
      actionName: 'rates',
    });
    const claims = [
      claimAbout(ledger, a, { json_path: '$.symbol', claimed_value: 'ACME' }),
      claimAbout(ledger, b, {
        verification_mode: 'range_threshold',
        json_path: '$.rate',
        claimed_value: 4.25,
        range_max: 5,
      }),
      claimAbout(ledger, a, { verification_mode: 'verbatim', claimed_value: BODY }),
    ];
    const result = await evaluateHandoff(payloadOf(claims), options);
    expect(result.outcome).toBe('PASS');
    expect(result.errors).toEqual([]);
    // One verification per distinct proof bundle: the two claims on record a share theirs.
    expect(verifier.calls).toBe(2);
    expect(result.per_claim[1]).toEqual({
      index: 1,
      action_name: 'rates',
      query_record_id: b.record.id,
      mode: 'range_threshold',
      json_path: '$.rate',
      verdict: 'PASS',
      check: 'range',
      reason: 'the number at $.rate equals the claim and lies within the range',
      claimed_value: '4.25',
      indexed_value: '4.25',
    });
  });

  it('accepts the payload as JSON text or UTF-8 bytes, and Python-style nulls', async () => {
    const { payload, options } = oneClaim({ range_min: null, range_max: null, expected_json_schema: null });
    const text = JSON.stringify({ ...payload, trusted_endpoints: null, verification_results: null });
    expect((await evaluateHandoff(text, options)).outcome).toBe('PASS');
    expect((await evaluateHandoff(Buffer.from(text), options)).outcome).toBe('PASS');
  });

  it('is deterministic and leaves the payload untouched', async () => {
    const { payload, options } = oneClaim();
    const before = clone(payload);
    const first = await evaluateHandoff(payload, options);
    expect(await evaluateHandoff(payload, options)).toEqual(first);
    expect(payload).toEqual(before);
  });
});

describe('evaluateHandoff: proofs (CAUGHT "proof")', () => {
  const tamper: [string, (c: HandoffClaim) => void][] = [
    [
      'record url',
      (c) => {
        c.proof.record.url = 'https://api.example.com/v1/quotes/EVIL';
      },
    ],
    [
      'record status',
      (c) => {
        c.proof.record.status = 201;
      },
    ],
    [
      'record body digest and body together',
      (c) => {
        const forged = Buffer.from(JSON.stringify({ ...BODY, price: 99 }));
        c.proof.response_body = forged.toString('base64');
        c.proof.record.body_sha256 = createHash('sha256').update(forged).digest('hex');
        c.proof.record.body_size = forged.byteLength;
      },
    ],
    [
      'leaf index + 1',
      (c) => {
        c.proof.leaf_index += 1;
      },
    ],
    [
      'leaf index - 1 (wrapping)',
      (c) => {
        c.proof.leaf_index = c.proof.leaf_index === 0 ? 1 : 0;
      },
    ],
    [
      'tree size × 2',
      (c) => {
        c.proof.checkpoint.tree_size *= 2;
      },
    ],
    [
      'root hash',
      (c) => {
        c.proof.checkpoint.root_hash = `${'0'.repeat(63)}1`;
      },
    ],
    [
      'signature bit',
      (c) => {
        const sig = Buffer.from(c.proof.checkpoint.signature, 'base64');
        sig[5] = (sig[5] as number) ^ 0x01;
        c.proof.checkpoint.signature = sig.toString('base64');
      },
    ],
    [
      'checkpoint timestamp',
      (c) => {
        c.proof.checkpoint.timestamp = '2030-01-01T00:00:00.000Z';
      },
    ],
    [
      'proof element',
      (c) => {
        c.proof.inclusion_proof[0] = 'f'.repeat(64);
      },
    ],
    ['proof shortened', (c) => void c.proof.inclusion_proof.pop()],
    ['proof extended', (c) => void c.proof.inclusion_proof.push('a'.repeat(64))],
    [
      'unknown key id',
      (c) => {
        c.proof.checkpoint.key_id = 'someone-else';
      },
    ],
  ];

  it.each(tamper)('catches a changed %s', async (_, change) => {
    const { claim, options } = oneClaim();
    const edited = clone(claim);
    change(edited);
    const result = await evaluateHandoff(payloadOf([edited]), options);
    expect(result.outcome).toBe('CAUGHT');
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'proof', indexed_value: null });
    expect(result.per_claim[0]?.reason).toMatch(/^proof: /);
  });

  it('catches a checkpoint signed by a key that is not trusted, even with a correct tree', async () => {
    const { options } = setup();
    const rogue = new FixtureLedger(ORG, newSigningKey('test-key-1')); // same key id, other key
    const call = recordCall(rogue, { body: BODY });
    const result = await evaluateHandoff(
      payloadOf([claimAbout(rogue, call, { json_path: '$.price', claimed_value: 101.5 })]),
      options,
    );
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
    expect(result.per_claim[0]?.reason).toContain('signature');
  });

  it('checks the proof before anything else: a bad proof wins over a bad path', async () => {
    const { claim, options } = oneClaim({ json_path: 'not a path' });
    const edited = clone(claim);
    edited.proof.leaf_index += 1;
    expect((await evaluateHandoff(payloadOf([edited]), options)).per_claim[0]?.check).toBe('proof');
    expect((await evaluateHandoff(payloadOf([claim]), options)).per_claim[0]?.check).toBe('path');
  });

  it('is ERROR, not CAUGHT, when the verifier throws, answers nonsense or cannot decide', async () => {
    const { payload, key } = oneClaim();
    const base = fixtureVerifier();
    const variants: ProofVerifier[] = [
      {
        ...base,
        verify: () => {
          throw new Error('ledger offline');
        },
      },
      { ...base, verify: async () => Promise.reject(new Error('ledger offline')) },
      { ...base, verify: () => ({ yes: 1 }) as never },
      { ...base, verify: () => ({ ok: false, reason: 'unsupported algorithm', unavailable: true }) },
    ];
    for (const verifyProof of variants) {
      const result = await evaluateHandoff(payload, {
        trustedKeys: [key.trusted],
        verifyProof,
        trustedEndpoints: TRUSTED,
      });
      expect(result.outcome).toBe('ERROR');
      expect(result.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'proof' });
      expect(result.errors).toEqual([
        { code: 'claim-error', claim_index: 0, message: result.per_claim[0]?.reason },
      ]);
    }
  });
});

describe('evaluateHandoff: the proven record is the claimed one', () => {
  it('catches a record or checkpoint from another org', async () => {
    const key = newSigningKey();
    const other = new FixtureLedger('org-other', key);
    const call = recordCall(other, { body: BODY });
    const claim = claimAbout(other, call, { json_path: '$.price', claimed_value: 101.5 });
    const opts = { trustedKeys: [key.trusted], verifyProof: fixtureVerifier(), trustedEndpoints: TRUSTED };
    const result = await evaluateHandoff(payloadOf([claim]), opts);
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'org' });
    expect(result.per_claim[0]?.reason).toContain('checkpoint org');

    // The org's own ledger holding a record of another org.
    const own = new FixtureLedger(ORG, key);
    const foreign = recordCall(own, { body: BODY, orgId: 'org-other' });
    const r2 = await evaluateHandoff(
      payloadOf([claimAbout(own, foreign, { json_path: '$.price', claimed_value: 101.5 })]),
      opts,
    );
    expect(r2.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'org' });
    expect(r2.per_claim[0]?.reason).toContain('record org');
  });

  it('catches a query_record_id that is not the bundle record id (case-insensitive match passes)', async () => {
    const { claim, options } = oneClaim();
    const wrong = { ...clone(claim), query_record_id: '5e1f0c3a-0000-4000-8000-ffffffffffff' };
    expect((await evaluateHandoff(payloadOf([wrong]), options)).per_claim[0]).toMatchObject({
      verdict: 'CAUGHT',
      check: 'record',
    });
    const upper = { ...clone(claim), query_record_id: claim.query_record_id.toUpperCase() };
    expect((await evaluateHandoff(payloadOf([upper]), options)).outcome).toBe('PASS');
  });

  it("catches a claim whose action_name is not the record's", async () => {
    const { claim, options } = oneClaim();
    const result = await evaluateHandoff(
      payloadOf([{ ...clone(claim), action_name: 'other_action' }]),
      options,
    );
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'action' });
  });
});

describe('evaluateHandoff: trusted endpoints', () => {
  it('catches a record whose URL the receiver does not trust', async () => {
    const { claim, options } = oneClaim();
    const result = await evaluateHandoff(payloadOf([claim]), {
      ...options,
      trustedEndpoints: ['https://data.example.org/quote'],
    });
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'endpoint' });
    expect(result.per_claim[0]?.reason).toBe(
      'endpoint missing from trusted snapshot (receiver trustedEndpoints)',
    );
  });

  it('uses the payload snapshot when the receiver has none, and checks it when it has one', async () => {
    const { claim, options } = oneClaim();
    const { trustedEndpoints: _, ...noReceiver } = options;
    const trusting = payloadOf([claim], {
      trusted_endpoints: ['https://api.example.com/v1/quotes/{symbol}'],
    });
    expect((await evaluateHandoff(trusting, noReceiver)).outcome).toBe('PASS');
    const notTrusting = payloadOf([claim], { trusted_endpoints: ['https://data.example.org/quote'] });
    const r1 = await evaluateHandoff(notTrusting, noReceiver);
    expect(r1.per_claim[0]?.reason).toBe(
      'endpoint missing from trusted snapshot (payload trusted_endpoints)',
    );
    // The receiver trusts the URL, but the sender's own snapshot does not: still CAUGHT.
    expect((await evaluateHandoff(notTrusting, options)).outcome).toBe('CAUGHT');
  });

  it('is ERROR with no snapshot at all, or an invalid entry', async () => {
    const { claim, options } = oneClaim();
    const { trustedEndpoints: _, ...noReceiver } = options;
    const none = await evaluateHandoff(payloadOf([claim]), noReceiver);
    expect(none.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'endpoint' });
    const invalid = await evaluateHandoff(
      payloadOf([claim], { trusted_endpoints: ['ftp://x.example/'] }),
      noReceiver,
    );
    expect(invalid.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'endpoint' });
    expect(invalid.per_claim[0]?.reason).toContain('invalid entry in payload trusted_endpoints');
  });
});

describe('evaluateHandoff: body integrity', () => {
  it('catches a body swapped under an honest record (digest mismatch)', async () => {
    const { claim, options } = oneClaim();
    const edited = clone(claim);
    const forged = Buffer.from(JSON.stringify({ ...BODY, price: 102.5 })); // same length
    edited.proof.response_body = forged.toString('base64');
    const result = await evaluateHandoff(payloadOf([{ ...edited, claimed_value: 102.5 }]), options);
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'body' });
    expect(result.per_claim[0]?.reason).toContain('SHA-256');
  });

  it('catches a body with the wrong size', async () => {
    const { claim, options } = oneClaim();
    const edited = clone(claim);
    edited.proof.response_body = Buffer.from(`${JSON.stringify(BODY)} `).toString('base64');
    expect((await evaluateHandoff(payloadOf([edited]), options)).per_claim[0]).toMatchObject({
      verdict: 'CAUGHT',
      check: 'body',
    });
  });

  it('is ERROR for a body left out without a store, or not in canonical base64', async () => {
    const { claim, options } = oneClaim();
    const left = clone(claim);
    left.proof.response_body = null;
    expect((await evaluateHandoff(payloadOf([left]), options)).per_claim[0]).toMatchObject({
      verdict: 'ERROR',
      check: 'body',
    });
    for (const bad of [
      'not base64!',
      `${claim.proof.response_body}=`,
      (claim.proof.response_body ?? '').slice(0, -1),
    ]) {
      const edited = clone(claim);
      edited.proof.response_body = bad;
      const result = await evaluateHandoff(payloadOf([edited]), options);
      expect(result.per_claim[0]?.verdict, bad).not.toBe('PASS');
    }
    const unpadded = clone(claim);
    unpadded.proof.response_body = (claim.proof.response_body ?? '').replace(/=+$/, '');
    if (unpadded.proof.response_body !== claim.proof.response_body) {
      expect((await evaluateHandoff(payloadOf([unpadded]), options)).per_claim[0]).toMatchObject({
        verdict: 'ERROR',
        reason: 'response_body is not canonical base64',
      });
    }
  });
});

describe('evaluateHandoff: payload-level ERROR', () => {
  it('is ERROR without claims', async () => {
    const { options } = setup();
    const result = await evaluateHandoff(payloadOf([]), options);
    expect(result).toEqual({
      outcome: 'ERROR',
      per_claim: [],
      errors: [{ code: 'no-claims', message: 'the payload has no claims' }],
    });
  });

  it('is ERROR without a trusted key, and never asks the verifier', async () => {
    const { payload, verifier } = oneClaim();
    for (const trustedKeys of [[], {}, new Map(), new Set(), undefined, null, 'key']) {
      const result = await evaluateHandoff(payload, {
        trustedKeys,
        verifyProof: verifier,
        trustedEndpoints: TRUSTED,
      } as never);
      expect(result.outcome).toBe('ERROR');
      expect(result.errors.map((e) => e.code)).toEqual(['no-trusted-key']);
    }
    expect(verifier.calls).toBe(0);
  });

  it('accepts any non-empty key set shape, such as a map of key id to key (src/ledger style)', async () => {
    const { payload, key } = oneClaim();
    const base = fixtureVerifier();
    const byId: ProofVerifier<Readonly<Record<string, Uint8Array>>> = {
      leafBytes: base.leafBytes,
      verify: (bundle, keys) =>
        base.verify(
          bundle,
          Object.entries(keys).map(([keyId, publicKey]) => ({ keyId, publicKey })),
        ),
    };
    const opts = { verifyProof: byId, trustedEndpoints: TRUSTED };
    expect(
      (await evaluateHandoff(payload, { ...opts, trustedKeys: { [key.keyId]: key.trusted.publicKey } }))
        .outcome,
    ).toBe('PASS');
    const other = newSigningKey();
    expect(
      (await evaluateHandoff(payload, { ...opts, trustedKeys: { [key.keyId]: other.trusted.publicKey } }))
        .outcome,
    ).toBe('CAUGHT');
    expect((await evaluateHandoff(payload, { ...opts, trustedKeys: {} })).errors[0]?.code).toBe(
      'no-trusted-key',
    );
  });

  it('is ERROR without a usable verifier or with bad options', async () => {
    const { payload, key } = oneClaim();
    for (const opts of [
      { trustedKeys: [key.trusted] },
      { trustedKeys: [key.trusted], verifyProof: { verify: () => ({ ok: true }) } },
      { trustedKeys: [key.trusted], verifyProof: fixtureVerifier(), maxBodyBytes: -1 },
      { trustedKeys: [key.trusted], verifyProof: fixtureVerifier(), trustedEndpoints: 'https://x' },
    ]) {
      const result = await evaluateHandoff(payload, opts as never);
      expect(result.outcome).toBe('ERROR');
      expect(result.errors[0]?.code).toBe('invalid-options');
    }
    expect((await evaluateHandoff(payload, undefined as never)).outcome).toBe('ERROR');
  });

  it('is ERROR with the validation reasons for a schema-invalid payload', async () => {
    const { payload, options } = oneClaim();
    const bad = clone(payload) as unknown as Record<string, unknown> & { claims: Record<string, unknown>[] };
    bad.integration_api_key = 'secret';
    delete bad.run_id;
    (bad.claims[0] as Record<string, unknown>).verification_mode = 'vibes';
    const result = await evaluateHandoff(bad, options);
    expect(result.outcome).toBe('ERROR');
    expect(result.per_claim).toEqual([]);
    expect(result.errors).toEqual(
      expect.arrayContaining([
        {
          code: 'invalid-payload',
          path: '',
          message: 'must NOT have additional properties ("integration_api_key")',
        },
        { code: 'invalid-payload', path: '', message: "must have required property 'run_id'" },
        expect.objectContaining({ code: 'invalid-payload', path: '/claims/0/verification_mode' }),
      ]),
    );
  });

  it('is ERROR, never a crash, for junk input', async () => {
    const { options } = setup();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = {
      get provably_org_id(): string {
        throw new Error('boom');
      },
    };
    for (const junk of [
      undefined,
      null,
      42,
      'not json',
      '{"a":',
      Uint8Array.of(0xff),
      [],
      {},
      cyclic,
      throwing,
      10n,
    ]) {
      const result = await evaluateHandoff(junk, options);
      expect(result.outcome).toBe('ERROR');
      expect(result.errors.length).toBeGreaterThan(0);
      expect(result.errors.every((e) => e.code === 'invalid-payload')).toBe(true);
    }
  });
});

describe('evaluateHandoff: combining claims', () => {
  async function mixed(verdicts: ('PASS' | 'CAUGHT' | 'ERROR')[]) {
    const { ledger, options } = setup();
    const call = recordCall(ledger, { body: BODY });
    const claims = verdicts.map((v) =>
      claimAbout(ledger, call, {
        json_path: v === 'ERROR' ? '$[' : '$.price',
        claimed_value: v === 'CAUGHT' ? 1 : 101.5,
      }),
    );
    return evaluateHandoff(payloadOf(claims) as HandoffPayload, options);
  }

  it('CAUGHT wins over ERROR, ERROR over PASS, and claim errors are listed', async () => {
    expect((await mixed(['PASS', 'PASS'])).outcome).toBe('PASS');
    expect((await mixed(['PASS', 'CAUGHT'])).outcome).toBe('CAUGHT');
    const withError = await mixed(['PASS', 'ERROR']);
    expect(withError.outcome).toBe('ERROR');
    expect(withError.errors).toEqual([expect.objectContaining({ code: 'claim-error', claim_index: 1 })]);
    expect((await mixed(['ERROR', 'CAUGHT', 'PASS'])).outcome).toBe('CAUGHT');
  });
});
