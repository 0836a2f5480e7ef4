/**
 * Typed errors of the handoff side. They extend ProvablyError, so callers branch on `code`.
 */
import { ProvablyError } from '../errors/index.js';

/** One reason a value does not fit the handoff schema: where (JSON Pointer) and why. */
export interface SchemaIssue {
  /** JSON Pointer into the checked value ("" for the value itself). */
  path: string;
  message: string;
}

/** At most this many issues are kept on an error (the first ones found). */
export const MAX_SCHEMA_ISSUES = 20;

export function describeIssues(issues: readonly SchemaIssue[]): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path === '' ? '(root)' : i.path}: ${i.message}`);
  const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
  return `${shown.join('; ')}${more}`;
}

/** A handoff payload that does not fit schemas/handoff-payload.schema.json. */
export class ProvablyHandoffSchemaError extends ProvablyError {
  readonly code = 'PROVABLY_HANDOFF_INVALID';
  readonly issues: readonly SchemaIssue[];
  constructor(issues: readonly SchemaIssue[]) {
    super(`invalid handoff payload: ${describeIssues(issues)}`);
    this.issues = issues;
  }
}

export type ModelClaimsFailure =
  /** The text is not JSON (after removing one surrounding Markdown code fence). */
  | 'not-json'
  /** Neither an array of claims nor an object with a `claims` array. */
  | 'no-claims'
  /** Some claim does not fit the claim schema. */
  | 'invalid-claim'
  /** Some claim names an action that is not one of the allowed action names. */
  | 'unknown-action'
  /** Some claim's json_path is not an RFC 9535 JSONPath. */
  | 'invalid-json-path'
  /** query_record_id was required but some claim has none. */
  | 'missing-record-id';

/**
 * Model output that is not a valid set of claims. The message lists the problems in terms a
 * model can act on, so it can be sent back as-is to ask for a corrected answer.
 */
export class ProvablyModelClaimsError extends ProvablyError {
  readonly code = 'PROVABLY_MODEL_CLAIMS_INVALID';
  readonly reason: ModelClaimsFailure;
  readonly issues: readonly SchemaIssue[];
  constructor(reason: ModelClaimsFailure, issues: readonly SchemaIssue[]) {
    super(`invalid claims from model (${reason}): ${describeIssues(issues)}`);
    this.reason = reason;
    this.issues = issues;
  }
}

/** Longest response body excerpt carried by ProvablyHandoffPostError. */
export const MAX_BODY_EXCERPT_CHARS = 500;

/**
 * postHandoff did not get a 2xx answer. `status` is null when no HTTP answer arrived at all
 * (connection refused, aborted, …; see `cause`). `bodyExcerpt` holds at most 500 characters of
 * the answer's body.
 */
export class ProvablyHandoffPostError extends ProvablyError {
  readonly code = 'PROVABLY_HANDOFF_POST_FAILED';
  readonly url: string;
  readonly status: number | null;
  readonly bodyExcerpt: string;
  constructor(url: string, status: number | null, bodyExcerpt: string, options?: { cause?: unknown }) {
    const what = status === null ? 'no response' : `HTTP ${status}`;
    const excerpt = bodyExcerpt === '' ? '' : `: ${bodyExcerpt}`;
    super(`handoff POST ${url} failed (${what})${excerpt}`, options);
    this.url = url;
    this.status = status;
    this.bodyExcerpt = bodyExcerpt;
  }
}
