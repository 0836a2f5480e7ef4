/**
 * Appending records to an org's log by id (the ledger's general API; the recorder's batches use
 * the one-statement path of batch.ts instead).
 *
 * Concurrency: the org's head row (provably_ledger_heads, migration 4) hands out indexes. Moving
 * it forward takes its row lock until commit, so appenders of one org take turns in any number
 * of processes and commit in index order; a rollback leaves the head where it was. The primary
 * key (org_id, leaf_index) and UNIQUE (record_id) refuse a duplicate in every case. Callers that
 * append for several orgs in one transaction must claim orgs in one order: appendLeavesByOrg
 * does (sorted org ids).
 */
import { checkOrgId } from '../config/index.js';
import { toRecord } from '../record/read.js';
import type { Queryable } from '../store/types.js';
import { ProvablyLeafContentError, ProvablyLedgerRecordError } from './errors.js';
import { recordLeafHash } from './leaf.js';
import { treeSizeOf } from './proofs.js';
import { hex, inTransaction, RECORD_COLUMNS, type RecordRef, recordIds, SUB_MS } from './rows.js';

export interface AppendedLeaf {
  recordId: string;
  leafIndex: number;
  /** Hex leaf hash. */
  leafHash: string;
}

export interface AppendResult {
  orgId: string;
  /** In the order the records were given; indexes are consecutive. */
  leaves: AppendedLeaf[];
  /** The org's tree size after this append. */
  treeSize: number;
}

/**
 * Claims `count` indexes of the org's log; returns the first. The head never goes below
 * max(leaf_index) + 1, so a head left behind (a writer that did not move it) catches up here
 * rather than handing out an index that is taken. Holds the head's row lock until commit.
 */
export const CLAIM_SQL = `INSERT INTO provably_ledger_heads AS h (org_id, next_index)
  SELECT $1::text, COALESCE((SELECT max(l.leaf_index) + 1 FROM provably_ledger_leaves l WHERE l.org_id = $1::text), 0) + $2::bigint
  ON CONFLICT (org_id) DO UPDATE SET next_index = GREATEST(h.next_index + $2::bigint, EXCLUDED.next_index)
  RETURNING h.next_index - $2::bigint AS first`;

/**
 * Appends the records (ids, or objects with an id) to the org's log, in the order given, at the
 * next free indexes. Each leaf is built from the row as stored, read back in this transaction,
 * never from the caller's copy, so it is exactly what verifyLog recomputes.
 *
 * `q` may be a Store (a transaction is opened) or the handle of the caller's own transaction, so
 * the rows and their leaves commit together or not at all. Throws ProvablyLedgerRecordError when
 * a record does not exist, belongs to another org, is already logged or is given twice;
 * ProvablyLeafContentError when a row cannot be canonicalized. Nothing is appended then (the
 * rows are checked before the head moves, so a caller's transaction is left as it was).
 */
export async function appendLeaves(
  q: Queryable,
  orgId: string,
  records: readonly RecordRef[],
): Promise<AppendResult> {
  checkOrgId(orgId, 'orgId');
  const ids = recordIds(records);
  if (ids.length === 0) return { orgId, leaves: [], treeSize: await treeSizeOf(q, orgId) };
  return inTransaction(q, async (tx) => {
    // Intercept rows are immutable (append-only), so reading them before the head's lock is
    // safe; a record logged meanwhile by someone else fails the INSERT below (UNIQUE record_id).
    const found = await tx.query<Record<string, unknown>>(
      `SELECT ${RECORD_COLUMNS.map((c) => `i.${c}`).join(', ')}, ${SUB_MS}, l.leaf_index AS logged_index
       FROM provably_intercepts i LEFT JOIN provably_ledger_leaves l ON l.record_id = i.id
       WHERE i.id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(ids)],
    );
    const byId = new Map(found.rows.map((row) => [String(row.id).toLowerCase(), row]));
    const rows = ids.map((id) => {
      const row = byId.get(id);
      if (!row) throw new ProvablyLedgerRecordError('not-found', id, 'no intercept row has this id');
      if (row.org_id !== orgId) {
        throw new ProvablyLedgerRecordError(
          'org-mismatch',
          id,
          `the row belongs to another org, not ${orgId}`,
        );
      }
      if (row.logged_index !== null && row.logged_index !== undefined) {
        throw new ProvablyLedgerRecordError('already-logged', id, `already leaf ${String(row.logged_index)}`);
      }
      if (row.started_sub_ms === true) {
        throw new ProvablyLeafContentError(
          'started_at',
          `record ${id} carries sub-millisecond digits the leaf cannot bind`,
        );
      }
      const record = toRecord(row);
      recordLeafHash(record, 0); // throws now, before the head moves, if the row has no leaf form
      return { id, record };
    });
    const claimed = await tx.query<{ first: string | number }>(CLAIM_SQL, [orgId, rows.length]);
    const next = Number(claimed.rows[0]?.first);
    const leaves: AppendedLeaf[] = rows.map(({ id, record }, i) => ({
      recordId: id,
      leafIndex: next + i,
      leafHash: hex(recordLeafHash(record, next + i)),
    }));
    await tx.query(
      `INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash)
       SELECT $1, $2::bigint + t.ord - 1, (t.e->>'r')::uuid, decode(t.e->>'h', 'hex')
       FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, ord)`,
      [orgId, next, JSON.stringify(leaves.map((l) => ({ r: l.recordId, h: l.leafHash })))],
    );
    return { orgId, leaves, treeSize: next + leaves.length };
  });
}

/**
 * appendLeaves for records of several orgs in one transaction: one append per org, orgs claimed
 * in sorted order so concurrent batches cannot deadlock.
 */
export async function appendLeavesByOrg(
  q: Queryable,
  records: readonly { readonly id: string; readonly orgId: string }[],
): Promise<AppendResult[]> {
  const byOrg = new Map<string, string[]>();
  for (const r of records) {
    const list = byOrg.get(r.orgId);
    if (list) list.push(r.id);
    else byOrg.set(r.orgId, [r.id]);
  }
  const orgs = [...byOrg.keys()].sort();
  if (orgs.length === 0) return [];
  return inTransaction(q, async (tx) => {
    const out: AppendResult[] = [];
    for (const org of orgs) out.push(await appendLeaves(tx, org, byOrg.get(org) as string[]));
    return out;
  });
}
