/**
 * The ledger: each org's intercept records in an append-only Merkle log (RFC 6962 / RFC 9162)
 * with Ed25519-signed checkpoints, so anyone holding the public key can check a record offline.
 *
 *   await store.transaction(async (tx) => {            // the recorder's batch transaction
 *     await tx.query('INSERT INTO provably_intercepts …');
 *     await appendLeaves(tx, orgId, ids);              // same transaction: rows and leaves commit together
 *   });
 *   const signer = loadSigner();                       // PROVABLY_SIGNING_KEY, else see signingKeyLocation()
 *   const checkpoint = await issueCheckpoint(store, orgId, signer);
 *   const proof = await inclusionProof(store, orgId, recordId);
 *   verifyRecordProof({ proof, checkpoint, trustedKeys: trustedKeysOf(signer), record });   // offline
 *   const report = await verifyLog(store, orgId, { trustedKeys });                        // whole log
 *
 * Formats: leaf.ts (leaf bytes), checkpoint.ts (signed text), keys.ts (key id).
 */

export { type AppendedLeaf, type AppendResult, appendLeaves, appendLeavesByOrg } from './append.js';
export { appendInStatement, appendRowsAndLeaves, type LedgerStatement, type RowsInsert } from './batch.js';
export {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  type CheckpointBody,
  type CheckpointCheck,
  type CheckpointFailure,
  checkpointMessage,
  signCheckpoint,
  verifyCheckpoint,
} from './checkpoint.js';
export {
  APPEND_DECISIONS_SQL,
  appendDecisions,
  appendedIndexes,
  decisionAppendParams,
} from './decision-append.js';
export {
  DECISION_LEAF_COLUMNS,
  type DecisionLeafRow,
  decisionLeafBytes,
  decisionLeafHash,
} from './decision-leaf.js';
export {
  type LedgerRecordFailure,
  ProvablyLeafContentError,
  ProvablyLedgerArgumentError,
  ProvablyLedgerIntegrityError,
  ProvablyLedgerRecordError,
  ProvablySigningKeyError,
  type SigningKeyFailure,
} from './errors.js';
export { CompactRange } from './frontier.js';
export {
  ensureCheckpoint,
  type IssueCheckpointOptions,
  issueCheckpoint,
  LEDGER_LOCK_CLASS,
} from './issue.js';
export {
  generateSigningKeyPem,
  keyIdOf,
  type LoadSignerOptions,
  loadSigner,
  type PublicKeyInfo,
  publicKeyInfo,
  rawPublicKey,
  SIGNING_KEY_FILE,
  type Signer,
  type SigningKeyLocation,
  signerFromPem,
  signingKeyLocation,
  type TrustedKeys,
  trustedKeysOf,
} from './keys.js';
export {
  INTERCEPT_LEAF_KIND,
  type LeafContent,
  type LeafContentV1,
  type LeafContentV2,
  type LeafPeerFields,
  type LeafRecord,
  leafBytes,
  leafContent,
  recordLeafHash,
} from './leaf.js';
export {
  bytesEqual,
  type ConsistencyProofInput,
  consistencyPath,
  emptyRoot,
  HASH_SIZE,
  type InclusionProofInput,
  inclusionPath,
  leafHash,
  MerkleTree,
  nodeHash,
  type ProofCheck,
  type ProofFailure,
  rootFromInclusionProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export { type SignOutcome, signUnsignedLogs, type UnsignedLog, unsignedLogs } from './pending.js';
export {
  type ConsistencyProof,
  hexHash,
  type InclusionProof,
  type RecordProofCheck,
  type RecordProofFailure,
  type VerifyCheckpointConsistencyInput,
  type VerifyRecordProofInput,
  verifyCheckpointConsistency,
  verifyRecordProof,
} from './proof.js';
export { consistencyProof, inclusionProof, inclusionProofs, type StoredLeaf, storedLeaf } from './proofs.js';
export { latestCheckpoint, listCheckpoints, type StoredCheckpoint } from './stored.js';
export {
  type LedgerProblem,
  type LedgerProblemKind,
  type VerifyLogOptions,
  type VerifyLogResult,
  type VerifyProgress,
  type VerifyStatus,
  verifyExitCode,
  verifyLog,
} from './verify-log.js';
