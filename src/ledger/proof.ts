/**
 * Offline verification: what someone holding only a trusted public key needs to check that a
 * record is in an org's log (an inclusion proof against a signed checkpoint), and that a later
 * checkpoint extends an earlier one (a consistency proof between two signed checkpoints).
 * Nothing here touches the store; every result is typed, nothing throws on bad evidence.
 *
 * Proofs travel as JSON: hashes in lower-case hex, proof nodes in RFC 9162 order.
 */
import { type Checkpoint, type CheckpointFailure, verifyCheckpoint } from './checkpoint.js';
import type { TrustedKeys } from './keys.js';
import { type LeafRecord, recordLeafHash } from './leaf.js';
import { bytesEqual, type ProofFailure, verifyConsistency, verifyInclusion } from './merkle.js';

/** A record's inclusion proof in the tree of `treeSize` leaves. */
export interface InclusionProof {
  orgId: string;
  recordId: string;
  leafIndex: number;
  treeSize: number;
  /** Hex leaf hash of the record at leafIndex. */
  leafHash: string;
  /** Hex MTH of the tree of treeSize leaves. */
  rootHash: string;
  /** Hex proof nodes (RFC 9162 PATH). */
  proof: string[];
}

/** The consistency proof between an org's trees of size1 and size2 leaves. */
export interface ConsistencyProof {
  orgId: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  /** Hex proof nodes (RFC 9162 PROOF). */
  proof: string[];
}

export type RecordProofFailure =
  | ProofFailure
  | CheckpointFailure
  /** The proof is for another org or tree size than the checkpoint, or another root. */
  | 'checkpoint-mismatch'
  /** The record given does not hash to the proof's leaf hash (or is another record). */
  | 'leaf-mismatch';

export type RecordProofCheck = { ok: true } | { ok: false; reason: RecordProofFailure; detail: string };

export interface VerifyRecordProofInput {
  proof: InclusionProof;
  checkpoint: Checkpoint;
  trustedKeys: TrustedKeys;
  /** The record itself: when given, its leaf hash is recomputed and must match the proof's. */
  record?: LeafRecord;
}

/**
 * Checks that the record (or, without one, the proof's leaf hash) is leaf `leafIndex` of the
 * tree the checkpoint signs: the checkpoint's signature under a trusted key, the proof's org,
 * size and root against the checkpoint's, the record's leaf hash, then the RFC 9162 path.
 */
export function verifyRecordProof(input: VerifyRecordProofInput): RecordProofCheck {
  if (input === null || typeof input !== 'object') return fail('malformed', 'expected an object');
  const signed = verifyCheckpoint(input.checkpoint, input.trustedKeys);
  if (!signed.ok) return signed;
  const cp = signed.checkpoint;
  const p = input.proof;
  if (p === null || typeof p !== 'object') return fail('malformed', 'expected an inclusion proof object');
  if (p.orgId !== cp.org_id) return fail('checkpoint-mismatch', 'the proof is for another org');
  if (p.treeSize !== cp.tree_size) {
    return fail(
      'checkpoint-mismatch',
      `the proof is for tree size ${p.treeSize}, the checkpoint ${cp.tree_size}`,
    );
  }
  if (p.rootHash !== cp.root_hash) return fail('checkpoint-mismatch', 'the proof names another root');
  const leaf = hexHash(p.leafHash);
  const nodes = Array.isArray(p.proof) ? p.proof.map(hexHash) : null;
  if (leaf === null || nodes === null || nodes.some((n) => n === null)) {
    return fail('malformed', 'leafHash and proof nodes must be 64 lower-case hex characters');
  }
  if (input.record !== undefined) {
    const r = input.record;
    if (r?.id !== p.recordId || r?.orgId !== p.orgId) {
      return fail('leaf-mismatch', 'the record is not the one the proof is for');
    }
    let recomputed: Uint8Array;
    try {
      recomputed = recordLeafHash(r, p.leafIndex);
    } catch (err) {
      return fail('leaf-mismatch', (err as Error).message);
    }
    if (!bytesEqual(recomputed, leaf))
      return fail('leaf-mismatch', "the record's content does not match the leaf");
  }
  return verifyInclusion({
    leafIndex: p.leafIndex,
    treeSize: p.treeSize,
    leafHash: leaf,
    proof: nodes as Uint8Array[],
    rootHash: hexHash(cp.root_hash) as Uint8Array,
  });
}

export interface VerifyCheckpointConsistencyInput {
  older: Checkpoint;
  newer: Checkpoint;
  proof: ConsistencyProof;
  trustedKeys: TrustedKeys;
}

/** Checks both checkpoints' signatures and that the newer tree extends the older one. */
export function verifyCheckpointConsistency(input: VerifyCheckpointConsistencyInput): RecordProofCheck {
  if (input === null || typeof input !== 'object') return fail('malformed', 'expected an object');
  const older = verifyCheckpoint(input.older, input.trustedKeys);
  if (!older.ok) return { ...older, detail: `older checkpoint: ${older.detail}` };
  const newer = verifyCheckpoint(input.newer, input.trustedKeys);
  if (!newer.ok) return { ...newer, detail: `newer checkpoint: ${newer.detail}` };
  const a = older.checkpoint;
  const b = newer.checkpoint;
  const p = input.proof;
  if (p === null || typeof p !== 'object') return fail('malformed', 'expected a consistency proof object');
  if (a.org_id !== b.org_id || p.orgId !== a.org_id) {
    return fail('checkpoint-mismatch', 'the checkpoints and the proof are not all of one org');
  }
  if (p.size1 !== a.tree_size || p.size2 !== b.tree_size) {
    return fail('checkpoint-mismatch', 'the proof is for other tree sizes than the checkpoints');
  }
  if (p.root1 !== a.root_hash || p.root2 !== b.root_hash) {
    return fail('checkpoint-mismatch', 'the proof names other roots than the checkpoints');
  }
  if (a.tree_size === 0) return { ok: true }; // every tree extends the empty tree
  const nodes = Array.isArray(p.proof) ? p.proof.map(hexHash) : null;
  if (nodes === null || nodes.some((n) => n === null)) {
    return fail('malformed', 'proof nodes must be 64 lower-case hex characters');
  }
  return verifyConsistency({
    size1: a.tree_size,
    size2: b.tree_size,
    root1: hexHash(a.root_hash) as Uint8Array,
    root2: hexHash(b.root_hash) as Uint8Array,
    proof: nodes as Uint8Array[],
  });
}

/** 32 bytes from 64 lower-case hex characters, else null. */
export function hexHash(v: unknown): Uint8Array | null {
  if (typeof v !== 'string' || v.length !== 64) return null;
  // A character loop, not a regular expression: proofs carry tens of nodes per claim and this
  // check showed up in evaluation profiles.
  for (let i = 0; i < 64; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return null;
  }
  const bytes = Buffer.from(v, 'hex');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fail(
  reason: RecordProofFailure,
  detail: string,
): { ok: false; reason: RecordProofFailure; detail: string } {
  return { ok: false, reason, detail };
}
