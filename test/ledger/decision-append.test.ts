/**
 * provably_decisions_append (migration 8): the database inserts each decision row from its leaf
 * JSON, compares the row AS STORED with that JSON, and hashes the leaf. Attacks: a trigger that
 * rewrites a column on the way in, a leaf with an extra key or the wrong kind, a placeholder
 * that is not 0 — each must fail the whole statement with nothing written. And the group
 * commit: concurrent decisions share statements, each caller settles only when its row is
 * committed, and one refused row does not take its neighbours down.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  APPEND_DECISIONS_SQL,
  appendDecisions,
  type DecisionLeafRow,
  decisionAppendParams,
  generateSigningKeyPem,
  issueCheckpoint,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import { decisionRow } from '../../src/policy/audit.js';
import { DecisionWriter } from '../../src/policy/decision-writer.js';
import type { Store } from '../../src/store/types.js';
import { describeEachBackend, type TestStore } from '../helpers/backends.js';

function row(org: string, over: Partial<DecisionLeafRow> = {}): DecisionLeafRow {
  return {
    ...decisionRow({
      id: randomUUID(),
      orgId: org,
      eventType: 'decision',
      decision: 'ALLOW',
      mode: 'enforce',
      reason: 'fine',
      agentId: 'agent',
      actionName: 'tool.sync',
      sessionId: null,
      params: { amount: 1.5, note: 'é \u2028 "q"' },
      paramsSha256: 'a'.repeat(64),
      policyVersion: 'sha256:v',
      policyIds: ['p0'],
      escalationId: null,
      escalationStatus: null,
      reviewer: null,
      parentId: null,
      traceId: null,
      spanId: null,
      outcome: null,
      decidedAt: new Date(),
      durationMs: 0.125,
    }),
    ...over,
  };
}

async function counts(store: Queryable2, org: string) {
  const n = async (sql: string) => Number((await store.query<{ n: string }>(sql, [org])).rows[0]?.n);
  return {
    rows: await n('SELECT count(*) AS n FROM provably_decisions WHERE org_id = $1'),
    leaves: await n('SELECT count(*) AS n FROM provably_ledger_leaves WHERE org_id = $1'),
    head: await n('SELECT COALESCE(max(next_index), 0) AS n FROM provably_ledger_heads WHERE org_id = $1'),
  };
}
type Queryable2 = Pick<Store, 'query'>;

/** A store that counts the append statements sent through it. */
function counting(store: Store): Store & { statements: number } {
  const s = {
    statements: 0,
    backend: store.backend,
    query: (sql: string, params?: readonly unknown[]) => {
      if (sql.includes('provably_decisions_append')) s.statements++;
      return store.query(sql, params);
    },
    transaction: store.transaction.bind(store),
    close: store.close.bind(store),
  };
  return s as Store & { statements: number };
}

