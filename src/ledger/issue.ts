/**
 * Issuing signed checkpoints of an org's log.
 *
 * Incremental: each checkpoint stores the compact range of its tree (frontier.ts), so the next
 * one reads only the leaves added since (joined with their records, each checked against its
 * leaf) and extends that range — O(new leaves + log n) instead of rereading every leaf hash.
 * The stored range is used only when the latest checkpoint is this signer's, its signature is
 * valid and the range's root is its signed root (so the new tree extends the signed one by
 * construction); otherwise — another key's checkpoint, no range (checkpoints from before
 * migration 4), or `recheckAll` — every leaf hash up to the latest checkpoint is reread and
 * must reproduce its root.
 *
 * Issuers of one org take turns on a transaction-scoped advisory lock; they do not block
 * appenders. The log's size is read in one statement from its head row and its leaves: the head
 * and the leaves it covers commit together, so every leaf below it is visible afterwards.
 */
import { checkOrgId } from '../config/index.js';
import type { Queryable } from '../store/types.js';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import { ProvablyLedgerIntegrityError } from './errors.js';
import { CompactRange } from './frontier.js';
import type { Signer } from './keys.js';
import { leafHashesFrom } from './proofs.js';
import { hex, inTransaction, joinedRows, rowProblem } from './rows.js';
import { latestWithFrontier, type StoredCheckpoint } from './stored.js';

/** First key of the issuers' two-key advisory lock: "pvlg". The second is hashtext(org_id). */
export const LEDGER_LOCK_CLASS = 0x70766c67;

/** Leaf rows read per query while issuing. */
const PAGE = 1000;

export interface IssueCheckpointOptions {
  /** The checkpoint's time (default: now). */
  now?: () => Date;
  /**
   * Reread every leaf hash up to the latest checkpoint and refuse when they no longer give its
   * root, instead of extending its stored compact range (default false). O(n); verifyLog checks
   * far more (every record) and is the tool for audits.
   */
  recheckAll?: boolean;
}

/**
 * Signs the org's current tree and stores the checkpoint. Refuses (ProvablyLedgerIntegrityError)
 * when the log is not sound: a gap in the leaf indexes (or a head beyond the leaves), a tree that
 * does not extend the latest checkpoint, a checkpoint of this signer's key whose signature fails,
 * or a record added since the latest checkpoint that no longer matches its leaf. Records covered
 * by earlier checkpoints are not reread here: verifyLog does that.
 */
export async function issueCheckpoint(
  q: Queryable,
  orgId: string,
  signer: Signer,
  options: IssueCheckpointOptions = {},
): Promise<StoredCheckpoint> {
  checkOrgId(orgId, 'orgId');
  return inTransaction(q, async (tx) => {
    await lockIssuers(tx, orgId);
    return issueLocked(tx, orgId, signer, options, await logSize(tx, orgId));
  });
}

/**
 * The latest checkpoint when it is this signer's, validly signed, and already covers the whole
 * log; otherwise a new one (issueCheckpoint). For callers that need "a checkpoint covering every
 * record committed so far" (building a handoff) without adding one per call.
 */
export async function ensureCheckpoint(
  q: Queryable,
  orgId: string,
  signer: Signer,
  options: IssueCheckpointOptions = {},
): Promise<StoredCheckpoint> {
  checkOrgId(orgId, 'orgId');
  return inTransaction(q, async (tx) => {
    await lockIssuers(tx, orgId);
    const size = await logSize(tx, orgId);
    const last = await latestWithFrontier(tx, orgId);
    if (
      last &&
      last.tree_size === size &&
      last.key_id === signer.keyId &&
      verifyCheckpoint(last, { [signer.keyId]: signer.publicKeyPem }).ok
    ) {
      const { frontier: _frontier, ...checkpoint } = last;
      return checkpoint;
    }
    return issueLocked(tx, orgId, signer, options, size);
  });
}

