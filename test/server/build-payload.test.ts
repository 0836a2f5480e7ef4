/**
 * The sending side of what the eval service receives: buildHandoffPayload pins each model claim
 * to a record of THIS run (by record id, or the single row of its action in the run's trace) with
 * a proof bundle, on real stores (PGlite and PostgreSQL). A claim is never pointed at a row of
 * another run, another org or another action; what cannot be pinned is reported, with the reason.
 */
import { expect, it } from 'vitest';
import { evaluateHandoff, ledgerProofVerifier } from '../../src/eval/index.js';
import {
  buildHandoffPayload,
  ProvablyHandoffBuildError,
  ProvablyModelClaimsError,
  validateHandoffPayload,
} from '../../src/handoff/index.js';
import {
  generateSigningKeyPem,
  latestCheckpoint,
  signerFromPem,
  trustedKeysOf,
} from '../../src/ledger/index.js';
import { buildPayload, randomTraceId, recordRun, trust } from '../fixtures/handoff/records.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

const ORG = 'org-build';
const BASE = 'https://api.example.com';
const quote = (symbol: string, price: number) => ({
  action: 'get_quote',
  url: `${BASE}/quotes/${symbol}`,
  body: { symbol, price },
});

describeEachBackend('buildHandoffPayload', (backend) => {
  const store = useTestStore(backend);
  const signer = signerFromPem(generateSigningKeyPem());
  const evaluate = (payload: unknown, withStore = true) =>
    evaluateHandoff(payload, {
      trustedKeys: trustedKeysOf(signer),
      verifyProof: ledgerProofVerifier,
      ...(withStore ? { store: store() } : {}),
    });

  it('pins each claim to its record of the run, with a bundle that verifies against a fresh checkpoint', async () => {
    await trust(store(), ORG, `${BASE}/quotes/{symbol}`, `${BASE}/customers/{id}`);
    const run = await recordRun(store(), {
      orgId: ORG,
      calls: [quote('ACME', 101.5), { action: 'get_customer', url: `${BASE}/customers/7`, body: { id: 7 } }],
    });
    const { payload, unresolved } = await buildPayload(
      store(),
      run,
      signer,
      [
        { action_name: 'get_customer', verification_mode: 'verbatim', claimed_value: { id: 7 } },
        {
          action_name: 'get_quote',
          verification_mode: 'field_extraction',
          json_path: '$.price',
          claimed_value: 101.5,
        },
      ],
      { task: 'quote and customer' },
    );
    expect(unresolved).toEqual([]);
    expect(validateHandoffPayload(payload).ok).toBe(true);
    expect(payload).toMatchObject({ provably_org_id: ORG, task: 'quote and customer', run_id: run.traceId });
    expect(payload.claims.map((c) => c.query_record_id)).toEqual([run.ids[1], run.ids[0]]);
    expect(payload.trusted_endpoints).toEqual(
      expect.arrayContaining([`${BASE}/quotes/{symbol}`, `${BASE}/customers/{id}`]),
    );
    const latest = await latestCheckpoint(store(), ORG);
    for (const claim of payload.claims) {
      const { id: _, ...signed } = latest as NonNullable<typeof latest>;
      expect(claim.proof.checkpoint).toEqual(signed);
      expect(claim.proof.checkpoint.key_id).toBe(signer.keyId);
      expect(claim.proof.leaf_index).toBeLessThan(claim.proof.checkpoint.tree_size);
    }
    expect((await evaluate(payload)).outcome).toBe('PASS');
    expect(
      (await evaluate({ ...payload, trusted_endpoints: payload.trusted_endpoints }, false)).outcome,
    ).toBe('PASS');
  });

  it('several calls of one action: unresolved without a record id, pinned with one', async () => {
    const run = await recordRun(store(), { orgId: ORG, calls: [quote('ACME', 1), quote('GLOBEX', 2)] });
    const claim = {
      action_name: 'get_quote',
      verification_mode: 'field_extraction' as const,
      json_path: '$.price',
    };
    const built = await buildPayload(store(), run, signer, [
      { ...claim, claimed_value: 1 },
      { ...claim, claimed_value: 2, query_record_id: (run.ids[1] as string).toUpperCase() },
    ]);
    expect(built.unresolved).toEqual([
      { index: 0, action_name: 'get_quote', reason: expect.stringMatching(/several calls in this run/) },
    ]);
    expect(built.payload.claims).toHaveLength(1);
    expect(built.payload.claims[0]?.query_record_id).toBe(run.ids[1]);
    expect((await evaluate(built.payload)).outcome).toBe('PASS');
  });

  it('never borrows a row of another run, another org or another action', async () => {
    const mine = await recordRun(store(), { orgId: ORG, calls: [quote('ACME', 101.5)] });
    const otherRun = await recordRun(store(), {
      orgId: ORG,
      calls: [{ action: 'send_email', url: `${BASE}/quotes/MAIL`, body: 'sent' }],
    });
    // Another org's record in THIS run's trace.
    const otherOrg = await recordRun(store(), {
      orgId: 'org-build-other',
      traceId: mine.traceId,
      calls: [{ action: 'send_email', url: `${BASE}/quotes/MAIL`, body: 'sent' }],
    });
    const built = await buildPayload(store(), mine, signer, [
      {
        action_name: 'get_quote',
        verification_mode: 'field_extraction',
        json_path: '$.price',
        claimed_value: 101.5,
      },
      { action_name: 'send_email', verification_mode: 'verbatim', claimed_value: 'sent' },
      {
        action_name: 'send_email',
        verification_mode: 'verbatim',
        claimed_value: 'sent',
        query_record_id: otherRun.ids[0],
      },
      {
        action_name: 'send_email',
        verification_mode: 'verbatim',
        claimed_value: 'sent',
        query_record_id: otherOrg.ids[0],
      },
      {
        action_name: 'send_email',
        verification_mode: 'verbatim',
        claimed_value: 'sent',
        query_record_id: mine.ids[0],
      },
      {
        action_name: 'get_quote',
        verification_mode: 'verbatim',
        claimed_value: 1,
        query_record_id: '00000000-0000-4000-8000-000000000000',
      },
    ]);
    expect(built.payload.claims.map((c) => c.query_record_id)).toEqual([mine.ids[0]]);
    expect(built.unresolved.map((u) => [u.index, u.reason.replace(/[0-9a-f-]{32,36}/g, 'ID')])).toEqual([
      [1, 'action send_email made no recorded call in this run (trace ID)'],
      [2, 'record ID belongs to another run (trace ID)'],
      [3, `no record ID in org ${ORG}`],
      [4, 'record ID was made by action get_quote, not send_email'],
      [5, `no record ID in org ${ORG}`],
    ]);
  });

  it('nothing resolvable, no run, or output that is not claims: typed errors, no payload', async () => {
    const run = await recordRun(store(), { orgId: ORG, calls: [quote('ACME', 1)] });
    const none = buildPayload(store(), run, signer, [
      { action_name: 'refund', verification_mode: 'verbatim', claimed_value: 'ok' },
    ]);
    await expect(none).rejects.toBeInstanceOf(ProvablyHandoffBuildError);
    await expect(none).rejects.toMatchObject({
      code: 'PROVABLY_HANDOFF_UNRESOLVED',
      unresolved: [
        { index: 0, action_name: 'refund', reason: expect.stringMatching(/made no recorded call/) },
      ],
    });
    // Outside any span and without options.traceId there is no run to resolve in.
    await expect(
      buildHandoffPayload(
        '{"claims":[{"action_name":"get_quote","verification_mode":"verbatim","claimed_value":1}]}',
        {
          task: 't',
          orgId: ORG,
          store: store(),
          signer,
        },
      ),
    ).rejects.toBeInstanceOf(ProvablyHandoffBuildError);
    for (const output of ['not json', '{"answer":"no claims"}', '[{"action_name":"x"}]']) {
      await expect(
        buildHandoffPayload(output, {
          task: 't',
          traceId: randomTraceId(),
          orgId: ORG,
          store: store(),
          signer,
        }),
      ).rejects.toBeInstanceOf(ProvablyModelClaimsError);
    }
  });

  it('omitBodies: bundles without bodies PASS with the store, and are ERROR without it', async () => {
    const run = await recordRun(store(), { orgId: ORG, calls: [{ ...quote('ACME', 101.5), gzip: true }] });
    const { payload } = await buildPayload(
      store(),
      run,
      signer,
      [
        {
          action_name: 'get_quote',
          verification_mode: 'field_extraction',
          json_path: '$.price',
          claimed_value: 101.5,
        },
      ],
      { omitBodies: true },
    );
    expect(payload.claims[0]?.proof.response_body).toBeNull();
    expect((await evaluate(payload)).outcome).toBe('PASS');
    const offline = await evaluate(payload, false);
    expect(offline.outcome).toBe('ERROR');
    expect(offline.per_claim[0]).toMatchObject({ check: 'body' });
  });

  it('records appended while payloads are built never break their proofs', async () => {
    const run = await recordRun(store(), { orgId: ORG, calls: [quote('ACME', 101.5)] });
    const claims = [
      {
        action_name: 'get_quote',
        verification_mode: 'field_extraction' as const,
        json_path: '$.price',
        claimed_value: 101.5,
      },
    ];
    const [a, , b] = await Promise.all([
      buildPayload(store(), run, signer, claims),
      recordRun(store(), { orgId: ORG, calls: Array.from({ length: 5 }, (_, i) => quote(`S${i}`, i)) }),
      buildPayload(store(), run, signer, claims),
    ]);
    for (const built of [a, b]) expect((await evaluate(built.payload)).outcome).toBe('PASS');
  });
});
