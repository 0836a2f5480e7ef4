/**
 * Errors of the ledger (the per-org Merkle log over provably_intercepts). They extend
 * ProvablyError, so callers branch on the stable `code` (and `reason` where there is one).
 *
 * Verification never throws these for bad evidence: verifyInclusion, verifyConsistency,
 * verifyCheckpoint, verifyRecordProof and verifyLog return typed results. These errors are for
 * misuse (impossible sizes asked of the log itself), records that cannot be logged, keys that
 * cannot be loaded, and a log the signer refuses to sign because it is already broken.
 */
import { ProvablyError } from '../errors/index.js';

/** An argument the log itself cannot serve: an index or tree size out of range, a bad id. */
export class ProvablyLedgerArgumentError extends ProvablyError {
  readonly code = 'PROVABLY_LEDGER_INVALID_ARGUMENT';
  readonly argument: string;
  constructor(argument: string, detail: string) {
    super(`ledger: ${argument}: ${detail}`);
    this.argument = argument;
  }
}

export type LedgerRecordFailure =
  /** No intercept row with this id (in this org). */
  | 'not-found'
  /** The row belongs to another org. */
  | 'org-mismatch'
  /** The record already has a leaf. */
  | 'already-logged'
  /** The same id was given twice in one append. */
  | 'duplicate'
  /** The record has no leaf (yet), or not within the requested tree size. */
  | 'not-logged';

/** A record that cannot be appended, or has no leaf to prove. */
export class ProvablyLedgerRecordError extends ProvablyError {
  readonly code = 'PROVABLY_LEDGER_RECORD';
  readonly reason: LedgerRecordFailure;
  readonly recordId: string;
  constructor(reason: LedgerRecordFailure, recordId: string, detail: string) {
    super(`ledger: record ${recordId} (${reason}): ${detail}`);
    this.reason = reason;
    this.recordId = recordId;
  }
}

/**
 * A record whose content has no canonical JSON form (a non-finite number, a lone surrogate, an
 * invalid date). The recorder never writes such values; a row holding one was altered.
 */
export class ProvablyLeafContentError extends ProvablyError {
  readonly code = 'PROVABLY_LEDGER_LEAF_CONTENT';
  readonly field: string;
  constructor(field: string, detail: string, options?: { cause?: unknown }) {
    super(`ledger: cannot build the leaf: ${field}: ${detail}`, options);
    this.field = field;
  }
}

/**
 * The stored log is not what it must be (a gap in the leaf indexes, leaves that no longer
 * extend the last checkpoint, records that no longer match their leaves): issueCheckpoint
 * refuses to sign it. Run verifyLog for the full report.
 */
export class ProvablyLedgerIntegrityError extends ProvablyError {
  readonly code = 'PROVABLY_LEDGER_INTEGRITY';
  readonly orgId: string;
  constructor(orgId: string, detail: string) {
    super(`ledger: the log of org ${JSON.stringify(orgId)} is inconsistent; refusing to sign: ${detail}`);
    this.orgId = orgId;
  }
}

export type SigningKeyFailure =
  /** The key (text or file) is not an Ed25519 private key in PEM. */
  | 'invalid'
  /** No key is configured or stored, and the caller asked not to create one. */
  | 'missing'
  /** The key file cannot be read. */
  | 'unreadable'
  /** A new key could not be written to the data dir. */
  | 'unwritable';

/** The checkpoint signing key cannot be loaded or created. Never carries key material. */
export class ProvablySigningKeyError extends ProvablyError {
  readonly code = 'PROVABLY_SIGNING_KEY';
  readonly reason: SigningKeyFailure;
  /** Where the key came from: `PROVABLY_SIGNING_KEY`, or the file path. */
  readonly source: string;
  constructor(reason: SigningKeyFailure, source: string, detail: string, options?: { cause?: unknown }) {
    super(`signing key (${source}) ${reason}: ${detail}`, options);
    this.reason = reason;
    this.source = source;
  }
}
