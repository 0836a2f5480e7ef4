/**
 * A decision log written before migration 8, migrated, then appended to by the one-statement path.
 *
 * test/fixtures/ledger/v6-decisions-log.json was dumped (row_to_json) from a PGlite store by the
 * code of commit c72338d (schema version 6: each decision leaf hashed by the CLIENT from the
 * INSERT's RETURNING row, in a five-statement transaction): decisions with awkward params
 * (unicode, U+2028, a decimal, -0, a redacted key), guarded calls with ok and error outcomes, a
 * BLOCK, escalations approved, rejected and expired, and a checkpoint signed over all 13 leaves
 * with a key whose private half was thrown away. Nothing here can re-sign those leaves: if the
 * decision leaf bytes had changed, the old checkpoint would stop verifying.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  decisionLeafHash,
  generateSigningKeyPem,
  issueCheckpoint,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import { decideEscalation, ProvablyGateway } from '../../src/policy/index.js';
import { MIGRATIONS, migrate } from '../../src/store/index.js';
import { describeEachBackend, type TestStore } from '../helpers/backends.js';
import { decisionRows } from '../policy/helpers.js';

interface V6Dump {
  org_id: string;
  public_key_pem: string;
  [table: string]: unknown;
}

const dump = JSON.parse(
  readFileSync(new URL('../fixtures/ledger/v6-decisions-log.json', import.meta.url), 'utf8'),
) as V6Dump;
const ORG = dump.org_id;
const TABLES = [
  'provably_decisions',
  'provably_escalations',
  'provably_ledger_leaves',
  'provably_ledger_heads',
  'provably_checkpoints',
] as const;
const OLD_LEAVES = 13;
const POLICY = `
@reason("reads are fine") permit (principal, action == Action::"crm.read", resource);
@escalate("large payment") permit (principal, action == Action::"pay", resource);
`;

describeEachBackend('a decision log written before migration 8', (backend) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await backend.open({ migrated: false });
    await migrate(store, { migrations: MIGRATIONS.slice(0, 6) });
    for (const table of TABLES) {
      await store.raw.query(
        `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`,
        [JSON.stringify(dump[table])],
      );
    }
    expect((await migrate(store)).applied).toEqual(MIGRATIONS.slice(6).map((m) => m.version));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('verifies after the migration: the old checkpoint still signs the old decision leaves', async () => {
    const report = await verifyLog(store, ORG, { trustedKeys: trustedKeysOf(dump.public_key_pem) });
    expect(report).toMatchObject({
      ok: true,
      treeSize: OLD_LEAVES,
      checkpoints: 1,
      verifiedCheckpoints: 1,
      problemCount: 0,
    });
    const rows = await decisionRows(store, 'd.org_id = $1', [ORG]);
    expect(new Set(rows.map((r) => `${r.event_type}:${r.decision}:${r.escalation_status}`))).toEqual(
      new Set([
        'decision:BLOCK:null',
        'decision:ALLOW:null',
        'outcome:null:null',
        'decision:ESCALATE:null',
        'escalation:ALLOW:approved',
        'escalation:BLOCK:rejected',
        'escalation:BLOCK:expired',
      ]),
    );
  });

  it('appends new decisions (one statement, leaves hashed by the database) after the old ones; all verify', async () => {
    const gateway = new ProvablyGateway({
      agentId: 'agent-v8',
      policy: POLICY,
      store,
      tenant: ORG,
      watch: false,
      redactParams: ['secret'],
    });
    try {
      // The same awkward params the old code wrote, now leafed by the database.
      await gateway.execute('crm.read', { id: 1.5, note: 'é \u2028 "q" \\ 😀', secret: 'hunter2' });
      await gateway.guard('crm.read', async (id: number) => ({ id }))(7);
      const held = await gateway.execute('pay', { amount: 5000 }, { wait: false });
      await decideEscalation(store, {
        id: held.escalationId as string,
        decision: 'approve',
        reviewer: 'carol',
        reason: 'fine',
      });
    } finally {
      await gateway.close();
    }
    const rows = await decisionRows(store, 'd.org_id = $1 AND d.agent_id = $2', [ORG, 'agent-v8']);
    expect(rows.map((r) => Number(r.leaf_index)).sort((a, b) => a - b)).toEqual([13, 14, 15, 16, 17]);
    // The database's hash is the client's formula over the row as stored.
    for (const r of rows) {
      const hash = Buffer.from(decisionLeafHash(r as never, Number(r.leaf_index))).toString('hex');
      expect(Buffer.from(r.leaf_hash as Uint8Array).toString('hex')).toBe(hash);
    }
    const signer = signerFromPem(generateSigningKeyPem());
    await issueCheckpoint(store, ORG, signer);
    const report = await verifyLog(store, ORG, {
      trustedKeys: trustedKeysOf(dump.public_key_pem, signer),
    });
    expect(report).toMatchObject({
      ok: true,
      treeSize: OLD_LEAVES + 5,
      checkpoints: 2,
      verifiedCheckpoints: 2,
      problemCount: 0,
    });
  });
});
