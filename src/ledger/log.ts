/**
 * The per-org Merkle log in the store: appending leaves, issuing signed checkpoints, serving
 * inclusion and consistency proofs, and verifying the whole log against the records.
 *
 * Concurrency: appendLeaves and issueCheckpoint take a transaction-scoped advisory lock per org
 * (pg_advisory_xact_lock(LOCK_CLASS, hashtext(org_id)); PGlite has it too) before reading the
 * log's size, so writers in any number of processes take turns per org and indexes stay
 * gap-free. The lock is released at commit or rollback; under READ COMMITTED (the default) the
 * next holder's statements see the previous holder's leaves. The primary key (org_id,
 * leaf_index) refuses a duplicate index in every case, so misuse fails loudly, never silently.
 * Callers that append for several orgs in one transaction must lock orgs in one order:
 * appendLeavesByOrg does (sorted org ids).
 *
 * Cost: proofs and checkpoints read the org's leaf hashes (32 bytes each) and hash O(n) nodes;
 * verifyLog reads every record once (without bodies; body digests are computed by the
 * database) and keeps two trees of 64 bytes per leaf.
 */
import { checkOrgId } from '../config/index.js';
import { INTERCEPT_COLUMNS, type InterceptRecord, recordIdOf, toRecord } from '../record/read.js';
import type { Queryable, Store } from '../store/types.js';
import { type Checkpoint, signCheckpoint, verifyCheckpoint } from './checkpoint.js';
import {
  ProvablyLeafContentError,
  ProvablyLedgerArgumentError,
  ProvablyLedgerIntegrityError,
  ProvablyLedgerRecordError,
} from './errors.js';
import type { Signer, TrustedKeys } from './keys.js';
import { recordLeafHash } from './leaf.js';
import { bytesEqual, MerkleTree, verifyConsistency } from './merkle.js';
import type { ConsistencyProof, InclusionProof } from './proof.js';

/** First key of the two-key advisory lock: "pvlg". The second is hashtext(org_id). */
export const LEDGER_LOCK_CLASS = 0x70766c67;

/** The content columns leafContent needs (no body), plus created_at for toRecord. */
const RECORD_COLUMNS = INTERCEPT_COLUMNS;
const SUB_MS = `(i.started_at <> date_trunc('milliseconds', i.started_at)) AS started_sub_ms`;
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

type RecordRef = string | { readonly id: string };

/**
 * Appends the records (ids, or objects with an id) to the org's log, in the order given, at the
 * next free indexes. Each leaf is built from the row as stored, read back in this transaction,
 * never from the caller's copy, so it is exactly what verifyLog recomputes.
 *
 * `q` may be a Store (a transaction is opened) or the handle of the caller's own transaction —
 * the recorder's batch transaction, right after its INSERT — so the rows and their leaves
 * commit together or not at all. Throws ProvablyLedgerRecordError when a record does not exist,
 * belongs to another org, is already logged or is given twice; ProvablyLeafContentError when a
 * row cannot be canonicalized. Nothing is appended then.
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
    await lockOrg(tx, orgId);
    const found = await tx.query<Record<string, unknown>>(
      // The org's next leaf index rides along (read after the lock): one round trip less per batch.
      `SELECT ${RECORD_COLUMNS.map((c) => `i.${c}`).join(', ')}, ${SUB_MS}, l.leaf_index AS logged_index,
         (SELECT COALESCE(max(leaf_index) + 1, 0) FROM provably_ledger_leaves WHERE org_id = $2) AS next_index
       FROM provably_intercepts i LEFT JOIN provably_ledger_leaves l ON l.record_id = i.id
       WHERE i.id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(ids), orgId],
    );
    const byId = new Map(found.rows.map((row) => [String(row.id).toLowerCase(), row]));
    const first = found.rows[0];
    const next = first ? Number(first.next_index) : await treeSizeOf(tx, orgId);
    const leaves: AppendedLeaf[] = [];
    ids.forEach((id, i) => {
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
      const leafIndex = next + i;
      leaves.push({ recordId: id, leafIndex, leafHash: hex(recordLeafHash(toRecord(row), leafIndex)) });
    });
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
 * appendLeaves for records of several orgs in one transaction (the recorder's batches): one
 * append per org, orgs locked in sorted order so concurrent batches cannot deadlock.
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

export interface IssueCheckpointOptions {
  /** The checkpoint's time (default: now). */
  now?: () => Date;
}

/**
 * Signs the org's current tree and stores the checkpoint. Refuses (ProvablyLedgerIntegrityError)
 * when the stored log is no longer sound: a gap in the leaf indexes, a tree that does not extend
 * the latest checkpoint, a checkpoint of this signer's key whose signature fails, or a record
 * added since the latest checkpoint that no longer matches its leaf. Records covered by earlier
 * checkpoints are not re-read here: verifyLog does that.
 */
