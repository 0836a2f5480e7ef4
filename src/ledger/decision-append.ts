/** Appending a decision row's leaf to its org's log (see decision-leaf.ts for the leaf). */
import type { Queryable } from '../store/types.js';
import { CLAIM_SQL } from './append.js';
import { type DecisionLeafRow, decisionLeafBytes, decisionLeafHash } from './decision-leaf.js';
import { hex } from './rows.js';

/**
 * Appends the just-inserted decision row (as stored) to its org's log, in `tx` (the caller's
 * transaction: the row and its leaf commit together). Returns its index and hex hash.
 */
export async function appendDecisionLeaf(
  tx: Queryable,
  row: DecisionLeafRow,
): Promise<{ leafIndex: number; leafHash: string }> {
  const orgId = String(row.org_id);
  decisionLeafBytes(row, 0); // refuse a row with no leaf form before the head moves
  const claimed = await tx.query<{ first: string | number }>(CLAIM_SQL, [orgId, 1]);
  const leafIndex = Number(claimed.rows[0]?.first);
  const hash = hex(decisionLeafHash(row, leafIndex));
  await tx.query(
    `INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash, leaf_kind)
     VALUES ($1, $2, $3::uuid, decode($4, 'hex'), 'decision')`,
    [orgId, leafIndex, String(row.id), hash],
  );
  return { leafIndex, leafHash: hash };
}
