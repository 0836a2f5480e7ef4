/**
 * Inclusion and consistency proofs served from the stored leaf hashes (32 bytes per leaf read;
 * O(n) hashes per proof).
 */
import { checkOrgId } from '../config/index.js';
import { recordIdOf } from '../record/read.js';
import type { Queryable } from '../store/types.js';
import {
  ProvablyLedgerArgumentError,
  ProvablyLedgerIntegrityError,
  ProvablyLedgerRecordError,
} from './errors.js';
import { MerkleTree } from './merkle.js';
import type { ConsistencyProof, InclusionProof } from './proof.js';
import { checkTreeSize, hex } from './rows.js';
import { latestCheckpoint } from './stored.js';

/** A record's leaf as stored: its index and hash (lower-case hex). */
export interface StoredLeaf {
  leafIndex: number;
  leafHash: string;
}

/** The stored leaf of a record in the org's log, or null when it has none. */
export async function storedLeaf(q: Queryable, orgId: string, recordId: string): Promise<StoredLeaf | null> {
  checkOrgId(orgId, 'orgId');
  const found = await q.query<{ leaf_index: number; leaf_hash: string }>(
    `SELECT leaf_index, encode(leaf_hash, 'hex') AS leaf_hash
     FROM provably_ledger_leaves WHERE org_id = $1 AND record_id = $2`,
    [orgId, recordIdOf(recordId)],
  );
  const row = found.rows[0];
  return row ? { leafIndex: Number(row.leaf_index), leafHash: String(row.leaf_hash) } : null;
}

/**
 * The inclusion proof of a record in the org's tree of `treeSize` leaves (default: the tree of
 * the latest checkpoint). Verify it offline with verifyRecordProof and the signed checkpoint.
 */
export async function inclusionProof(
  q: Queryable,
  orgId: string,
  recordId: string,
  treeSize?: number,
): Promise<InclusionProof> {
  const [proof] = await inclusionProofs(q, orgId, [recordId], treeSize);
  return proof as InclusionProof;
}

/**
 * inclusionProof for several records of the org under one tree size, in the order given: the
 * tree is read once (a proof needs every leaf of the tree, so one read per record would make a
 * handoff of k claims cost k full reads of the log).
 */
export async function inclusionProofs(
  q: Queryable,
  orgId: string,
  recordIds: readonly string[],
  treeSize?: number,
): Promise<InclusionProof[]> {
  checkOrgId(orgId, 'orgId');
  const ids = recordIds.map((r) => recordIdOf(r));
  if (ids.length === 0) return [];
  const found = await q.query<{ record_id: string; leaf_index: number }>(
    `SELECT record_id, leaf_index FROM provably_ledger_leaves
     WHERE org_id = $1 AND record_id IN (SELECT value::uuid FROM jsonb_array_elements_text($2::jsonb))`,
    [orgId, JSON.stringify(ids)],
  );
  const indexOf = new Map(found.rows.map((r) => [String(r.record_id).toLowerCase(), Number(r.leaf_index)]));
  let size = treeSize;
  if (size === undefined) {
    const latest = await latestCheckpoint(q, orgId);
    if (!latest) {
      throw new ProvablyLedgerRecordError('not-logged', ids[0] as string, 'no checkpoint covers it yet');
    }
    size = latest.tree_size;
  }
  checkTreeSize('treeSize', size);
  const leafIndexes = ids.map((id) => {
    const leafIndex = indexOf.get(id);
    if (leafIndex === undefined)
      throw new ProvablyLedgerRecordError('not-logged', id, `no leaf in org ${orgId}`);
    if (leafIndex >= (size as number)) {
      throw new ProvablyLedgerRecordError(
        'not-logged',
        id,
        `its leaf ${leafIndex} is not within tree size ${size}`,
      );
    }
    return leafIndex;
  });
  const tree = await treeOf(q, orgId, size);
  const rootHash = hex(tree.root());
  return ids.map((id, i) => {
    const leafIndex = leafIndexes[i] as number;
    return {
      orgId,
      recordId: id,
      leafIndex,
      treeSize: size as number,
      leafHash: hex(tree.leaf(leafIndex)),
      rootHash,
      proof: tree.inclusionPath(leafIndex).map(hex),
    };
  });
}

/** The consistency proof between the org's trees of size1 and size2 leaves (1 ≤ size1 ≤ size2). */
export async function consistencyProof(
  q: Queryable,
  orgId: string,
  size1: number,
  size2: number,
): Promise<ConsistencyProof> {
  checkOrgId(orgId, 'orgId');
  checkTreeSize('size2', size2);
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
    throw new ProvablyLedgerArgumentError(
      'size1',
      `expected an integer from 1 to size2 (${size2}), got ${size1}`,
    );
  }
  const tree = await treeOf(q, orgId, size2);
  return {
    orgId,
    size1,
    size2,
    root1: hex(tree.root(size1)),
    root2: hex(tree.root()),
    proof: tree.consistencyPath(size1).map(hex),
  };
}

/** The org's leaf hashes by index, from `start`, at most `limit` of them. */
export async function leafHashesFrom(
  q: Queryable,
  orgId: string,
  start: number,
  limit: number,
): Promise<{ leafIndex: number; hash: Uint8Array }[]> {
  const result = await q.query<{ leaf_index: number; leaf_hash: Uint8Array }>(
    `SELECT leaf_index, leaf_hash FROM provably_ledger_leaves
     WHERE org_id = $1 AND leaf_index >= $2 ORDER BY leaf_index LIMIT $3`,
    [orgId, start, limit],
  );
  return result.rows.map((r) => ({ leafIndex: Number(r.leaf_index), hash: r.leaf_hash }));
}

/** The tree of the org's first `size` leaves; refuses a size beyond the log or a gap. */
async function treeOf(q: Queryable, orgId: string, size: number): Promise<MerkleTree> {
  const rows = await leafHashesFrom(q, orgId, 0, size);
  if (rows.length < size) {
    throw new ProvablyLedgerArgumentError(
      'treeSize',
      `the log of org ${orgId} has only ${rows.length} leaves, not ${size}`,
    );
  }
  const tree = new MerkleTree();
  rows.forEach((r, i) => {
    if (r.leafIndex !== i) throw new ProvablyLedgerIntegrityError(orgId, `no leaf at index ${i}`);
    tree.append(r.hash);
  });
  return tree;
}

export async function treeSizeOf(q: Queryable, orgId: string): Promise<number> {
  const result = await q.query<{ n: number }>(
    'SELECT COALESCE(max(leaf_index) + 1, 0) AS n FROM provably_ledger_leaves WHERE org_id = $1',
    [orgId],
  );
  return Number(result.rows[0]?.n ?? 0);
}
