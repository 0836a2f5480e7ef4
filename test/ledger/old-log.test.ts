/**
 * A log written by the previous version (leaf version 1), migrated to leaf version 2.
 *
 * test/fixtures/ledger/v1-log.json was dumped (row_to_json) from a PGlite store right after the
 * recorder of commit cb5a15c — before migration 5 existed — recorded three calls and signed a
 * checkpoint over them with a key whose private half was thrown away. Nothing here can re-sign
 * those leaves: if version-1 leaf bytes changed at all, the old checkpoint would stop verifying.
 *
 * The store is migrated to version 4 only, the dump loaded as it was, then migrated to the
 * current version: `provably verify` must pass, a handoff of a version-1 record must PASS, and
 * new version-2 records (with who answered) must append to the same log after the old ones.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { evaluateHandoff, ledgerProofVerifier } from '../../src/eval/index.js';
import { type HandoffPayload, recordContentOf } from '../../src/handoff/index.js';
import {
  appendInStatement,
  generateSigningKeyPem,
  inclusionProof,
  issueCheckpoint,
  type LeafRecord,
  latestCheckpoint,
  leafBytes,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import {
  createRecorder,
  getIntercept,
  type InterceptRecord,
  listIntercepts,
} from '../../src/record/index.js';
import { MIGRATIONS, migrate } from '../../src/store/index.js';
import { describeEachBackend, type TestStore } from '../helpers/backends.js';
import { installTamper, tamper } from './fixtures.js';

interface V1Dump {
  org_id: string;
  public_key_pem: string;
  key_id: string;
  provably_intercepts: Record<string, unknown>[];
  provably_ledger_leaves: Record<string, unknown>[];
  provably_ledger_heads: Record<string, unknown>[];
  provably_checkpoints: Record<string, unknown>[];
}

const dump = JSON.parse(
  readFileSync(new URL('../fixtures/ledger/v1-log.json', import.meta.url), 'utf8'),
) as V1Dump;
const ORG = dump.org_id;
/** A fresh org for the rolling-upgrade case (ORG's log is left edited by the case before it). */
const ROLLING = 'org-rolling';
const TABLES = [
  'provably_intercepts',
  'provably_ledger_leaves',
  'provably_ledger_heads',
  'provably_checkpoints',
] as const;
const newSigner = signerFromPem(generateSigningKeyPem());
const bothKeys = trustedKeysOf(dump.public_key_pem, newSigner);

/** A one-claim payload (field extraction of `$.id`, or verbatim whole body) for a stored record. */
async function payloadFor(
  store: TestStore,
  record: InterceptRecord,
  claimed: unknown,
): Promise<HandoffPayload> {
  const checkpoint = await latestCheckpoint(store, ORG);
  if (checkpoint === null) throw new Error('no checkpoint');
  const proof = await inclusionProof(store, ORG, record.id, checkpoint.tree_size);
  const { id: _id, ...signed } = checkpoint;
  return {
    provably_org_id: ORG,
    task: 'old log',
    run_id: 'run-1',
    claims: [
      {
        action_name: record.actionName,
        query_record_id: record.id,
        verification_mode: 'field_extraction',
        json_path: '$.id',
        claimed_value: claimed as number,
        proof: {
          record: recordContentOf(record),
          response_body: record.responseBody ? Buffer.from(record.responseBody).toString('base64') : null,
          leaf_index: proof.leafIndex,
          inclusion_proof: proof.proof,
          checkpoint: signed,
        },
      },
    ],
    trusted_endpoints: ['https://crm.example.com/customers/{id}', 'https://new.example.com/customers/{id}'],
  };
}

