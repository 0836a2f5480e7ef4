/**
 * What an edit actually changed, measured on the rows rather than assumed from the SQL: a digest
 * of every row of the three ledger tables and of the policy decisions and escalations (content
 * apart from created_at, and created_at on its own), compared with the pristine state. An edit that changed nothing is a no-op, never
 * counted as detected; one that changed only created_at touched storage metadata alone.
 *
 * Also the superuser's tool: campaign_exec runs statements with the append-only triggers off
 * (session_replication_role = replica, as a superuser may) and turns them back on, all local to
 * the caller's transaction, so a case's edit is rolled back with the case.
 */
import type { Queryable, Store } from '../../src/store/index.js';
import type { RawAccess } from '../helpers/backends.js';

export async function installCampaignExec(raw: RawAccess): Promise<void> {
  await raw.query(`
CREATE OR REPLACE FUNCTION campaign_exec(stmts text[]) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE s text;
BEGIN
  PERFORM set_config('session_replication_role', 'replica', true);
  FOREACH s IN ARRAY stmts LOOP
    EXECUTE s;
  END LOOP;
  PERFORM set_config('session_replication_role', 'origin', true);
END
$fn$`);
}

interface RowDigest {
  org: string;
  content: string;
  meta: string;
}

/** Row key ("i:<id>", "l:<org>:<index>", "c:<id>", "d:<id>", "e:<id>") → digests. */
export type RowState = Map<string, RowDigest>;

// Row JSON without created_at: every other column, bytea as hex, times with microseconds,
// float8 with every digit; the key orders the leaves by (org, index), so a reorder shows.
const STATE = `
SELECT 'i:' || id AS key, org_id AS org, md5((to_jsonb(t) - 'created_at')::text) AS content, md5(created_at::text) AS meta
  FROM provably_intercepts t
UNION ALL
SELECT 'l:' || org_id || ':' || leaf_index, org_id, md5((to_jsonb(t) - 'created_at')::text), md5(created_at::text)
  FROM provably_ledger_leaves t
UNION ALL
SELECT 'c:' || id, org_id, md5((to_jsonb(t) - 'created_at')::text), md5(created_at::text)
  FROM provably_checkpoints t
UNION ALL
SELECT 'd:' || id, org_id, md5((to_jsonb(t) - 'created_at')::text), md5(created_at::text)
  FROM provably_decisions t
UNION ALL
-- An escalation's created_at is content: the time it was held is bound by its end event.
SELECT 'e:' || id, org_id, md5(to_jsonb(t)::text), ''
  FROM provably_escalations t`;

export async function readState(q: Queryable): Promise<RowState> {
  const rows = (await q.query<{ key: string } & RowDigest>(STATE)).rows;
  return new Map(rows.map(({ key, org, content, meta }) => [key, { org, content, meta }]));
}

export interface StateDiff {
  /** Nothing changed at all. */
  noop: boolean;
  /** Only created_at values changed. */
  metaOnly: boolean;
  /** Keys whose content was changed, added or removed. */
  changed: Set<string>;
  /** Orgs owning a changed row, before or after. */
  orgs: Set<string>;
  /** Ids of intercept rows whose content changed or that left (or entered) their org. */
  records: Set<string>;
}

export function diffState(before: RowState, after: RowState): StateDiff {
  const changed = new Set<string>();
  const orgs = new Set<string>();
  let meta = false;
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(key);
    const b = after.get(key);
    if (a && b && a.content === b.content && a.org === b.org) {
      if (a.meta !== b.meta) meta = true;
      continue;
    }
    changed.add(key);
    if (a) orgs.add(a.org);
    if (b) orgs.add(b.org);
  }
  const records = new Set([...changed].filter((k) => k.startsWith('i:')).map((k) => k.slice(2)));
  return { noop: changed.size === 0 && !meta, metaOnly: changed.size === 0 && meta, changed, orgs, records };
}

export function sameState(a: RowState, b: RowState): boolean {
  const d = diffState(a, b);
  return d.noop;
}

const ROLLBACK = Symbol('rollback');

/**
 * Runs `fn` in one transaction that is always rolled back, with a Store view of it: nested
 * transactions (issueCheckpoint's, addTrustedEndpoint's) become savepoints, so a library call
 * that fails inside rolls back only its own work, as it would on its own connection.
 */
export async function inRolledBackTransaction(store: Store, fn: (tx: Store) => Promise<void>): Promise<void> {
  try {
    await store.transaction(async (tx) => {
      let savepoints = 0;
      const view: Store = {
        backend: store.backend,
        query: (sql, params) => tx.query(sql, params),
        async transaction(inner) {
          const name = `campaign_sp_${++savepoints}`;
          await tx.query(`SAVEPOINT ${name}`);
          try {
            const result = await inner(tx);
            await tx.query(`RELEASE SAVEPOINT ${name}`);
            return result;
          } catch (err) {
            await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
            throw err;
          }
        },
        close: async () => {},
      };
      await fn(view);
      throw ROLLBACK;
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
  }
}