export async function issueCheckpoint(
  q: Queryable,
  orgId: string,
  signer: Signer,
  options: IssueCheckpointOptions = {},
): Promise<StoredCheckpoint> {
  checkOrgId(orgId, 'orgId');
  return inTransaction(q, async (tx) => {
    await lockOrg(tx, orgId);
    const hashes = await leafHashes(tx, orgId);
    const tree = new MerkleTree(
      hashes.map((h, i) => {
        if (h.leafIndex !== i) {
          throw new ProvablyLedgerIntegrityError(orgId, `no leaf at index ${i} (next is ${h.leafIndex})`);
        }
        return h.hash;
      }),
    );
    const last = (await listCheckpoints(tx, orgId)).at(-1);
    const from = last?.tree_size ?? 0;
    if (last) {
      if (last.tree_size > tree.size) {
        throw new ProvablyLedgerIntegrityError(
          orgId,
          `checkpoint ${last.id} covers ${last.tree_size} leaves but the log has ${tree.size}`,
        );
      }
      if (hex(tree.root(last.tree_size)) !== last.root_hash) {
        throw new ProvablyLedgerIntegrityError(orgId, `the leaves no longer match checkpoint ${last.id}`);
      }
      if (last.key_id === signer.keyId) {
        const check = verifyCheckpoint(last, { [signer.keyId]: signer.publicKeyPem });
        if (!check.ok) {
          throw new ProvablyLedgerIntegrityError(orgId, `checkpoint ${last.id} is invalid: ${check.detail}`);
        }
      }
    }
    if (tree.size > from) {
      const rows = await joinedRows(tx, orgId, from, tree.size - from, false);
      for (const row of rows) {
        const problem = rowProblem(row, orgId, false);
        if (problem.kind !== 'ok') {
          throw new ProvablyLedgerIntegrityError(orgId, `leaf ${String(row.l_index)}: ${problem.detail}`);
        }
      }
    }
    const checkpoint = signCheckpoint(
      {
        org_id: orgId,
        tree_size: tree.size,
        root_hash: tree.root(),
        timestamp: (options.now ?? (() => new Date()))(),
      },
      signer,
    );
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO provably_checkpoints (org_id, tree_size, root_hash, "timestamp", key_id, signature)
       VALUES ($1, $2, decode($3, 'hex'), $4::timestamptz, $5, decode($6, 'base64')) RETURNING id`,
      [
        checkpoint.org_id,
        checkpoint.tree_size,
        checkpoint.root_hash,
        checkpoint.timestamp,
        checkpoint.key_id,
        checkpoint.signature,
      ],
    );
    return { id: String(inserted.rows[0]?.id), ...checkpoint };
  });
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
  checkOrgId(orgId, 'orgId');
  const id = recordIdOf(recordId);
  const found = await q.query<{ leaf_index: number }>(
    'SELECT leaf_index FROM provably_ledger_leaves WHERE org_id = $1 AND record_id = $2',
    [orgId, id],
  );
  const leafIndex = found.rows[0]?.leaf_index;
  if (leafIndex === undefined)
    throw new ProvablyLedgerRecordError('not-logged', id, `no leaf in org ${orgId}`);
  let size = treeSize;
  if (size === undefined) {
    const latest = await latestCheckpoint(q, orgId);
    if (!latest) throw new ProvablyLedgerRecordError('not-logged', id, 'no checkpoint covers it yet');
    size = latest.tree_size;
  }
  checkTreeSize('treeSize', size);
  if (leafIndex >= size) {
    throw new ProvablyLedgerRecordError(
      'not-logged',
      id,
      `its leaf ${leafIndex} is not within tree size ${size}`,
    );
  }
  const tree = await treeOf(q, orgId, size);
  return {
    orgId,
    recordId: id,
    leafIndex,
    treeSize: size,
    leafHash: hex(tree.leaf(leafIndex)),
    rootHash: hex(tree.root()),
    proof: tree.inclusionPath(leafIndex).map(hex),
  };
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

// ---- verifyLog ---------------------------------------------------------------------------

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
  | 'record-unlogged';

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

export interface VerifyLogResult {
  ok: boolean;
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
};

/**
 * Verifies the org's whole log: recomputes every leaf from the stored intercept rows, compares
 * it with the stored leaf, checks kept bodies, rebuilds the tree, checks every checkpoint's
 * signature and root and the consistency between successive checkpoints, and counts records
 * without a leaf. Returns a typed report naming the first broken record; throws only when the
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

  const unlogged = await q.query<{ n: number; sample: string | null }>(
    `SELECT count(*) AS n, min(i.id::text) AS sample FROM provably_intercepts i
     WHERE i.org_id = $1 AND NOT EXISTS (
       SELECT 1 FROM provably_ledger_leaves l WHERE l.record_id = i.id AND l.org_id = i.org_id)`,
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
  return {
    ok: problems.length === 0,
    orgId,
    treeSize: stored.size,
    rootHash: hex(recomputed.root()),
    checkpoints: checkpoints.length,
    verifiedCheckpoints: verified,
    latestVerified,
    uncheckpointedLeaves: stored.size - (latestVerified?.tree_size ?? 0),
    unloggedRecords,
    firstBroken: problems[0] ?? null,
    problems: problems.slice(0, MAX_PROBLEMS),
    problemCount: problems.length,
  };
}

// ---- helpers -----------------------------------------------------------------------------

/** One leaf row joined with its record (record columns null when the record is gone). */
async function joinedRows(
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
            ${RECORD_COLUMNS.map((c) => `i.${c}`).join(', ')}, ${SUB_MS}, ${body}
     FROM provably_ledger_leaves l LEFT JOIN provably_intercepts i ON i.id = l.record_id
     WHERE l.org_id = $1 AND l.leaf_index >= $2
     ORDER BY l.leaf_index LIMIT $3`,
    [orgId, fromIndex, limit],
  );
  return result.rows;
}

type RowCheck =
  | { kind: 'ok'; hash: Uint8Array; detail: '' }
  | {
      kind: 'record-missing' | 'record-mismatch' | 'body-mismatch';
      hash: Uint8Array | null;
      detail: string;
    };

/** Checks one joined row: the record exists, is the org's, rebuilds the stored leaf, has its body. */
function rowProblem(row: Record<string, unknown>, orgId: string, checkBodies: boolean): RowCheck {
  const index = Number(row.l_index);
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
    const body = bodyProblem(row, record);
    if (body) return { kind: 'body-mismatch', hash, detail: `record ${record.id}: ${body}` };
  }
  return { kind: 'ok', hash, detail: '' };
}

