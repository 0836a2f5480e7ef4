/**
 * The deliberate, documented errors provably raises. Every one carries a stable `code` so
 * callers (and other libraries that wrap them, such as fetch's `TypeError.cause`) can branch
 * on it without parsing messages.
 */

const BRAND = Symbol.for('provably.error.v1');

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

/** `scheme://user:pw@host/…` → `scheme://[REDACTED]@host/…`; anything else unchanged. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:[\\/]*)([^/?#\\]*)@/i, '$1[REDACTED]@');
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}
