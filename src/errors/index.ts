/**
 * The deliberate, documented errors provably raises. Every one carries a stable `code` so
 * callers (and other libraries that wrap them, such as fetch's `TypeError.cause`) can branch
 * on it without parsing messages.
 */

const BRAND = Symbol.for('provably.error.v1');

/**
 * Where a block is noted as it is made, for provably's framework adapters (src/adapters): some
 * agent SDKs swallow a tool's error and hand the model a generic text, so the adapter cannot see
 * the block in the error it gets back. The adapter installs an AsyncLocalStorage here (shared by
 * every copy of provably in the process through Symbol.for); a block made inside one of its tool
 * calls — in the caller's async context, where provably refuses — is pushed onto that call's list.
 */
const BLOCK_WITNESS = Symbol.for('provably.block-witness.v1');
const BLOCK_KINDS = new Set(['ProvablyBlockedError', 'PolicyBlockedError', 'EscalationTimeoutError']);

function noteBlock(error: Error, kind: string): void {
  if (!BLOCK_KINDS.has(kind)) return;
  try {
    const witness = (globalThis as Record<symbol, { getStore(): unknown } | undefined>)[BLOCK_WITNESS];
    const seen = witness?.getStore();
    if (Array.isArray(seen) && seen.length < 16) seen.push(error);
  } catch {
    // Noting is best effort: making the error itself must never fail.
  }
}

export abstract class ProvablyError extends Error {
  abstract readonly code: string;

  /**
   * `instanceof` also recognises errors made by another copy of provably in the same process —
   * the ESM preload and a CommonJS `require('provably')` load separate classes — by their
   * PROVABLY_ code and class name, so `err.cause instanceof ProvablyBlockedError` holds whichever
   * copy threw it.
   */
  // biome-ignore-start lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof` (subclasses inherit this method); ProvablyError would be wrong here.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // A brand only provably's own constructor sets (libraries that wrap an error, such as axios,
    // copy name and code, never this symbol).
    const branded = value instanceof Error && (value as unknown as Record<symbol, unknown>)[BRAND] === true;
    return branded && (this === ProvablyError || value.name === this.name);
  }
  // biome-ignore-end lint/complexity/noThisInStatic: see above

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
    noteBlock(this, new.target.name);
  }
}

/** What a store operation was doing when it failed. */
export type StoreErrorReason =
  | 'connection-refused'
  | 'auth'
  | 'missing-database'
  | 'missing-migration'
  | 'locked'
  /** The embedded store's data directory cannot be created or used (ENOTDIR, EACCES, EROFS…). */
  | 'data-dir'
  | 'append-only'
  | 'query'
  | 'closed'
  | 'unknown';

/**
 * A store operation failed. `operation` names what provably was doing ("migrate",
 * "endpoints.add", "open pglite" …) and `reason` classifies the driver's cause so the CLI and
 * the interception layer can react without inspecting driver-specific errors.
 */
export class ProvablyStoreError extends ProvablyError {
  readonly code = 'PROVABLY_STORE_ERROR';
  readonly operation: string;
  readonly reason: StoreErrorReason;
  constructor(operation: string, reason: StoreErrorReason, detail: string, options?: { cause?: unknown }) {
    super(`store ${operation} failed (${reason}): ${detail}`, options);
    this.operation = operation;
    this.reason = reason;
  }
}

/** A URL that cannot be normalized for trust matching (invalid, has credentials, …). */
export class ProvablyUrlError extends ProvablyError {
  readonly code = 'PROVABLY_INVALID_URL';
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string) {
    const shown = redactUserinfo(String(url));
    super(`invalid URL ${JSON.stringify(truncate(shown, 200))}: ${reason}`);
    // Never carry credentials onward in an error that is likely to be logged.
    this.url = shown;
    this.reason = reason;
  }
}

/**
 * A governed call was refused before anything was sent: its URL (or a redirect hop's URL) is not
 * a trusted endpoint for the org, or it could not be checked in time. Transports surface it
 * through their normal error path (fetch: `TypeError('fetch failed')` with this as `cause`;
 * undici.request: this error; axios/got/node-fetch: their own error type with `code` kept).
 */
