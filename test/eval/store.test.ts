// The evaluator with a store at hand: rows written by the real recorder, read back with
// getIntercept, committed to the fixture ledger; the stored row, the registry and the stored
// body all take part in the verdict.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { evaluateHandoff } from '../../src/eval/index.js';
import { recordContentOf } from '../../src/handoff/index.js';
import { createRecorder, getIntercept } from '../../src/record/index.js';
import { addTrustedEndpoint, removeTrustedEndpoint } from '../../src/trust/index.js';
import { describeEachBackend, type TestStore, useTestStore } from '../helpers/backends.js';
import {
  claimAbout,
  FixtureLedger,
  fixtureVerifier,
  newSigningKey,
  payloadOf,
  type RecordedCall,
} from './fixture-ledger.js';

const ORG = 'org-eval';
const URL_OK = 'https://api.example.com/v1/quotes/ACME?x=1';
const BODY = { symbol: 'ACME', price: 101.5 };

interface Recorded extends RecordedCall {}

async function recordReal(
  store: TestStore,
  ledger: FixtureLedger,
  opts: {
    url?: string;
    body?: Uint8Array;
    encoding?: string;
    cap?: number;
    startedAt?: Date;
    orgId?: string;
  } = {},
): Promise<Recorded> {
  const rec = createRecorder({ store: () => store, env: {}, maxBodyBytes: opts.cap });
  const call = rec.start(
    {
      orgId: opts.orgId ?? ORG,
      agentId: 'agent-a',
      actionName: 'fetch_quote',
      interceptIndex: 0,
      traceId: null,
      spanId: null,
    },
    {
      method: 'GET',
      url: opts.url ?? URL_OK,
      headers: { accept: 'application/json' },
      startedAt: opts.startedAt ?? new Date(),
    },
  );
  call.response(200, {
    'content-type': 'application/json',
    ...(opts.encoding ? { 'content-encoding': opts.encoding } : {}),
  });
  call.chunk(opts.body ?? Buffer.from(JSON.stringify(BODY)));
  await call.finish();
  const row = await getIntercept(store, call.id);
  if (row === null) throw new Error('row not stored');
  const record = recordContentOf(row);
  return { record, wire: row.responseBody, index: ledger.append(record) };
}

/** One statement as a superuser would run it: around the append-only trigger. */
async function editAsSuperuser(store: TestStore, sql: string, params: unknown[]): Promise<void> {
  await store.raw.query('ALTER TABLE provably_intercepts DISABLE TRIGGER provably_intercepts_append_only');
  try {
    await store.raw.query(sql, params);
  } finally {
    await store.raw.query('ALTER TABLE provably_intercepts ENABLE TRIGGER provably_intercepts_append_only');
  }
}

