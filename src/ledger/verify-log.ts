/**
 * verifyLog: the whole org log checked against the records and the signed checkpoints.
 *
 * Cost: reads every record once (without bodies; body digests are computed by the database)
 * and keeps two trees of 64 bytes per leaf.
 */
import { checkOrgId } from '../config/index.js';
import type { Queryable } from '../store/types.js';
import { verifyCheckpoint } from './checkpoint.js';
import { ProvablyLedgerArgumentError } from './errors.js';
import type { TrustedKeys } from './keys.js';
import { MerkleTree, verifyConsistency } from './merkle.js';
import { hex, joinedRows, rowProblem } from './rows.js';
import { listCheckpoints, type StoredCheckpoint } from './stored.js';
import { escalationProblems } from './verify-escalations.js';

export type LedgerProblemKind =
  /** No leaf row at this index (a gap, or fewer leaves than a checkpoint covers). */
  | 'leaf-missing'
  /** The leaf's record row is gone. */
  | 'record-missing'
  /** The record (or its leaf row) no longer matches: content, org, index or order changed. */
  | 'record-mismatch'
  /** The kept response body does not match body_sha256 / body_size. */
  | 'body-mismatch'
  /** A checkpoint's form or signature is not valid under the trusted keys. */
  | 'checkpoint-invalid'
  /** A validly signed checkpoint's root is not the root of the records (or not consistent). */
  | 'checkpoint-mismatch'
  /** Records of the org that have no leaf (never logged, or their leaf was removed). */
  | 'record-unlogged'
  /**
   * An escalation row (not itself a leaf) that the decision leaves recording it do not bear
   * out: its ESCALATE decision or its recorded end differs or is missing (verify-escalations.ts).
   */
  | 'escalation-mismatch';

export interface LedgerProblem {
  kind: LedgerProblemKind;
  /**
   * The leaf index of the problem; for checkpoint-mismatch the first index the damage can be
   * at (the damage lies between the last matching checkpoint and this one). Null when no
   * index applies.
   */
  leafIndex: number | null;
  recordId: string | null;
  checkpointId: string | null;
  /**
   * Which row was changed, when the signed checkpoints can tell. `record`: the stored leaf hash
   * is the one a covering checkpoint signed, so the record row changed (or the leaf row's
   * record_id was pointed at another row: the signature covers hashes, not pointers). `leaf`:
   * the record still hashes to what a covering checkpoint signed, so the leaf row's hash
   * changed. `checkpoint`: the checkpoint row itself. `unknown`: not covered by a valid
   * checkpoint, or both sides differ.
   */
  changed: 'record' | 'leaf' | 'checkpoint' | 'unknown';
  detail: string;
}

export interface VerifyProgress {
  phase: 'leaves' | 'checkpoints';
  done: number;
  total: number;
}

export interface VerifyLogOptions {
  /** Key id → public key PEM of every key whose checkpoints are trusted. */
  trustedKeys: TrustedKeys;
  onProgress?: (progress: VerifyProgress) => void;
  /** Check kept response bodies against body_sha256 and body_size (default true). */
  checkBodies?: boolean;
  /** Do not count records without a leaf as a problem (default false). */
  allowUnlogged?: boolean;
  /** Rows read per query (default 1000). */
  pageSize?: number;
}

/**
 * The verdict. `verified`: no problem and every leaf is covered by a verified checkpoint (also
 * an empty log). `unsigned`: no problem, but the newest `uncheckpointedLeaves` records are not
 * covered by a checkpoint yet — healthy, and only their stored leaf hashes protect them until
 * a signer (`provably serve`, `provably checkpoint`, or the recording process) signs them.
 * `broken`: problems were found (tampering or damage).
 */
export type VerifyStatus = 'verified' | 'unsigned' | 'broken';

/** The `provably verify` exit code of a status: 0 verified, 1 broken, 3 unsigned (2 is bad input). */
export function verifyExitCode(status: VerifyStatus): 0 | 1 | 3 {
  return status === 'verified' ? 0 : status === 'broken' ? 1 : 3;
}

