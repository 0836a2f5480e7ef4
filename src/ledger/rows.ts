/**
 * What every part of the ledger shares: leaf rows joined with their records, the check of one
 * joined row against its leaf (and kept body), and small helpers.
 */
import { INTERCEPT_COLUMNS, type InterceptRecord, recordIdOf, toRecord } from '../record/read.js';
import { keptBodyProblem } from '../record/stored-body.js';
import type { Queryable, Store } from '../store/types.js';
import { DECISION_LEAF_KIND, DECISION_ROW_SQL, decisionRowProblem } from './decision-leaf.js';
import { ProvablyLedgerArgumentError, ProvablyLedgerRecordError } from './errors.js';
import { INTERCEPT_LEAF_KIND, recordLeafHash } from './leaf.js';
import { bytesEqual } from './merkle.js';

/** The content columns leafContent needs (no body), plus created_at for toRecord. */
export const RECORD_COLUMNS = INTERCEPT_COLUMNS;
export const SUB_MS = `(i.started_at <> date_trunc('milliseconds', i.started_at)) AS started_sub_ms`;

export type RecordRef = string | { readonly id: string };

/**
 * One leaf row joined with its record (record columns null when the record is gone). Only
 * intercept leaves are joined with an intercept row: a leaf of another kind (l_kind) never
 * borrows one, whatever its record_id says.
 */
export async function joinedRows(
  q: Queryable,
  orgId: string,
  fromIndex: number,
  limit: number,
  withBodies: boolean,
): Promise<Record<string, unknown>[]> {
  const body = withBodies
    ? `encode(sha256(i.response_body), 'hex') AS kept_sha256, octet_length(i.response_body) AS kept_size`
    : 'NULL::text AS kept_sha256, NULL::int AS kept_size';
  const result = await q.query<Record<string, unknown>>(
    `SELECT l.leaf_index AS l_index, l.record_id::text AS l_record, l.leaf_hash AS l_hash,
            l.leaf_kind AS l_kind, ${RECORD_COLUMNS.map((c) => `i.${c}`).join(', ')}, ${SUB_MS}, ${body},
            ${DECISION_ROW_SQL}
     FROM provably_ledger_leaves l
       LEFT JOIN provably_intercepts i ON i.id = l.record_id AND l.leaf_kind = '${INTERCEPT_LEAF_KIND}'
     WHERE l.org_id = $1 AND l.leaf_index >= $2
     ORDER BY l.leaf_index LIMIT $3`,
    [orgId, fromIndex, limit],
  );
  return result.rows;
}

export type RowCheck =
  | { kind: 'ok'; hash: Uint8Array; detail: '' }
  | {
      kind: 'record-missing' | 'record-mismatch' | 'body-mismatch';
      hash: Uint8Array | null;
      detail: string;
    };

/** Checks one joined row: the record exists, is the org's, rebuilds the stored leaf, has its body. */
export function rowProblem(row: Record<string, unknown>, orgId: string, checkBodies: boolean): RowCheck {
  const index = Number(row.l_index);
  if (row.l_kind === DECISION_LEAF_KIND) {
    // A policy decision's leaf (src/ledger/decision-leaf.ts): its row is in provably_decisions.
    if (row.d_row) return decisionRowProblem(row, orgId, index);
    return { kind: 'record-missing', hash: null, detail: `decision ${String(row.l_record)} is gone` };
  }
  if (row.l_kind !== INTERCEPT_LEAF_KIND) {
    // Fail closed: a leaf this version cannot rebuild is never taken on trust.
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `leaf kind ${JSON.stringify(row.l_kind)} is not one this version of provably verifies`,
    };
  }
  if (row.id === null || row.id === undefined) {
    return { kind: 'record-missing', hash: null, detail: `record ${String(row.l_record)} is gone` };
  }
  if (String(row.org_id) !== orgId) {
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `record ${String(row.id)} belongs to org ${JSON.stringify(row.org_id)}`,
    };
  }
  let record: InterceptRecord;
  let hash: Uint8Array;
  try {
    record = toRecord(row);
    hash = recordLeafHash(record, index);
  } catch (err) {
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `record cannot be canonicalized: ${(err as Error).message}`,
    };
  }
  if (row.started_sub_ms === true) {
    return { kind: 'record-mismatch', hash: null, detail: 'started_at has sub-millisecond digits' };
  }
  const storedHash = row.l_hash as Uint8Array;
  if (!(storedHash instanceof Uint8Array) || !bytesEqual(hash, storedHash)) {
    return {
      kind: 'record-mismatch',
      hash,
      detail: `record ${record.id} does not match leaf ${index} (stored ${hex(storedHash)}, recomputed ${hex(hash)})`,
    };
  }
  if (checkBodies) {
    const keptSize = row.kept_size === null || row.kept_size === undefined ? null : Number(row.kept_size);
    const body = keptBodyProblem(
      record,
      keptSize === null ? null : { size: keptSize, sha256: () => String(row.kept_sha256) },
    );
    if (body) return { kind: 'body-mismatch', hash, detail: `record ${record.id}: ${body}` };
  }
  return { kind: 'ok', hash, detail: '' };
}

/** Runs `fn` in a transaction: a new one on a Store (or Session), else the caller's. */
export function inTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const store = q as Partial<Store>;
  return typeof store.transaction === 'function' ? store.transaction(fn) : fn(q);
}

export function recordIds(records: readonly RecordRef[]): string[] {
  if (!Array.isArray(records)) throw new ProvablyLedgerArgumentError('records', 'expected an array');
  const ids = records.map((r) => recordIdOf(typeof r === 'string' ? r : r?.id));
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new ProvablyLedgerRecordError('duplicate', id, 'given more than once');
    seen.add(id);
  }
  return ids;
}

export function checkTreeSize(name: string, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ProvablyLedgerArgumentError(name, `expected a safe integer ≥ 0, got ${String(size)}`);
  }
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
