/**
 * Checkpoints as stored in provably_checkpoints.
 */
import { checkOrgId } from '../config/index.js';
import type { Queryable } from '../store/types.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Checkpoint columns. The time comes as text with microseconds, so a stored time that differs
 * from the signed one below the millisecond is not hidden by the driver's Date conversion.
 */
const CHECKPOINT_COLUMNS = `id, org_id, tree_size, encode(root_hash, 'hex') AS root_hash,
  to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "timestamp", key_id,
  encode(signature, 'base64') AS signature`;

/** A checkpoint as stored, with its row id. */
export interface StoredCheckpoint extends Checkpoint {
  id: string;
}

/** The org's checkpoints, oldest tree first (by tree size, then time). */
export async function listCheckpoints(q: Queryable, orgId: string): Promise<StoredCheckpoint[]> {
  checkOrgId(orgId, 'orgId');
  const result = await q.query<Record<string, unknown>>(
    `SELECT ${CHECKPOINT_COLUMNS}
     FROM provably_checkpoints WHERE org_id = $1 ORDER BY tree_size, "timestamp", id`,
    [orgId],
  );
  return result.rows.map(toCheckpoint);
}

/** The org's latest checkpoint (largest tree, then latest), or null. */
export async function latestCheckpoint(q: Queryable, orgId: string): Promise<StoredCheckpoint | null> {
  checkOrgId(orgId, 'orgId');
  const result = await q.query<Record<string, unknown>>(
    `SELECT ${CHECKPOINT_COLUMNS}
     FROM provably_checkpoints WHERE org_id = $1 ORDER BY tree_size DESC, "timestamp" DESC, id DESC LIMIT 1`,
    [orgId],
  );
  const row = result.rows[0];
  return row ? toCheckpoint(row) : null;
}

/** The latest checkpoint with its stored compact range (null before migration 4's column). */
export async function latestWithFrontier(
  q: Queryable,
  orgId: string,
): Promise<(StoredCheckpoint & { frontier: Uint8Array | null }) | null> {
  const result = await q.query<Record<string, unknown>>(
    `SELECT ${CHECKPOINT_COLUMNS}, frontier
     FROM provably_checkpoints WHERE org_id = $1 ORDER BY tree_size DESC, "timestamp" DESC, id DESC LIMIT 1`,
    [orgId],
  );
  const row = result.rows[0];
  if (!row) return null;
  const frontier = row.frontier instanceof Uint8Array ? row.frontier : null;
  return { ...toCheckpoint(row), frontier };
}

export function toCheckpoint(row: Record<string, unknown>): StoredCheckpoint {
  // Microseconds "…ss.mmm000" are the signed millisecond form; any other digits stay visible
  // (and then fail verification as a malformed timestamp).
  const micro = String(row.timestamp);
  const timestamp = /\.\d{3}000$/.test(micro) ? `${micro.slice(0, -3)}Z` : `${micro}Z`;
  return {
    id: String(row.id),
    org_id: String(row.org_id),
    tree_size: Number(row.tree_size),
    root_hash: String(row.root_hash),
    timestamp,
    key_id: String(row.key_id),
    signature: String(row.signature).replace(/\s+/g, ''),
  };
}