export interface VerifyLogResult {
  /** No problem was found (true for `verified` and `unsigned`). */
  ok: boolean;
  status: VerifyStatus;
  orgId: string;
  /** Leaf rows found. */
  treeSize: number;
  /** Hex root of the tree recomputed from the records. */
  rootHash: string;
  /** Checkpoint rows found. */
  checkpoints: number;
  /** Checkpoints with a valid signature whose root is the records' root at their size. */
  verifiedCheckpoints: number;
  /** The verified checkpoint with the largest tree, or null. */
  latestVerified: StoredCheckpoint | null;
  /** Leaves after the latest verified checkpoint: only the stored leaf hashes protect them. */
  uncheckpointedLeaves: number;
  /**
   * When the oldest leaf not covered by a verified checkpoint was stored (ISO 8601), and its age
   * in milliseconds at verification; null when every leaf is covered.
   */
  oldestUncoveredAt: string | null;
  oldestUncoveredAgeMs: number | null;
  /** Records of the org without a leaf. */
  unloggedRecords: number;
  /** The earliest problem in log order (problems without an index come last), or null. */
  firstBroken: LedgerProblem | null;
  /** Every problem found, earliest first (at most 100; see problemCount). */
  problems: LedgerProblem[];
  problemCount: number;
}

const MAX_PROBLEMS = 100;
const KIND_ORDER: Record<LedgerProblemKind, number> = {
  'leaf-missing': 0,
  'record-missing': 0,
  'record-mismatch': 0,
  'body-mismatch': 0,
  'checkpoint-mismatch': 1,
  'checkpoint-invalid': 2,
  'record-unlogged': 3,
  'escalation-mismatch': 0,
};

/**
 * Verifies the org's whole log: recomputes every leaf from the stored intercept rows, compares
 * it with the stored leaf, checks kept bodies, rebuilds the tree, checks every checkpoint's
 * signature and root and the consistency between successive checkpoints, counts records (and
 * policy decisions) without a leaf, and checks escalation rows against their decision leaves. Returns a typed report naming the first broken record; throws only when the
 * store fails.
 */
