/**
 * The handoff wire format as TypeScript types. The JSON Schema in
 * schemas/handoff-payload.schema.json is the authority; these types describe what passes it.
 * Field names are snake_case on the wire (Python SDK parity). Optional fields may be absent or
 * null, which mean the same thing.
 */
import type { Checkpoint } from '../ledger/checkpoint.js';
import type { LeafContentV1, LeafContentV2 } from '../ledger/leaf.js';

/** How a claim is checked against the recorded response body. */
export type VerificationMode = 'verbatim' | 'field_extraction' | 'schema_type' | 'range_threshold';

export const VERIFICATION_MODES: readonly VerificationMode[] = Object.freeze([
  'verbatim',
  'field_extraction',
  'schema_type',
  'range_threshold',
]);

/**
 * The result of checking claims against the proven record:
 * - PASS: every claim matches and every proof verifies;
 * - CAUGHT: some claim disagrees with the record, or some proof does not verify;
 * - ERROR: the evaluator could not decide (never evidence of tampering, never PASS).
 */
export type Outcome = 'PASS' | 'CAUGHT' | 'ERROR';

export const OUTCOMES: readonly Outcome[] = Object.freeze(['PASS', 'CAUGHT', 'ERROR']);

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The stored header maps (lower-cased names; a repeated name holds an array). */
export type HandoffHeaders = Record<string, string | string[]>;

/** A leaf's content without its index, with the header maps typed as stored. */
type WireContent<Leaf> = Omit<Leaf, 'leaf_index' | 'request_headers' | 'response_headers'> & {
  request_headers: HandoffHeaders;
  response_headers: HandoffHeaders | null;
};

/** A version-1 record (written before peers were recorded): no leaf_version, no peer fields. */
export type HandoffRecordContentV1 = WireContent<LeafContentV1>;

/** A version-2 record: leaf_kind "intercept", leaf_version 2 and who answered (peer_* fields). */
export type HandoffRecordContentV2 = WireContent<LeafContentV2>;

/**
 * A record's canonical content: exactly the fields the ledger's leaf commits to (the columns of
 * provably_intercepts minus the body itself and created_at), snake_case — the leaf's content
 * without its index, in the format of the record's leaf version.
 */
export type HandoffRecordContent = HandoffRecordContentV1 | HandoffRecordContentV2;

/** A signed tree head of the org's ledger, as the ledger signs it. */
export type HandoffCheckpoint = Checkpoint;

/** Everything needed to verify one claim's record without trusting the sender. */
export interface HandoffProofBundle {
  record: HandoffRecordContent;
  /** Standard base64 (with padding) of the stored wire bytes; null when left out. */
  response_body: string | null;
  leaf_index: number;
  /** Audit path, leaf side first, lower-case hex. */
  inclusion_proof: string[];
  checkpoint: HandoffCheckpoint;
}

/** One claim as a model emits it (no proof; the record id may be filled in by the builder). */
export interface ModelClaim {
  action_name: string;
  claimed_value?: JsonValue;
  query_record_id?: string | null;
  verification_mode: VerificationMode;
  json_path?: string | null;
  expected_json_schema?: Record<string, unknown> | boolean | null;
  range_min?: number | null;
  range_max?: number | null;
}

/** One claim in a payload: the model's fields, the record id, and the proof bundle. */
export interface HandoffClaim extends ModelClaim {
  query_record_id: string;
  proof: HandoffProofBundle;
}

export interface HandoffPayload {
  provably_org_id: string;
  task: string;
  run_id: string;
  claims: HandoffClaim[];
  /** The sender's snapshot of trusted endpoint entries (normalized URLs / templates). */
  trusted_endpoints?: string[] | null;
  /** Sender-reported per-claim outcomes (informative; read only by aggregateOutcome). */
  verification_results?: Outcome[] | null;
}