export class ProvablyBlockedError extends ProvablyError {
  readonly code = 'PROVABLY_BLOCKED';
  readonly url: string;
  readonly agentId: string;
  readonly actionName: string;
  constructor(
    url: string,
    agentId: string,
    actionName: string,
    options?: { detail?: string; cause?: unknown },
  ) {
    const who = `agent ${JSON.stringify(agentId)}, action ${JSON.stringify(actionName)}`;
    const why = options?.detail ?? 'not a trusted endpoint';
    super(
      `BLOCKED: ${truncate(url, 200)} (${why}; ${who})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.url = url;
    this.agentId = agentId;
    this.actionName = actionName;
  }
}

/** A configuration value (environment variable or option) that cannot be used. */
export class ProvablyConfigError extends ProvablyError {
  readonly code = 'PROVABLY_CONFIG_ERROR';
  readonly setting: string;
  constructor(setting: string, detail: string) {
    super(`${setting}: ${detail}`);
    this.setting = setting;
  }
}

/**
 * A policy-gated action was refused: the policy answered BLOCK (a forbid, no permit, an
 * evaluation error) or a human rejected its escalation. The action's body never ran.
 */
export class PolicyBlockedError extends ProvablyError {
  readonly code = 'PROVABLY_POLICY_BLOCKED';
  readonly action: string;
  readonly reason: string;
  /** The audit event (provably_decisions id) that recorded the block. */
  readonly eventId: string;
  readonly escalationId: string | undefined;
  constructor(action: string, reason: string, eventId: string, escalationId?: string) {
    super(`BLOCKED by policy: action ${JSON.stringify(action)}: ${truncate(reason, 500)}`);
    this.action = action;
    this.reason = reason;
    this.eventId = eventId;
    this.escalationId = escalationId;
  }
}

/** An escalated action's hold expired before a human decided: recorded as `expired`, not run. */
export class EscalationTimeoutError extends ProvablyError {
  readonly code = 'PROVABLY_ESCALATION_TIMEOUT';
  readonly action: string;
  readonly escalationId: string;
  /** The audit event that recorded the expiry. */
  readonly eventId: string;
  constructor(action: string, escalationId: string, eventId: string) {
    super(`escalation ${escalationId} of action ${JSON.stringify(action)} timed out: the action did not run`);
    this.action = action;
    this.escalationId = escalationId;
    this.eventId = eventId;
  }
}

/** Why an escalation operation could not be done. */
export type EscalationErrorReason = 'pending' | 'conflict' | 'not-found' | 'params-mismatch' | 'invalid';

/**
 * An escalation operation that cannot be done: its outcome read while it is still pending, a
 * decision on one that is no longer pending (the second of two racing decisions: `conflict`),
 * an unknown id, or an approval shown other params than the ones held.
 */
export class EscalationError extends ProvablyError {
  readonly code = 'PROVABLY_ESCALATION_ERROR';
  readonly escalationId: string;
  readonly reason: EscalationErrorReason;
  constructor(escalationId: string, reason: EscalationErrorReason, detail: string) {
    super(`escalation ${escalationId}: ${detail}`);
    this.escalationId = escalationId;
    this.reason = reason;
  }
}

/**
 * The gateway could not decide or could not record its decision (a remote gateway unreachable
 * in closed mode, answering 5xx, or refusing the API key with 401/403; in local mode a store
 * that refused the audit row). Fail-closed: the action did not run.
 */
export class GatewayError extends ProvablyError {
  readonly code = 'PROVABLY_GATEWAY_ERROR';
  /** The gateway URL, or `local:<store location>` in local mode. */
  readonly url: string;
  /** The remote gateway's HTTP status when it answered with an error (401, 403, 5xx…). */
  readonly status: number | undefined;
  constructor(url: string, detail: string, options?: { cause?: unknown; status?: number }) {
    super(`gateway ${redactUserinfo(url)}: ${detail}`, options);
    this.url = redactUserinfo(url);
    this.status = options?.status;
  }
}

/**
 * A policy set (or its schema) that cannot be used: a parse or validation error, located by
 * policy id, line and column (1-based; columns count characters, not bytes).
 */
export class PolicySetError extends ProvablyError {
  readonly code = 'PROVABLY_POLICY_SET_ERROR';
  /** Where the text came from (a file path, or `<text>`). */
  readonly source: string;
  readonly problems: readonly PolicyProblem[];
  constructor(source: string, problems: readonly PolicyProblem[]) {
    const first = problems[0];
    const where = first
      ? `${first.policyId ?? 'schema'}${first.line !== undefined ? ` at ${first.line}:${first.column}` : ''}: ${first.message}`
      : 'unknown problem';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    super(`policy set ${source} refused: ${where}${more}`);
    this.source = source;
    this.problems = problems;
  }
}

/** One problem of a policy set. */
export interface PolicyProblem {
  /** The policy's id (its @id annotation, else `policy<N>` by position); undefined for the schema. */
  policyId: string | undefined;
  /** 1-based line in the source text (undefined when Cedar gave no location). */
  line: number | undefined;
  /** 1-based column, in characters (Cedar's UTF-8 byte offsets converted). */
  column: number | undefined;
  message: string;
  kind: 'parse' | 'validation' | 'schema' | 'policy-id';
}

/** Params or arguments a policy cannot be asked about (not JSON, too deep, a reserved key). */
export class PolicyInputError extends ProvablyError {
  readonly code = 'PROVABLY_POLICY_INPUT';
  readonly field: string;
  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.field = field;
  }
}

/** `scheme://user:pw@host/…` → `scheme://[REDACTED]@host/…`; anything else unchanged. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:[\\/]*)([^/?#\\]*)@/i, '$1[REDACTED]@');
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