export async function verifyLog(
  q: Queryable,
  orgId: string,
  options: VerifyLogOptions,
): Promise<VerifyLogResult> {
  checkOrgId(orgId, 'orgId');
  if (options === null || typeof options !== 'object' || typeof options.trustedKeys !== 'object') {
    throw new ProvablyLedgerArgumentError('options', 'expected { trustedKeys }');
  }
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new ProvablyLedgerArgumentError('pageSize', `expected a positive integer, got ${pageSize}`);
  }
  const checkBodies = options.checkBodies !== false;
  const progress = options.onProgress ?? (() => {});
  const problems: LedgerProblem[] = [];
  /** checkpoint-mismatch problems → the tree size of their checkpoint (end of the damaged range). */
  const mismatchEnd = new Map<LedgerProblem, number>();
  type NewProblem = Omit<LedgerProblem, 'recordId' | 'checkpointId' | 'changed'> & Partial<LedgerProblem>;
  const add = (p: NewProblem): LedgerProblem => {
    const problem: LedgerProblem = { recordId: null, checkpointId: null, changed: 'unknown', ...p };
    problems.push(problem);
    return problem;
  };
  const addMismatch = (end: number, p: NewProblem): void => {
    mismatchEnd.set(add(p), end);
  };

  const total = Number(
    (
      await q.query<{ n: number }>('SELECT count(*) AS n FROM provably_ledger_leaves WHERE org_id = $1', [
        orgId,
      ])
    ).rows[0]?.n ?? 0,
  );
  // Two trees: the leaf hashes as stored, and as recomputed from the records. Where they
  // differ, the signed checkpoints tell which side was changed.
  const stored = new MerkleTree();
  const recomputed = new MerkleTree();
  const mismatchAt: { index: number; problem: LedgerProblem }[] = [];
  const ZERO = new Uint8Array(32);
  let expected = 0;
  let start = 0;
  for (;;) {
    const rows = await joinedRows(q, orgId, start, pageSize, checkBodies);
    for (const row of rows) {
      const index = Number(row.l_index);
      const recordId = String(row.l_record);
      if (index !== expected) {
        add({
          kind: 'leaf-missing',
          leafIndex: expected,
          changed: 'leaf',
          detail:
            index > expected
              ? `no leaf row at index ${expected} (the next one is ${index})`
              : `leaf row out of order at index ${index}`,
        });
        expected = index;
      }
      const storedHash = row.l_hash as Uint8Array;
      stored.append(storedHash.byteLength === 32 ? storedHash : ZERO);
      const problem = rowProblem(row, orgId, checkBodies);
      recomputed.append(problem.hash ?? ZERO);
      if (problem.kind !== 'ok') {
        const p: LedgerProblem = {
          kind: problem.kind,
          leafIndex: index,
          recordId,
          checkpointId: null,
          changed: problem.kind === 'body-mismatch' ? 'record' : 'unknown',
          detail: problem.detail,
        };
        problems.push(p);
        if (problem.kind !== 'body-mismatch') mismatchAt.push({ index, problem: p });
      }
      expected = index + 1;
    }
    progress({ phase: 'leaves', done: stored.size, total });
    if (rows.length < pageSize) break;
    start = Number(rows.at(-1)?.l_index) + 1;
  }

  const checkpoints = await listCheckpoints(q, orgId);
  let verified = 0;
  let latestVerified: StoredCheckpoint | null = null;
  let lastGood: StoredCheckpoint | null = null;
  const validCheckpoints: StoredCheckpoint[] = [];
  for (const [i, cp] of checkpoints.entries()) {
    const signed = verifyCheckpoint(cp, options.trustedKeys);
    if (!signed.ok) {
      add({
        kind: 'checkpoint-invalid',
        leafIndex: null,
        checkpointId: cp.id,
        changed: 'checkpoint',
        detail: `checkpoint of tree size ${cp.tree_size}: ${signed.reason}: ${signed.detail}`,
      });
    } else if (cp.tree_size > recomputed.size) {
      validCheckpoints.push(cp);
      add({
        kind: 'leaf-missing',
        leafIndex: recomputed.size,
        checkpointId: cp.id,
        changed: 'leaf',
        detail: `signed checkpoint covers ${cp.tree_size} leaves but the log has ${recomputed.size}`,
      });
    } else {
      validCheckpoints.push(cp);
      if (hex(recomputed.root(cp.tree_size)) !== cp.root_hash) {
        addMismatch(cp.tree_size, {
          kind: 'checkpoint-mismatch',
          leafIndex: lastGood?.tree_size ?? 0,
          checkpointId: cp.id,
          detail:
            `the records' root at tree size ${cp.tree_size} is not the signed root: a record or leaf ` +
            `from index ${lastGood?.tree_size ?? 0} to ${cp.tree_size - 1} was changed`,
        });
      } else {
        const prev = lastGood;
        if (prev && prev.tree_size > 0) {
          const consistent = verifyConsistency({
            size1: prev.tree_size,
            size2: cp.tree_size,
            root1: Buffer.from(prev.root_hash, 'hex'),
            root2: Buffer.from(cp.root_hash, 'hex'),
            proof: recomputed.consistencyPath(prev.tree_size, cp.tree_size),
          });
          if (!consistent.ok) {
            addMismatch(cp.tree_size, {
              kind: 'checkpoint-mismatch',
              leafIndex: prev.tree_size,
              checkpointId: cp.id,
              detail: `not consistent with checkpoint ${prev.id}: ${consistent.detail}`,
            });
          }
        }
        verified += 1;
        lastGood = cp;
        if (!latestVerified || cp.tree_size >= latestVerified.tree_size) latestVerified = cp;
      }
    }
    progress({ phase: 'checkpoints', done: i + 1, total: checkpoints.length });
  }

  // Which side of a mismatch changed: the first validly signed checkpoint covering the index
  // tells, if either tree still has its root there.
  for (const { index, problem } of mismatchAt) {
    const cover = validCheckpoints.find((cp) => cp.tree_size > index && cp.tree_size <= stored.size);
    if (!cover) {
      problem.detail += '; not covered by a checkpoint yet, so the changed row cannot be told';
      continue;
    }
    if (hex(stored.root(cover.tree_size)) === cover.root_hash) {
      problem.changed = 'record';
      problem.detail +=
        `; the stored leaf hash is the one signed in checkpoint ${cover.id}, so the record row ` +
        "(or the leaf's record_id) was changed";
    } else if (hex(recomputed.root(cover.tree_size)) === cover.root_hash) {
      problem.changed = 'leaf';
      problem.detail += `; the record still matches signed checkpoint ${cover.id}, so the leaf row was changed`;
    }
  }

  // Intercepts and policy decisions alike: every row of either table must be a leaf.
  const unlogged = await q.query<{ n: number; sample: string | null }>(
    `SELECT count(*) AS n, min(r.id::text) AS sample FROM (
       SELECT i.id FROM provably_intercepts i WHERE i.org_id = $1 AND NOT EXISTS (
         SELECT 1 FROM provably_ledger_leaves l WHERE l.record_id = i.id AND l.org_id = i.org_id)
       UNION ALL
       SELECT d.id FROM provably_decisions d WHERE d.org_id = $1 AND NOT EXISTS (
         SELECT 1 FROM provably_ledger_leaves l WHERE l.record_id = d.id AND l.org_id = d.org_id)) r`,
    [orgId],
  );
  const unloggedRecords = Number(unlogged.rows[0]?.n ?? 0);
  if (unloggedRecords > 0 && options.allowUnlogged !== true) {
    add({
      kind: 'record-unlogged',
      leafIndex: null,
      recordId: unlogged.rows[0]?.sample ?? null,
      changed: 'unknown',
      detail: `${unloggedRecords} record(s) of the org have no leaf (never logged, or the leaf was removed)`,
    });
  }

  for (const e of await escalationProblems(q, orgId)) {
    add({
      kind: 'escalation-mismatch',
      leafIndex: e.leafIndex,
      recordId: e.id,
      changed: 'record',
      detail: e.detail,
    });
  }

  // Order: by index; a checkpoint mismatch only bounds where the damage is, so when a row
  // problem inside its range explains it, it goes after every indexed problem.
  const firstRowIndex = Math.min(
    ...problems.filter((p) => KIND_ORDER[p.kind] === 0).map((p) => p.leafIndex ?? Number.MAX_SAFE_INTEGER),
  );
  const sortKey = (p: LedgerProblem): number => {
    if (p.leafIndex === null) return Number.MAX_SAFE_INTEGER;
    if (p.kind === 'checkpoint-mismatch' && firstRowIndex < (mismatchEnd.get(p) ?? 0)) {
      return Number.MAX_SAFE_INTEGER - 1;
    }
    return p.leafIndex;
  };
  problems.sort((a, b) => sortKey(a) - sortKey(b) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  const coveredSize = latestVerified?.tree_size ?? 0;
  const uncovered = stored.size - coveredSize;
  let oldestUncoveredAt: string | null = null;
  let oldestUncoveredAgeMs: number | null = null;
  if (uncovered > 0) {
    const oldest = await q.query<{ at: Date | string; age_ms: string | number }>(
      `SELECT created_at AS at, (extract(epoch FROM (now() - created_at)) * 1000)::bigint AS age_ms
         FROM provably_ledger_leaves WHERE org_id = $1 AND leaf_index >= $2
        ORDER BY leaf_index LIMIT 1`,
      [orgId, coveredSize],
    );
    const row = oldest.rows[0];
    if (row) {
      oldestUncoveredAt = new Date(row.at).toISOString();
      oldestUncoveredAgeMs = Math.max(0, Number(row.age_ms));
    }
  }
  const ok = problems.length === 0;
  return {
    ok,
    status: !ok ? 'broken' : uncovered > 0 ? 'unsigned' : 'verified',
    orgId,
    treeSize: stored.size,
    rootHash: hex(recomputed.root()),
    checkpoints: checkpoints.length,
    verifiedCheckpoints: verified,
    latestVerified,
    uncheckpointedLeaves: uncovered,
    oldestUncoveredAt,
    oldestUncoveredAgeMs,
    unloggedRecords,
    firstBroken: problems[0] ?? null,
    problems: problems.slice(0, MAX_PROBLEMS),
    problemCount: problems.length,
  };
}
