/**
 * The part every transport adapter shares: is this call governed (scope) and may it go out (trust
 * gate). How a governed call is handed to the recorder is in capture.ts; header normalisation in
 * headers.ts.
 *
 * Rules every adapter follows:
 * - Outside a scope an adapter calls `resolveScope()` once and gets out of the way.
 * - Nothing in here throws into the host except the deliberate refusal errors, which adapters
 *   deliver through each client's normal error path. Recorder/gate/hook failures are caught,
 *   counted (`internalErrors`) and logged through diag.
 * - A scoped call is never sent unchecked: when the gate throws or rejects the call fails with
 *   that error (fail closed); when provably itself cannot work out the URL, the call is refused.
 */
import { diag } from '../diag/index.js';
import { ProvablyBlockedError } from '../errors/index.js';
import type { Recorder } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';
import type { InterceptOptions, InterceptStats, TraceHooks, TrustGate } from './types.js';

const noScope = (): ActiveScope | undefined => undefined;

/**
 * The scope resolver the adapters call on every request. A live binding: install swaps it in,
 * uninstall swaps `noScope` back, so a patch that could not be removed (someone wrapped over it)
 * degrades to a pure passthrough.
 */
export let resolveScope: () => ActiveScope | undefined = noScope;

let gate: TrustGate | undefined;
let recorder: Recorder | undefined;
let orgIdOf: (() => string) | undefined;
let traceHooks: TraceHooks | undefined;

export const counters: InterceptStats = {
  blocked: 0,
  gateErrors: 0,
  recorded: 0,
  fallback: 0,
  connectionsBlocked: 0,
  peerMismatches: 0,
  internalErrors: 0,
};

export function configure(options: InterceptOptions | undefined): void {
  if (options === undefined) {
    resolveScope = noScope;
    gate = undefined;
    recorder = undefined;
    orgIdOf = undefined;
    traceHooks = undefined;
    return;
  }
  const resolve = options.resolveScope;
  resolveScope = () => {
    try {
      return resolve();
    } catch (err) {
      // Cannot tell whether this call is scoped: it is treated as unscoped (the scope module's
      // contract is never to throw), and the failure is reported once.
      internalError('resolveScope threw; the call was treated as unscoped', err);
      return undefined;
    }
  };
  gate = options.gate;
  recorder = options.recorder;
  orgIdOf = options.orgId;
  traceHooks = options.traces;
}

/** The tracing side's hooks (undefined when not wired). */
export function activeTraceHooks(): TraceHooks | undefined {
  return traceHooks;
}

/** The gate and the org it is asked for (throws while interception is not installed). */
export function activeGate(): { gate: TrustGate; orgId: string } {
  if (gate === undefined || orgIdOf === undefined) throw new Error('interception is not installed');
  return { gate, orgId: orgIdOf() };
}

/** The recorder governed calls are handed to; undefined while interception is not installed. */
export function activeRecorder(): Recorder | undefined {
  return recorder;
}

export function internalError(what: string, err: unknown): void {
  counters.internalErrors++;
  diag.once(`intercept:${what}`, 'error', `interception: ${what}`, err);
  diag.debug(`interception: ${what}`, err);
}

// ---------------------------------------------------------------------------------------------
// Trust decision

export type Verdict =
  | { readonly ok: true; readonly orgId: string }
  | { readonly ok: false; readonly error: Error };

export function isPromiseLike<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Asks the gate about `url` for the scope's org. Synchronous when the gate is; a promise (that
 * never rejects) while the gate's first load is in flight. `quietIfPending`: a late answer is
 * neither counted nor logged (for callers that cannot wait and refuse on their own).
 */
export function decide(url: string, scope: ActiveScope, quietIfPending = false): Verdict | Promise<Verdict> {
  let org: string;
  let answer: unknown;
  try {
    if (gate === undefined || orgIdOf === undefined) throw new Error('interception is not installed');
    org = orgIdOf();
    answer = gate.check(url, org);
  } catch (err) {
    return gateFailure(url, scope, err, false);
  }
  if (isPromiseLike(answer)) {
    return Promise.resolve(answer).then(
      (entry) => verdictOf(url, scope, org, entry, quietIfPending),
      (err: unknown) => gateFailure(url, scope, err, quietIfPending),
    );
  }
  return verdictOf(url, scope, org, answer, false);
}

function verdictOf(url: string, scope: ActiveScope, orgId: string, entry: unknown, quiet: boolean): Verdict {
  if (typeof entry === 'string') return { ok: true, orgId };
  return { ok: false, error: blockedError(url, scope, undefined, quiet) };
}

/** Counts, logs and builds the refusal for `url`. */
export function blockedError(
  url: string,
  scope: ActiveScope,
  detail?: string,
  quiet = false,
): ProvablyBlockedError {
  const error = new ProvablyBlockedError(
    url,
    scope.agentId,
    scope.actionName,
    detail ? { detail } : undefined,
  );
  if (!quiet) {
    counters.blocked++;
    traceBlocked(scope, url, detail ?? 'not a trusted endpoint');
    diag.info(error.message);
    diag.once(
      `intercept:blocked:${originKey(url)}`,
      'warn',
      `${error.message} (further blocks of this origin are logged at info)`,
    );
  }
  return error;
}

function gateFailure(url: string, scope: ActiveScope, err: unknown, quiet: boolean): Verdict {
  // Fail closed: the call fails with the gate's own error (typically a ProvablyStoreError), so the
  // caller sees why; a non-Error throw is wrapped in a ProvablyBlockedError carrying it as cause.
  const error =
    err instanceof Error
      ? err
      : new ProvablyBlockedError(url, scope.agentId, scope.actionName, {
          detail: 'the trust gate failed',
          cause: err,
        });
  if (!quiet) {
    counters.gateErrors++;
    traceBlocked(scope, url, `the trust gate failed: ${error.message}`);
    const code = (err as { code?: unknown } | null)?.code;
    diag.once(
      `intercept:gate-error:${String(code ?? (err as Error | null)?.name)}`,
      'error',
      'trust gate failed; scoped calls fail closed until it recovers',
      err,
    );
    diag.debug(`trust gate failed for ${url}`, err);
  }
  return { ok: false, error };
}

function traceBlocked(scope: ActiveScope, url: string, reason: string): void {
  try {
    traceHooks?.blocked(scope, url, reason);
  } catch (err) {
    internalError('a trace hook (blocked) threw', err);
  }
}

function originKey(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  return m ? m[0].toLowerCase() : url.slice(0, 100);
}
