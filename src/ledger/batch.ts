/**
 * The recorder's batches in ONE statement: the INSERT of the intercept rows, the claim of their
 * leaf indexes on each org's head row, and the INSERT of their leaves, in one autocommitted
 * statement (`WITH ins AS (INSERT … RETURNING …) SELECT provably_ledger_append(…)`) — one round
 * trip per batch instead of BEGIN, INSERT, lock, read back, INSERT leaves, COMMIT.
 *
 * The leaf must be built from the row AS STORED, and its index is only known inside the
 * statement. So the caller's copy of each row is canonicalized here with leaf_index 0 and split
 * around that number; the statement (provably_ledger_append, migration 4, given the rows as
 * the INSERT returns them) splices in the claimed index, hashes the bytes (sha256(0x00 ‖ leaf
 * bytes), RFC 6962) and — the proof that the caller's copy is the stored row — compares every
 * stored column with the value in the leaf JSON,
 * in the representation verifyLog reads back: text byte for byte, the id as text, jsonb as
 * jsonb, started_at as an instant equal to the millisecond ISO time (so no finer digits), numbers
 * as numbers. Any difference raises PVL01 (provably_ledger_refuse) and fails the statement:
 * neither the rows nor their leaves are written.
 *
 * Concurrency: the claim is INSERT … ON CONFLICT DO UPDATE on the head row, which in READ
 * COMMITTED waits for a concurrent claimer's commit and then updates the newest head version (the
 * statement's snapshot is not used for it), and holds the row lock to commit. Orgs are claimed
 * in one order (the callers' sorted order) so multi-org batches cannot deadlock. The head never
 * goes below max(leaf_index) + 1 (read in the statement's snapshot: it can only lag, and the
 * head wins then).
 */
import { WRITTEN_COLUMNS } from '../record/read.js';
import type { Queryable } from '../store/types.js';
import { ProvablyLeafContentError } from './errors.js';
import { type LeafRecord, leafBytes } from './leaf.js';

/** One statement and its parameters. */
export interface LedgerStatement {
  sql: string;
  params: unknown[];
}

/** A batch INSERT of intercept rows, and the rows it writes (the caller's copy). */
export interface RowsInsert extends LedgerStatement {
  /**
   * `INSERT INTO provably_intercepts (…) VALUES …` without RETURNING; params $1…$n, and no other
   * `$` followed by digits (its placeholders are renumbered to follow the ledger's two).
   */
  sql: string;
  rows: readonly LeafRecord[];
}

/** The stored columns every leaf binds, returned by the INSERT (provably_intercept_leaf_row's order). */
const STORED = WRITTEN_COLUMNS.filter((c) => c !== 'response_body');

const INDEX_KEY = '"leaf_index":0,';

/**
 * Wraps the recorder's batch INSERT into the one statement that also logs every row (see the
 * header). Throws ProvablyLeafContentError, before anything is sent, when a row has no leaf
 * form; the statement fails with PVL01 when a stored row differs from the caller's copy.
 */
export function appendInStatement(insert: RowsInsert): LedgerStatement {
  const orgs = [...new Set(insert.rows.map((r) => r.orgId))].sort();
  const counts = new Map<string, number>(orgs.map((o) => [o, 0]));
  const leaves = insert.rows.map((record) => {
    const json = new TextDecoder().decode(leafBytes(record, 0));
    // JCS sorts keys, and every key before leaf_index holds a scalar, so the first match is
    // the top-level key (inside a string value a quote is always escaped).
    const at = json.indexOf(INDEX_KEY);
    if (at < 0) throw new ProvablyLeafContentError('leaf_index', 'the canonical leaf has no leaf_index');
    const ord = counts.get(record.orgId) as number;
    counts.set(record.orgId, ord + 1);
    const cut = at + INDEX_KEY.length - 2; // just before the 0
    return { id: record.id, ord, pre: json.slice(0, cut), suf: json.slice(cut + 1) };
  });
  const claims = orgs.map((org, k) => ({ k, org, n: counts.get(org) }));
  // The ledger's parameters come FIRST: the rows' (whose last one is a body, possibly MiBs) must
  // end the statement. pg serializes parameters into one growing buffer, and the ~1 KB of leaf
  // JSON written after a 16 MiB body made it copy the body into a 24 MiB buffer (measured: the
  // recorded 100 MB stream's peak RSS +17 MiB, bench/memory.bench.mjs).
  return {
    sql: wrappedSql(insert.sql),
    params: [JSON.stringify(claims), JSON.stringify(leaves), ...insert.params],
  };
}

const LEDGER_PARAMS = 2;
const PLACEHOLDER = /\$(\d+)/g;
const RETURNING = STORED.join(', ');
/** Wrapped statements by INSERT text: the recorder's texts repeat (one per batch size). */
const wrapped = new Map<string, string>();

/**
 * The one statement around an INSERT, its placeholders moved past the ledger's two. The rows as
 * stored (RETURNING) go to provably_ledger_append_intercepts (migration 5), whose statement is planned once
 * per session: planning it inline on every batch cost ~3× running it.
 */
function wrappedSql(insertSql: string): string {
  let sql = wrapped.get(insertSql);
  if (sql === undefined) {
    const rowsSql = insertSql.replace(PLACEHOLDER, (_, n: string) => `$${Number(n) + LEDGER_PARAMS}`);
    sql = `WITH ins AS (${rowsSql} RETURNING ${RETURNING})
SELECT provably_ledger_append_intercepts(array_agg(ins::provably_intercept_leaf_row), $1::jsonb, $2::jsonb) FROM ins`;
    if (wrapped.size >= 128) wrapped.clear();
    wrapped.set(insertSql, sql);
  }
  return sql;
}

/** Runs appendInStatement's statement (one round trip, autocommitted unless `q` is a transaction). */
export async function appendRowsAndLeaves(q: Queryable, insert: RowsInsert): Promise<void> {
  const statement = appendInStatement(insert);
  await q.query(statement.sql, statement.params);
}