describeEachBackend('evaluateHandoff with a store', (backend) => {
  const store = useTestStore(backend);
  const key = newSigningKey();
  const options = () => ({ trustedKeys: [key.trusted], verifyProof: fixtureVerifier(), store: store() });

  async function trust(url = 'https://api.example.com/v1/quotes/{symbol}') {
    await addTrustedEndpoint(url, { orgId: ORG, store: store() });
  }

  it('passes a recorded call, checking the row and the registry; the bundle may leave the body out', async () => {
    await trust();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store(), ledger, {
      body: gzipSync(JSON.stringify(BODY)),
      encoding: 'gzip',
    });
    const withBody = claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 });
    const withoutBody = claimAbout(
      ledger,
      { ...call, wire: null },
      { json_path: '$.symbol', claimed_value: 'ACME' },
    );
    const result = await evaluateHandoff(payloadOf([withBody, withoutBody]), options());
    expect(result.errors).toEqual([]);
    expect(result.outcome).toBe('PASS');
    // The same payload without the store cannot get the left-out body.
    const { store: _, ...noStore } = options();
    const offline = await evaluateHandoff(payloadOf([withoutBody]), {
      ...noStore,
      trustedEndpoints: ['https://api.example.com/v1/quotes/ACME'],
    });
    expect(offline.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'body' });
  });

  it('catches a proven record that is not in the store (or not in the payload org)', async () => {
    await trust();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store(), ledger);
    const ghost = { ...call, record: { ...call.record, id: '5e1f0c3a-0000-4000-8000-00000000dead' } };
    ghost.index = ledger.append(ghost.record);
    const result = await evaluateHandoff(
      payloadOf([claimAbout(ledger, ghost, { json_path: '$.price', claimed_value: 101.5 })]),
      options(),
    );
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
    expect(result.per_claim[0]?.reason).toBe('proof: the record is not in the store');
  });

  it('catches a stored row changed after it was committed to the ledger', async () => {
    await trust();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store(), ledger);
    const claim = claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 });
    expect((await evaluateHandoff(payloadOf([claim]), options())).outcome).toBe('PASS');
    // A superuser bypasses the append-only trigger.
    await editAsSuperuser(store(), 'UPDATE provably_intercepts SET status = 203 WHERE id = $1', [
      call.record.id,
    ]);
    const result = await evaluateHandoff(payloadOf([claim]), options());
    expect(result.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'proof' });
    expect(result.per_claim[0]?.reason).toBe('proof: the record content differs from the stored row');
  });

  it('catches a kept body that is not the one its digest and size describe (the leaf is intact)', async () => {
    await trust();
    const size = Buffer.byteLength(JSON.stringify(BODY));
    const edits: [string, string][] = [
      [
        'UPDATE provably_intercepts SET response_body = set_byte(response_body, 2, get_byte(response_body, 2) + 1) WHERE id = $1',
        'the stored response body does not hash to body_sha256',
      ],
      [
        "UPDATE provably_intercepts SET response_body = response_body || '\\x20'::bytea WHERE id = $1",
        `body_size is ${size} but ${size + 1} bytes are stored`,
      ],
      [
        'UPDATE provably_intercepts SET response_body = NULL WHERE id = $1',
        'the stored response body is gone',
      ],
    ];
    for (const [sql, why] of edits) {
      const ledger = new FixtureLedger(ORG, key);
      const call = await recordReal(store(), ledger);
      // The bundle carries its own (original) body, so only the store check can notice.
      const claim = claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 });
      expect((await evaluateHandoff(payloadOf([claim]), options())).outcome).toBe('PASS');
      await editAsSuperuser(store(), sql, [call.record.id]);
      const result = await evaluateHandoff(payloadOf([claim]), options());
      expect(result.outcome, sql).toBe('CAUGHT');
      expect(result.per_claim[0], sql).toMatchObject({
        verdict: 'CAUGHT',
        check: 'proof',
        reason: `proof: the stored row's body is not the recorded one (${why})`,
      });
    }
  });

  it('accepts a truncated row whose kept prefix is shorter than the body, and catches one that is not', async () => {
    await trust();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store(), ledger, { cap: 8 });
    expect(call.record.body_truncated).toBe(true);
    const claim = claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 });
    // Truncated: the evaluator cannot compare the value (ERROR), but the store check passes.
    const before = await evaluateHandoff(payloadOf([claim]), options());
    expect(before.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'body' });
    await editAsSuperuser(
      store(),
      "UPDATE provably_intercepts SET response_body = decode(repeat('20', 64), 'hex') WHERE id = $1",
      [call.record.id],
    );
    const after = await evaluateHandoff(payloadOf([claim]), options());
    expect(after.per_claim[0]).toMatchObject({
      verdict: 'CAUGHT',
      check: 'proof',
      reason: `proof: the stored row's body is not the recorded one (body_truncated is set but 64 of ${call.record.body_size} bytes are stored)`,
    });
  });

  it('catches a URL the registry does not trust, or revoked before the call started', async () => {
    const ledger = new FixtureLedger(ORG, key);
    const untrusted = await recordReal(store(), ledger, { url: 'https://elsewhere.example.net/x' });
    const r1 = await evaluateHandoff(
      payloadOf([claimAbout(ledger, untrusted, { json_path: '$.price', claimed_value: 101.5 })]),
      options(),
    );
    expect(r1.per_claim[0]).toMatchObject({ verdict: 'CAUGHT', check: 'endpoint' });
    expect(r1.per_claim[0]?.reason).toBe('endpoint missing from trusted snapshot (store registry)');

    const url = 'https://revoked.example.com/data';
    await addTrustedEndpoint(url, { orgId: ORG, store: store() });
    const before = await recordReal(store(), ledger, { url, startedAt: new Date(Date.now() - 60_000) });
    await removeTrustedEndpoint(url, { orgId: ORG, store: store() });
    const after = await recordReal(store(), ledger, { url, startedAt: new Date(Date.now() + 1000) });
    const r2 = await evaluateHandoff(
      payloadOf([
        claimAbout(ledger, before, { json_path: '$.price', claimed_value: 101.5 }),
        claimAbout(ledger, after, { json_path: '$.price', claimed_value: 101.5 }),
      ]),
      options(),
    );
    expect(r2.per_claim.map((c) => c.verdict)).toEqual(['PASS', 'CAUGHT']);
    // The receiver's explicit list replaces the registry.
    const r3 = await evaluateHandoff(
      payloadOf([claimAbout(ledger, untrusted, { json_path: '$.price', claimed_value: 101.5 })]),
      { ...options(), trustedEndpoints: ['https://elsewhere.example.net/x'] },
    );
    expect(r3.outcome).toBe('PASS');
  });

  it('is ERROR for a body the recorder kept only in part', async () => {
    await trust();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store(), ledger, {
      body: Buffer.from(JSON.stringify({ ...BODY, pad: 'x'.repeat(2000) })),
      cap: 1024,
    });
    expect(call.record.body_truncated).toBe(true);
    const result = await evaluateHandoff(
      payloadOf([claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 })]),
      options(),
    );
    expect(result.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'body' });
    expect(result.per_claim[0]?.reason).toContain('truncated');
  });
});

describe('evaluateHandoff with an unreachable store', () => {
  it('is ERROR (never CAUGHT, never PASS) when the store cannot be read', async () => {
    const [backend] = (await import('../helpers/backends.js')).testBackends();
    if (backend === undefined) throw new Error('no test backend');
    const store = await backend.open();
    const key = newSigningKey();
    const ledger = new FixtureLedger(ORG, key);
    const call = await recordReal(store, ledger);
    await store.close();
    const result = await evaluateHandoff(
      payloadOf([claimAbout(ledger, call, { json_path: '$.price', claimed_value: 101.5 })]),
      { trustedKeys: [key.trusted], verifyProof: fixtureVerifier(), store },
    );
    expect(result.outcome).toBe('ERROR');
    expect(result.per_claim[0]).toMatchObject({ verdict: 'ERROR', check: 'store' });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'claim-error', claim_index: 0 })]);
  });
});