describeEachBackend('provably_decisions_append', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await backend.open();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  describe('the database refuses a row that is not its leaf', () => {
    afterEach(async () => {
      await store.raw.query('DROP TRIGGER IF EXISTS p8_rewrite ON provably_decisions');
      await store.raw.query('DROP FUNCTION IF EXISTS p8_rewrite()');
    });

    const rewrites: [string, string][] = [
      ['reason', `NEW.reason := NEW.reason || '!'`],
      ['params', `NEW.params := NEW.params || '{"amount": 2}'::jsonb`],
      ['policy_ids', `NEW.policy_ids := '["p1"]'::jsonb`],
      ['session_id', `NEW.session_id := 'sess'`],
      ['decided_at by 1 µs', `NEW.decided_at := NEW.decided_at + interval '1 microsecond'`],
      ['duration_ms', `NEW.duration_ms := NEW.duration_ms * 2`],
      ['escalation_id', `NEW.escalation_id := gen_random_uuid()`],
      ['outcome', `NEW.outcome := '{"status":"ok"}'::jsonb`],
    ];
    for (const [what, assignment] of rewrites) {
      it(`a trigger rewriting ${what} on insert fails the statement: no row, no leaf, head unmoved`, async () => {
        const org = `org-rewrite-${randomUUID().slice(0, 8)}`;
        await appendDecisions(store, [row(org)]);
        const before = await counts(store, org);
        await store.raw.query(
          `CREATE FUNCTION p8_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${assignment}; RETURN NEW; END $$`,
        );
        await store.raw.query(
          'CREATE TRIGGER p8_rewrite BEFORE INSERT ON provably_decisions FOR EACH ROW EXECUTE FUNCTION p8_rewrite()',
        );
        await expect(appendDecisions(store, [row(org), row(org)])).rejects.toMatchObject({
          message: expect.stringMatching(/as stored is not the row its leaf was built from/),
        });
        expect(await counts(store, org)).toEqual(before);
      });
    }
  });

  describe('the database refuses a leaf that is not a decision leaf', () => {
    async function sendEdited(edit: (leaf: { ord: number; pre: string; suf: string }) => void) {
      const org = `org-leaf-${randomUUID().slice(0, 8)}`;
      const [claims, leaves] = decisionAppendParams([row(org)]);
      const parsed = JSON.parse(leaves) as { ord: number; pre: string; suf: string }[];
      edit(parsed[0] as { ord: number; pre: string; suf: string });
      const sent = store.query(APPEND_DECISIONS_SQL, [claims, JSON.stringify(parsed)]);
      await expect(sent).rejects.toThrow();
      expect(await counts(store, org)).toMatchObject({ rows: 0, leaves: 0 });
    }

    it('an extra key (the verifier would rebuild 25 keys)', async () => {
      await sendEdited((l) => {
        l.suf = l.suf.replace(/}$/, ',"zzz":1}');
      });
    });
    it('leaf_kind "intercept"', async () => {
      await sendEdited((l) => {
        l.suf = l.suf.replace('"leaf_kind":"decision"', '"leaf_kind":"intercept"');
      });
    });
    it('leaf_version 2', async () => {
      await sendEdited((l) => {
        l.suf = l.suf.replace('"leaf_version":1', '"leaf_version":2');
      });
    });
    it('a reason given as a number, not a string', async () => {
      await sendEdited((l) => {
        l.suf = l.suf.replace('"reason":"fine"', '"reason":5');
      });
    });
    it('decided_at with sub-millisecond digits', async () => {
      await sendEdited((l) => {
        l.pre = l.pre.replace(/("decided_at":"[^"]*\.\d\d\d)Z"/, '$10001Z"');
      });
    });
    it('a leaf_index placeholder moved into a string value', async () => {
      await sendEdited((l) => {
        l.pre = l.pre.replace('"leaf_index":', '"leaf_index":1');
      });
    });
  });

  describe('group commit', () => {
    it('64 concurrent appends share statements, get consecutive leaves, and the log verifies', async () => {
      const org = `org-group-${randomUUID().slice(0, 8)}`;
      const counted = counting(store);
      const writer = new DecisionWriter(counted);
      const rows = Array.from({ length: 64 }, () => row(org));
      const done = await Promise.all(rows.map((r) => writer.append(r)));
      expect(done.map((d) => d.leafIndex).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 64 }, (_, i) => i),
      );
      // Fewer statements than decisions: they were shared (PGlite: one turn of the event loop
      // gathers all 64; PostgreSQL: the first two go alone, the rest wait for them).
      expect(counted.statements).toBeLessThanOrEqual(8);
      // Each promise settled with ITS row committed: visible to a new reader right away.
      const stored = await store.raw.query<{ id: string }>(
        'SELECT id::text AS id FROM provably_decisions WHERE org_id = $1',
        [org],
      );
      expect(new Set(stored.rows.map((r) => r.id))).toEqual(new Set(rows.map((r) => String(r.id))));
      const signer = signerFromPem(generateSigningKeyPem());
      await issueCheckpoint(store, org, signer);
      expect(await verifyLog(store, org, { trustedKeys: trustedKeysOf(signer) })).toMatchObject({
        ok: true,
        treeSize: 64,
      });
    });

    it('one row the database refuses fails alone; its batch neighbours are committed', async () => {
      const org = `org-poison-${randomUUID().slice(0, 8)}`;
      await store.raw.query(
        `CREATE FUNCTION p8_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           IF NEW.reason = 'poison' THEN RAISE EXCEPTION 'poisoned' USING ERRCODE = '23514'; END IF;
           RETURN NEW; END $$`,
      );
      await store.raw.query(
        'CREATE TRIGGER p8_poison BEFORE INSERT ON provably_decisions FOR EACH ROW EXECUTE FUNCTION p8_poison()',
      );
      try {
        const counted = counting(store);
        const writer = new DecisionWriter(counted);
        const rows = Array.from({ length: 12 }, (_, i) => row(org, i === 5 ? { reason: 'poison' } : {}));
        const settled = await Promise.allSettled(rows.map((r) => writer.append(r)));
        expect(settled.map((s) => s.status)).toEqual(
          rows.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
        );
        expect(await counts(store, org)).toMatchObject({ rows: 11, leaves: 11, head: 11 });
      } finally {
        await store.raw.query('DROP TRIGGER IF EXISTS p8_poison ON provably_decisions');
        await store.raw.query('DROP FUNCTION IF EXISTS p8_poison()');
      }
    });

    it('a store that is down fails every waiting caller (fail closed), and nothing is half-written', async () => {
      const org = `org-down-${randomUUID().slice(0, 8)}`;
      const broken: Store = {
        backend: store.backend,
        query: () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })),
        transaction: () => Promise.reject(new Error('down')),
        close: async () => {},
      };
      const writer = new DecisionWriter(broken);
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => writer.append(row(org))));
      expect(settled.every((s) => s.status === 'rejected')).toBe(true);
      expect(await counts(store, org)).toMatchObject({ rows: 0, leaves: 0 });
    });
  });
});