async function issueLocked(
  tx: Queryable,
  orgId: string,
  signer: Signer,
  options: IssueCheckpointOptions,
  size: number,
): Promise<StoredCheckpoint> {
  const refuse = (detail: string) => new ProvablyLedgerIntegrityError(orgId, detail);
  const last = await latestWithFrontier(tx, orgId);
  const from = last?.tree_size ?? 0;
  let range = CompactRange.empty();
  if (last) {
    if (last.tree_size > size) {
      throw refuse(`checkpoint ${last.id} covers ${last.tree_size} leaves but the log has ${size}`);
    }
    const ours = last.key_id === signer.keyId;
    if (ours) {
      const check = verifyCheckpoint(last, { [signer.keyId]: signer.publicKeyPem });
      if (!check.ok) throw refuse(`checkpoint ${last.id} is invalid: ${check.detail}`);
    }
    const stored = ours && options.recheckAll !== true ? storedRange(last) : null;
    if (stored) {
      range = stored;
    } else {
      for (let start = 0; start < from; ) {
        const hashes = await leafHashesFrom(tx, orgId, start, Math.min(PAGE * 10, from - start));
        if (hashes.length === 0) throw refuse(`no leaf at index ${start}`);
        for (const h of hashes) {
          if (h.leafIndex !== range.size) {
            throw refuse(`no leaf at index ${range.size} (next is ${h.leafIndex})`);
          }
          range.append(h.hash);
        }
        start = range.size;
      }
      if (hex(range.root()) !== last.root_hash) {
        throw refuse(`the leaves no longer match checkpoint ${last.id}`);
      }
    }
  }
  // The leaves added since: each rebuilt from its record and checked against the stored hash.
  while (range.size < size) {
    const rows = await joinedRows(tx, orgId, range.size, Math.min(PAGE, size - range.size), false);
    if (rows.length === 0) throw refuse(`no leaf at index ${range.size}`);
    for (const row of rows) {
      const index = Number(row.l_index);
      if (index !== range.size) throw refuse(`no leaf at index ${range.size} (next is ${index})`);
      const problem = rowProblem(row, orgId, false);
      if (problem.kind !== 'ok') throw refuse(`leaf ${index}: ${problem.detail}`);
      range.append(problem.hash);
    }
  }
  const checkpoint = signCheckpoint(
    {
      org_id: orgId,
      tree_size: size,
      root_hash: range.root(),
      timestamp: (options.now ?? (() => new Date()))(),
    },
    signer,
  );
  const inserted = await tx.query<{ id: string }>(
    `INSERT INTO provably_checkpoints (org_id, tree_size, root_hash, "timestamp", key_id, signature, frontier)
     VALUES ($1, $2, decode($3, 'hex'), $4::timestamptz, $5, decode($6, 'base64'), decode($7, 'hex')) RETURNING id`,
    [
      checkpoint.org_id,
      checkpoint.tree_size,
      checkpoint.root_hash,
      checkpoint.timestamp,
      checkpoint.key_id,
      checkpoint.signature,
      hex(range.bytes()),
    ],
  );
  return { id: String(inserted.rows[0]?.id), ...checkpoint };
}

/** The checkpoint's stored range, when it is well formed and gives the signed root. */
function storedRange(last: StoredCheckpoint & { frontier: Uint8Array | null }): CompactRange | null {
  if (last.frontier === null) return null;
  try {
    const range = CompactRange.parse(last.tree_size, last.frontier);
    return hex(range.root()) === last.root_hash ? range : null;
  } catch {
    return null;
  }
}

/**
 * The log's size: its head (the next index to hand out), or past it when leaves were appended
 * without moving the head (the next append catches the head up). A head beyond the last leaf
 * means leaves are missing: refused.
 */
async function logSize(tx: Queryable, orgId: string): Promise<number> {
  const result = await tx.query<{ head: string | number | null; leaf_end: string | number | null }>(
    `SELECT (SELECT next_index FROM provably_ledger_heads WHERE org_id = $1) AS head,
            (SELECT max(leaf_index) + 1 FROM provably_ledger_leaves WHERE org_id = $1) AS leaf_end`,
    [orgId],
  );
  const head = Number(result.rows[0]?.head ?? 0);
  const leafEnd = Number(result.rows[0]?.leaf_end ?? 0);
  if (head > leafEnd) {
    throw new ProvablyLedgerIntegrityError(
      orgId,
      `the log's head is at index ${head} but its leaves end at ${leafEnd}: leaves are missing`,
    );
  }
  return leafEnd;
}

async function lockIssuers(tx: Queryable, orgId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', [LEDGER_LOCK_CLASS, orgId]);
}
