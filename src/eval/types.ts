/**
 * The evaluator's contracts: the proof verifier it is given (the ledger implements it), its
 * options, and its result.
 */
import type {
  HandoffProofBundle,
  HandoffRecordContent,
  Outcome,
  VerificationMode,
} from '../handoff/index.js';
import type { InterceptRecord } from '../record/index.js';
import type { Queryable, Store } from '../store/index.js';

/**
 * A proof verifier's answer for one bundle.
 * - `{ ok: true }`: the record content's leaf is included, at `leaf_index`, in the tree whose
 *   root the checkpoint states, and the checkpoint is signed by one of the trusted keys.
 * - `{ ok: false, reason }`: it is not (bad signature, unknown key, wrong path, index out of
 *   range, …): the claim is CAUGHT.
 * - `{ ok: false, reason, unavailable: true }`: the verifier could not decide (for example an
 *   algorithm it does not support): the claim is ERROR, not CAUGHT.
 */
export type ProofCheck = { ok: true } | { ok: false; reason: string; unavailable?: boolean };

/** An Ed25519 public key (32 raw bytes) and the id checkpoints name it by. */
export interface TrustedKey {
  keyId: string;
  publicKey: Uint8Array;
}

/**
 * The set of trusted keys, in whatever shape the verifier takes: an array (default:
 * TrustedKey[]), a Map or Set, or a plain object keyed by key id (src/ledger's TrustedKeys,
 * key id → public key PEM). The evaluator passes it to the verifier untouched; it only refuses
 * to run (ERROR) when the set is missing or empty.
 */
export type TrustedKeySet =
  | readonly unknown[]
  | ReadonlyMap<unknown, unknown>
  | ReadonlySet<unknown>
  | object;

/**
 * What the evaluator needs from the ledger (src/ledger implements it; the evaluator never
 * imports the ledger). `T` is the verifier's trusted-key set.
 */
export interface ProofVerifier<T extends TrustedKeySet = readonly TrustedKey[]> {
  /**
   * The exact bytes the ledger commits to for a record at a leaf index: the RFC 6962 leaf input,
   * so the leaf hash is SHA-256(0x00 ‖ leafBytes(record, leafIndex)). The evaluator uses it to
   * compare a bundle's record with the stored row byte for byte (both at the bundle's
   * leaf_index). Must be deterministic; may throw for content it cannot serialize (the claim is
   * then ERROR).
   */
  leafBytes(record: HandoffRecordContent, leafIndex: number): Uint8Array;
  /**
   * Verifies the whole chain for one bundle: leaf hash of `bundle.record` → `inclusion_proof`
   * at `leaf_index` → `checkpoint.root_hash` for `checkpoint.tree_size` → `checkpoint.signature`
   * over the checkpoint by the trusted key named `checkpoint.key_id`. The bundle has passed the
   * payload schema (hex fields are well-formed) but is otherwise untrusted. Should not throw;
   * a throw (or a malformed answer) makes the claim ERROR. Called once per distinct (record,
   * leaf_index, inclusion_proof, checkpoint) in an evaluation — claims whose bundles agree on
   * those share the verdict — so the verdict must depend on nothing else (not response_body).
   */
  verify(bundle: HandoffProofBundle, trustedKeys: T): ProofCheck | Promise<ProofCheck>;
  /**
   * Optional: the ledger's mapping of a stored row to leaf content, used for the store check.
   * Default: recordContentOf from src/handoff (started_at as toISOString()).
   */
  recordContent?(record: InterceptRecord): HandoffRecordContent;
  /**
   * Optional, with a store at hand: what is wrong with the store's own copy of the bundle's
   * proof (for the ledger: the record's stored leaf is not the bundle's index and hash), or
   * null. A string makes the claim CAUGHT ("proof: …"); a throw makes it ERROR.
   */
  checkStored?(store: Queryable, bundle: HandoffProofBundle): Promise<string | null>;
}

export interface EvaluateOptions<T extends TrustedKeySet = readonly TrustedKey[]> {
  /** Keys whose checkpoints are accepted (see TrustedKeySet). Empty or missing: ERROR. */
  trustedKeys: T;
  verifyProof: ProofVerifier<T>;
  /**
   * The receiver's own trusted-endpoint entries (normalized URLs / templates). When given, the
   * store's registry is not read for endpoints.
   */
  trustedEndpoints?: readonly string[];
  /**
   * The store the records were written to. With it, every record is compared with its stored
   * row, a bundle may leave the body out, and (without trustedEndpoints) the org's registry is
   * the receiver's endpoint snapshot.
   */
  store?: Store;
  /** Refuse to decode bodies to more than this many bytes (default: decodeBody's 256 MiB). */
  maxBodyBytes?: number;
}

/** Which check decided a claim's verdict. */
export type CheckName =
  /** The evaluator could not start on this claim (bad options or evaluator failure). */
  | 'evaluator'
  /** Leaf → inclusion proof → signed checkpoint, or the record against the stored row. */
  | 'proof'
  /** The record's or the checkpoint's org is not the payload's org. */
  | 'org'
  /** The claim's query_record_id is not the id of the record in its bundle. */
  | 'record'
  /** The record's action_name is not the claim's. */
  | 'action'
  /** The store could not be read. */
  | 'store'
  /** The record's URL against the trusted-endpoint snapshot(s). */
  | 'endpoint'
  /** The response body: present, untruncated, matching its digest, decodable. */
  | 'body'
  /** json_path: valid, selecting something, applied to a JSON body. */
  | 'path'
  /** The claim itself is unusable (range_min > range_max, …). */
  | 'claim'
  /** schema_type: expected_json_schema compiles and the value satisfies it. */
  | 'schema'
  /** The claimed value against the recorded value. */
  | 'value'
  /** range_threshold: the recorded value is a number within the bounds. */
  | 'range';

export interface ClaimEvaluation {
  /** Position in payload.claims. */
  index: number;
  action_name: string;
  query_record_id: string;
  mode: VerificationMode;
  /** The path used ("$" when the claim gives none). */
  json_path: string;
  verdict: Outcome;
  /** The check that decided the verdict; for PASS the comparison that passed. */
  check: CheckName;
  reason: string;
  /**
   * The claimed value as RFC 8785 JSON text, at most MAX_SHOWN_VALUE_CHARS characters (longer
   * values end with a "…[truncated …]" marker); null when the claim has none.
   */
  claimed_value: string | null;
  /**
   * What the record holds at json_path, shown the same way (a non-JSON body as a JSON string);
   * null when the evaluation stopped before reading the body.
   */
  indexed_value: string | null;
}

export type EvaluationErrorCode =
  /** The payload is not JSON or does not fit the schema. */
  | 'invalid-payload'
  /** The payload has no claims. */
  | 'no-claims'
  /** No trusted key was given. */
  | 'no-trusted-key'
  /** The options are unusable (no verifier, bad maxBodyBytes, …). */
  | 'invalid-options'
  /** One claim could not be evaluated (its per_claim entry has the details). */
  | 'claim-error'
  /** A bug in the evaluator (an exception it did not expect). */
  | 'internal';

export interface EvaluationError {
  code: EvaluationErrorCode;
  message: string;
  /** For claim-error. */
  claim_index?: number;
  /** For invalid-payload: JSON Pointer into the payload. */
  path?: string;
}

export interface EvaluationResult {
  outcome: Outcome;
  per_claim: ClaimEvaluation[];
  /** Why (parts of) the evaluation could not run; empty when every claim was decided. */
  errors: EvaluationError[];
}