describeEachBackend('a log written before leaf version 2', (backend) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await backend.open({ migrated: false });
    await migrate(store, { migrations: MIGRATIONS.slice(0, 4) });
    for (const table of TABLES) {
      await store.raw.query(
        `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`,
        [JSON.stringify(dump[table])],
      );
    }
    expect((await migrate(store)).applied).toEqual(MIGRATIONS.slice(4).map((m) => m.version));
    await installTamper(store.raw);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('verifies after the migration: the old checkpoint still signs the old leaves, byte for byte', async () => {
    const report = await verifyLog(store, ORG, { trustedKeys: trustedKeysOf(dump.public_key_pem) });
    expect(report).toMatchObject({
      ok: true,
      treeSize: 3,
      checkpoints: 1,
      verifiedCheckpoints: 1,
      problemCount: 0,
    });
    const rows = await listIntercepts(store, { orgId: ORG, order: 'asc', withBody: false });
    expect(rows.map((r) => [r.leafVersion, r.peer])).toEqual([
      [1, null],
      [1, null],
      [1, null],
    ]);
    const kinds = await store.query<{ leaf_kind: string }>(
      'SELECT DISTINCT leaf_kind FROM provably_ledger_leaves WHERE org_id = $1',
      [ORG],
    );
    expect(kinds.rows).toEqual([{ leaf_kind: 'intercept' }]);
  });

  it('evaluates a handoff of a version-1 record: PASS, with and without the store', async () => {
    const [first] = await listIntercepts(store, { orgId: ORG, order: 'asc', limit: 1 });
    const payload = await payloadFor(store, first as InterceptRecord, 42);
    const record = payload.claims[0]?.proof.record as Record<string, unknown>;
    expect(Object.keys(record)).not.toContain('leaf_version');
    expect(Object.keys(record).some((k) => k.startsWith('peer_'))).toBe(false);
    const keys = trustedKeysOf(dump.public_key_pem);
    const independent = await evaluateHandoff(payload, {
      trustedKeys: keys,
      verifyProof: ledgerProofVerifier,
      trustedEndpoints: payload.trusted_endpoints as string[],
    });
    expect(independent).toMatchObject({ outcome: 'PASS' });
    const withStore = await evaluateHandoff(payload, {
      trustedKeys: keys,
      verifyProof: ledgerProofVerifier,
      trustedEndpoints: payload.trusted_endpoints as string[],
      store,
    });
    expect(withStore.outcome, JSON.stringify(withStore)).toBe('PASS');
    // A peer forged into the old record's payload (made to look version 2) is caught.
    const forged = structuredClone(payload);
    Object.assign(forged.claims[0]?.proof.record as object, {
      leaf_kind: 'intercept',
      leaf_version: 2,
      peer_address: '203.0.113.9',
      peer_port: 443,
      peer_protocol: 'http/1.1',
      peer_tls_cert_sha256: null,
      peer_tls_subject: null,
      peer_tls_subject_alt_name: null,
      peer_proxy: null,
    });
    const caught = await evaluateHandoff(forged, {
      trustedKeys: keys,
      verifyProof: ledgerProofVerifier,
      trustedEndpoints: payload.trusted_endpoints as string[],
    });
    expect(caught.outcome).toBe('CAUGHT');
  });

  it('appends version-2 records (who answered) after the old ones; the whole log verifies; v2 PASS', async () => {
    // The preload's wiring (src/runtime/pipeline.ts): rows and leaves in one statement.
    const rec = createRecorder({
      store: () => store,
      env: {},
      extendInsert: (insert) => appendInStatement(insert),
    });
    const ids: string[] = [];
    for (const [i, tls] of [
      [0, true],
      [1, false],
    ] as const) {
      const call = rec.start(
        {
          orgId: ORG,
          agentId: 'agent-v2',
          actionName: 'get_customer',
          interceptIndex: i,
          traceId: null,
          spanId: null,
        },
        {
          method: 'GET',
          url: `https://new.example.com/customers/${7 + i}`,
          headers: {},
          startedAt: new Date(),
        },
      );
      call.peer({
        address: '127.0.0.1',
        port: tls ? 8443 : 8080,
        protocol: 'http/1.1',
        tls: tls
          ? {
              certSha256: 'e1'.repeat(32),
              subject: 'CN=new.example.com',
              subjectAltName: 'DNS:new.example.com',
            }
          : null,
        proxy: null,
      });
      call.response(200, { 'content-type': 'application/json' });
      call.chunk(Buffer.from(JSON.stringify({ id: 7 + i })));
      await call.finish();
      ids.push(call.id);
    }
    await rec.close();
    const leaves = await store.query<{ record_id: string; leaf_index: string | number }>(
      'SELECT record_id::text, leaf_index FROM provably_ledger_leaves WHERE org_id = $1 ORDER BY leaf_index',
      [ORG],
    );
    expect(leaves.rows.map((l) => Number(l.leaf_index))).toEqual([0, 1, 2, 3, 4]);
    expect(leaves.rows.slice(3).map((l) => l.record_id)).toEqual(ids);
    await issueCheckpoint(store, ORG, newSigner);
    const report = await verifyLog(store, ORG, { trustedKeys: bothKeys });
    expect(report).toMatchObject({ ok: true, treeSize: 5, checkpoints: 2, verifiedCheckpoints: 2 });

    const v2 = (await getIntercept(store, ids[0] as string)) as InterceptRecord;
    expect(v2.leafVersion).toBe(2);
    expect(v2.peer).toEqual({
      address: '127.0.0.1',
      port: 8443,
      protocol: 'http/1.1',
      tls: {
        certSha256: 'e1'.repeat(32),
        subject: 'CN=new.example.com',
        subjectAltName: 'DNS:new.example.com',
      },
      proxy: null,
    });
    const payload = await payloadFor(store, v2, 7);
    expect(payload.claims[0]?.proof.record).toMatchObject({ leaf_version: 2, peer_port: 8443 });
    const opts = {
      trustedKeys: bothKeys,
      verifyProof: ledgerProofVerifier,
      trustedEndpoints: payload.trusted_endpoints as string[],
    };
    expect((await evaluateHandoff(payload, { ...opts, store })).outcome).toBe('PASS');
    // The old record under the new checkpoint, too.
    const [old] = await listIntercepts(store, { orgId: ORG, order: 'asc', limit: 1 });
    expect(
      (await evaluateHandoff(await payloadFor(store, old as InterceptRecord, 42), { ...opts, store }))
        .outcome,
    ).toBe('PASS');

    // A payload that lies about who answered is caught offline; so is the stored row edited
    // afterwards, by `provably verify` and by a receiver holding the store.
    const lying = structuredClone(payload);
    Object.assign(lying.claims[0]?.proof.record as object, { peer_address: '10.9.9.9' });
    expect((await evaluateHandoff(lying, opts)).outcome).toBe('CAUGHT');
    await tamper(store.raw, [
      `UPDATE provably_intercepts SET peer_tls_cert_sha256 = repeat('0', 64) WHERE id = '${v2.id}'`,
    ]);
    const broken = await verifyLog(store, ORG, { trustedKeys: bothKeys });
    expect(broken.ok).toBe(false);
    expect(broken.firstBroken).toMatchObject({
      kind: 'record-mismatch',
      leafIndex: 3,
      recordId: v2.id,
      changed: 'record',
    });
    expect((await evaluateHandoff(payload, { ...opts, store })).outcome).toBe('CAUGHT');
  });

  it('a process of the previous version still appends (rolling upgrade): its statement, version-1 rows', async () => {
    // The one statement the previous recorder sent (src/ledger/batch.ts at cb5a15c), verbatim in
    // shape: its 20 columns, its RETURNING list, migration 4's function and row type.
    const columns = V1_COLUMNS.filter((c) => c !== 'response_body');
    const id = randomUUID();
    const record: LeafRecord = {
      id,
      orgId: ROLLING,
      agentId: 'agent-old',
      actionName: 'get_customer',
      interceptIndex: 9,
      traceId: null,
      spanId: null,
      method: 'GET',
      url: 'https://crm.example.com/customers/9',
      status: 200,
      requestHeaders: {},
      responseHeaders: { 'content-type': 'application/json' },
      contentEncoding: null,
      bodySha256: createHash('sha256').update('{"id":9}').digest('hex'),
      bodySize: 8,
      bodyTruncated: false,
      error: null,
      startedAt: new Date('2026-12-01T00:00:00.000Z'),
      durationMs: 3.5,
    };
    const json = new TextDecoder().decode(leafBytes(record, 0));
    const cut = json.indexOf('"leaf_index":0,') + '"leaf_index":'.length;
    const leaves = [{ id, ord: 0, pre: json.slice(0, cut), suf: json.slice(cut + 1) }];
    const values = [
      id,
      ROLLING,
      'agent-old',
      'get_customer',
      9,
      null,
      null,
      'GET',
      record.url,
      200,
      '{}',
      JSON.stringify(record.responseHeaders),
      null,
      record.bodySha256,
      8,
      false,
      null,
      record.startedAt,
      3.5,
      Buffer.from('{"id":9}'),
    ];
    const slots = V1_COLUMNS.map((c, i) => `$${i + 3}${c.endsWith('_headers') ? '::text::jsonb' : ''}`);
    await store.query(
      `WITH ins AS (INSERT INTO provably_intercepts (${[...columns, 'response_body'].join(', ')})
         VALUES (${slots.join(', ')}) RETURNING ${columns.join(', ')})
       SELECT provably_ledger_append(array_agg(ins::provably_leaf_row), $1::jsonb, $2::jsonb) FROM ins`,
      [JSON.stringify([{ k: 0, org: ROLLING, n: 1 }]), JSON.stringify(leaves), ...values],
    );
    const row = (await getIntercept(store, id)) as InterceptRecord;
    expect([row.leafVersion, row.peer]).toEqual([1, null]);
    await issueCheckpoint(store, ROLLING, newSigner);
    expect(await verifyLog(store, ROLLING, { trustedKeys: bothKeys })).toMatchObject({
      ok: true,
      treeSize: 1,
      verifiedCheckpoints: 1,
    });
  });
});

/** The previous recorder's columns, in its INSERT order (the body last). */
const V1_COLUMNS = [
  'id',
  'org_id',
  'agent_id',
  'action_name',
  'intercept_index',
  'trace_id',
  'span_id',
  'method',
  'url',
  'status',
  'request_headers',
  'response_headers',
  'content_encoding',
  'body_sha256',
  'body_size',
  'body_truncated',
  'error',
  'started_at',
  'duration_ms',
  'response_body',
];