/**
 * The kept body against body_sha256 / body_size. A body kept whole must hash to body_sha256 and
 * have body_size bytes; a truncated body's prefix can only be checked for its length.
 */
function bodyProblem(row: Record<string, unknown>, r: InterceptRecord): string | null {
  const keptSize = row.kept_size === null || row.kept_size === undefined ? null : Number(row.kept_size);
  if (keptSize === null) {
    return r.bodySha256 === null
      ? null
      : `the response body is gone (body_sha256 records ${r.bodySize} bytes)`;
  }
  if (r.bodySha256 === null) return 'a response body is stored but body_sha256 is null';
  if (r.bodyTruncated) {
    return keptSize < r.bodySize
      ? null
      : `body_truncated is set but ${keptSize} of ${r.bodySize} bytes are stored`;
  }
  if (keptSize !== r.bodySize) return `body_size is ${r.bodySize} but ${keptSize} bytes are stored`;
  if (row.kept_sha256 !== r.bodySha256) return 'the stored response body does not hash to body_sha256';
  return null;
}

async function leafHashes(
  q: Queryable,
  orgId: string,
  limit?: number,
): Promise<{ leafIndex: number; hash: Uint8Array }[]> {
  const params: unknown[] = [orgId];
  let sql = 'SELECT leaf_index, leaf_hash FROM provably_ledger_leaves WHERE org_id = $1 ORDER BY leaf_index';
  if (limit !== undefined) {
    params.push(limit);
    sql += ' LIMIT $2';
  }
  const result = await q.query<{ leaf_index: number; leaf_hash: Uint8Array }>(sql, params);
  return result.rows.map((r) => ({ leafIndex: Number(r.leaf_index), hash: r.leaf_hash }));
}

/** The tree of the org's first `size` leaves; refuses a size beyond the log or a gap. */
async function treeOf(q: Queryable, orgId: string, size: number): Promise<MerkleTree> {
  const rows = await leafHashes(q, orgId, size);
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

async function treeSizeOf(q: Queryable, orgId: string): Promise<number> {
  const result = await q.query<{ n: number }>(
    'SELECT COALESCE(max(leaf_index) + 1, 0) AS n FROM provably_ledger_leaves WHERE org_id = $1',
    [orgId],
  );
  return Number(result.rows[0]?.n ?? 0);
}

async function lockOrg(tx: Queryable, orgId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', [LEDGER_LOCK_CLASS, orgId]);
}

/** Runs `fn` in a transaction: a new one on a Store (or Session), else the caller's. */
function inTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const store = q as Partial<Store>;
  return typeof store.transaction === 'function' ? store.transaction(fn) : fn(q);
}

function recordIds(records: readonly RecordRef[]): string[] {
  if (!Array.isArray(records)) throw new ProvablyLedgerArgumentError('records', 'expected an array');
  const ids = records.map((r) => recordIdOf(typeof r === 'string' ? r : r?.id));
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new ProvablyLedgerRecordError('duplicate', id, 'given more than once');
    seen.add(id);
  }
  return ids;
}

function checkTreeSize(name: string, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ProvablyLedgerArgumentError(name, `expected a safe integer ≥ 0, got ${String(size)}`);
  }
}

function toCheckpoint(row: Record<string, unknown>): StoredCheckpoint {
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

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
