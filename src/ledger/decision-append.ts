/**
 * Appending decision rows and their leaves in ONE statement (provably_decisions_append,
 * migration 8): the row is inserted from its leaf JSON, checked as stored against it, and its
 * leaf hashed at the claimed index by the database (see the migration for the checks).
 *
 * The leaf's index is only known inside the statement, so each row is canonicalized here with
 * leaf_index 0 and split around that 0 (the database splices in the claimed index). In a
 * decision leaf every key sorted before leaf_index (action_name … id) holds a scalar, and inside
 * a string a quote is always escaped, so the first `"leaf_index":0,` is the top-level key.
 */
import type { Queryable } from '../store/types.js';
import { type DecisionLeafRow, decisionLeafJson } from './decision-leaf.js';
import { ProvablyLeafContentError } from './errors.js';

/** The statement: $1 claims, $2 leaves (both JSON text); returns `leaves` = { id: leaf_index }. */
export const APPEND_DECISIONS_SQL = 'SELECT provably_decisions_append($1::jsonb, $2::jsonb) AS leaves';

const INDEX_KEY = '"leaf_index":0,';

/**
 * The two parameters of provably_decisions_append for `rows` (the caller's copies, as they are
 * to be stored). Throws ProvablyLeafContentError, before anything is sent, when a row has no
 * leaf form. Orgs are claimed in sorted order, like the intercept batches, so that batches of
 * several orgs cannot deadlock against each other.
 */
export function decisionAppendParams(rows: readonly DecisionLeafRow[]): [claims: string, leaves: string] {
  const orgs = [...new Set(rows.map((r) => String(r.org_id)))].sort();
  const counts = new Map<string, number>(orgs.map((o) => [o, 0]));
  const leaves = rows.map((row) => {
    // The text itself: encoding it to UTF-8 bytes only to decode them again was waste.
    const json = decisionLeafJson(row, 0);
    const at = json.indexOf(INDEX_KEY);
    if (at < 0) throw new ProvablyLeafContentError('leaf_index', 'the canonical leaf has no leaf_index');
    const org = String(row.org_id);
    const ord = counts.get(org) as number;
    counts.set(org, ord + 1);
    const cut = at + INDEX_KEY.length - 2; // just before the 0
    return { ord, pre: json.slice(0, cut), suf: json.slice(cut + 1) };
  });
  const claims = orgs.map((org, k) => ({ k, org, n: counts.get(org) }));
  return [JSON.stringify(claims), JSON.stringify(leaves)];
}

/** The leaf indexes the statement answered, by decision id; throws when one is missing. */
export function appendedIndexes(rows: readonly DecisionLeafRow[], answer: unknown): Map<string, number> {
  const byId = (typeof answer === 'string' ? JSON.parse(answer) : answer) as Record<string, unknown> | null;
  const out = new Map<string, number>();
  for (const row of rows) {
    const id = String(row.id);
    const index = byId?.[id];
    if (index === undefined || index === null) {
      throw new ProvablyLeafContentError('leaf_index', `decision ${id} was not given a leaf`);
    }
    out.set(id, Number(index));
  }
  return out;
}

/**
 * Inserts the decision rows and their leaves in one statement on `q` (autocommitted on a Store,
 * or part of the caller's transaction). Returns each row's leaf index. Nothing is written when
 * it throws.
 */
export async function appendDecisions(
  q: Queryable,
  rows: readonly DecisionLeafRow[],
): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const res = await q.query<{ leaves: unknown }>(APPEND_DECISIONS_SQL, decisionAppendParams(rows));
  return appendedIndexes(rows, res.rows[0]?.leaves);
}
