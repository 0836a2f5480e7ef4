/**
 * The part every transport adapter shares: is this call governed (scope), may it go out (trust
 * gate), and how a governed call is handed to the recorder (capture, end-of-body held until the
 * row is committed, optional body hook for the caller's copy).
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
import type { CallRecording, CallScope, HeaderMap, Recorder } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';
import type { InterceptBodyHook, InterceptOptions, InterceptStats, TrustGate } from './types.js';

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
let bodyHook: InterceptBodyHook | undefined;

export const counters: InterceptStats = {
  blocked: 0,
  gateErrors: 0,
  recorded: 0,
  fallback: 0,
  internalErrors: 0,
};

export function configure(options: InterceptOptions | undefined): void {
  if (options === undefined) {
    resolveScope = noScope;
    gate = undefined;
    recorder = undefined;
    orgIdOf = undefined;
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
}

export function setBodyHook(hook: InterceptBodyHook | undefined): void {
  bodyHook = hook;
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

function originKey(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  return m ? m[0].toLowerCase() : url.slice(0, 100);
}

// ---------------------------------------------------------------------------------------------
// Capture

const OPEN = 0;
const FINISHING = 1;
const DONE = 2;

export interface Delivery {
  /** Hands the (hooked) buffered body to the caller; only called when the capture buffered it. */
  body(bytes: Buffer): void;
  /** Releases end-of-body to the caller. */
  end(): void;
  /** Fails the caller's read (finish() rejected, or `end` threw). */
  error(err: unknown): void;
}

/**
 * One governed call on its way to the recorder. Every recorder call is guarded; the only thing
 * that reaches the caller is finish()'s rejection (fail-closed store), through `Delivery.error`.
 */
export class Capture {
  #rec: CallRecording | undefined;
  #state = OPEN;
  #responded = false;
  /** Body kept for the caller when a body hook applies (the caller sees it only at the end). */
  readonly buffered: Buffer[] | undefined;
  readonly #interceptIndex: number | null;

  constructor(rec: CallRecording | undefined, interceptIndex: number | null) {
    this.#rec = rec;
    this.#interceptIndex = interceptIndex;
    this.buffered = rec !== undefined && bodyHook !== undefined && interceptIndex !== null ? [] : undefined;
  }

  get open(): boolean {
    return this.#state === OPEN;
  }

  response(status: number, headers: () => HeaderMap): void {
    if (this.#rec === undefined || this.#responded || this.#state !== OPEN) return;
    this.#responded = true;
    try {
      this.#rec.response(status, headers());
    } catch (err) {
      internalError('recorder response() threw', err);
    }
  }

  /** Records one wire chunk. Returns true when the caller must NOT get it now (buffered for the hook). */
  chunk(bytes: Uint8Array): boolean {
    if (this.#rec === undefined || this.#state !== OPEN) return false;
    try {
      this.#rec.chunk(bytes);
    } catch (err) {
      internalError('recorder chunk() threw', err);
    }
    if (this.buffered !== undefined) {
      this.buffered.push(Buffer.from(bytes));
      return true;
    }
    return false;
  }

  fail(err: unknown): void {
    if (this.#state !== OPEN) return;
    this.#state = DONE;
    const rec = this.#rec;
    if (rec === undefined) return;
    try {
      Promise.resolve(rec.fail(err)).catch((e: unknown) => internalError('recorder fail() rejected', e));
    } catch (e) {
      internalError('recorder fail() threw', e);
    }
  }

  /** Finishes without holding anything back (upgrades: the socket now belongs to the caller). */
  finishDetached(): void {
    if (this.#state !== OPEN) return;
    this.#state = DONE;
    const rec = this.#rec;
    if (rec === undefined) return;
    try {
      Promise.resolve(rec.finish()).catch((e: unknown) =>
        diag.warn('interception: recording an upgraded call failed', e),
      );
    } catch (e) {
      internalError('recorder finish() threw', e);
    }
  }

  /**
   * The body ended on the wire: commit the row, then release end-of-body (and, with a body hook,
   * the hooked body) to the caller; if the commit fails, fail the caller's read with its error.
   */
  release(delivery: Delivery): void {
    if (this.#state !== OPEN || this.#rec === undefined) {
      this.#state = DONE;
      deliverEnd(delivery);
      return;
    }
    this.#state = FINISHING;
    let committed: Promise<void>;
    try {
      committed = Promise.resolve(this.#rec.finish());
    } catch (err) {
      committed = Promise.reject(err);
    }
    committed.then(
      () => {
        this.#state = DONE;
        if (this.buffered !== undefined) {
          try {
            delivery.body(this.#hooked(Buffer.concat(this.buffered)));
          } catch (err) {
            deliverError(delivery, err);
            return;
          }
        }
        deliverEnd(delivery);
      },
      (err: unknown) => {
        this.#state = DONE;
        deliverError(delivery, err);
      },
    );
  }

  #hooked(raw: Buffer): Buffer {
    const hook = bodyHook;
    const index = this.#interceptIndex;
    if (hook === undefined || index === null) return raw;
    let out: unknown;
    try {
      // The hook gets its own copy: if it scribbles on it and then throws, the caller still
      // gets the original bytes.
      out = hook(index, new Uint8Array(raw));
    } catch (err) {
      internalError('the intercept body hook threw; the original body was delivered', err);
      return raw;
    }
    if (out === undefined) return raw;
    if (typeof out === 'string') return Buffer.from(out, 'utf8');
    if (out instanceof Uint8Array) return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    internalError('the intercept body hook returned neither bytes, a string nor undefined', typeof out);
    return raw;
  }
}

function deliverEnd(delivery: Delivery): void {
  try {
    delivery.end();
  } catch (err) {
    // What undici itself does when a handler's completion callback throws.
    deliverError(delivery, err);
  }
}

function deliverError(delivery: Delivery, err: unknown): void {
  try {
    delivery.error(err);
  } catch (e) {
    internalError('delivering an error to the caller threw', e);
  }
}

/** Starts a recording for an allowed call; without a working recorder the call goes out uncaptured. */
export function startCapture(
  scope: ActiveScope,
  orgId: string,
  method: string,
  url: string,
  headers: HeaderMap,
  startedAt: Date,
): Capture {
  let rec: CallRecording | undefined;
  try {
    if (recorder === undefined) throw new Error('interception is not installed');
    const callScope: CallScope = {
      orgId,
      agentId: scope.agentId,
      actionName: scope.actionName,
      interceptIndex: scope.interceptIndex,
      traceId: scope.traceId,
      spanId: scope.spanId,
    };
    rec = recorder.start(callScope, { method, url, headers, startedAt });
    counters.recorded++;
  } catch (err) {
    internalError('recorder start() threw; the call went out unrecorded', err);
    rec = undefined;
  }
  return new Capture(rec, scope.interceptIndex);
}

// ---------------------------------------------------------------------------------------------
// Header helpers (only ever run for governed calls)

function put(map: Record<string, string | string[]>, name: string, value: string): void {
  const key = name.toLowerCase();
  const prev = map[key];
  if (prev === undefined) map[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else map[key] = [prev, value];
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

/** undici/http raw headers: a flat [name, value, name, value, …] list of strings or Buffers. */
export function rawHeadersToMap(raw: unknown): HeaderMap {
  const map: Record<string, string | string[]> = {};
  if (!Array.isArray(raw)) return map;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const value = raw[i + 1];
    if (Array.isArray(value)) for (const v of value) put(map, text(raw[i]), text(v));
    else put(map, text(raw[i]), text(value));
  }
  return map;
}

/** Request headers as undici dispatch options carry them: object, flat array, pairs or iterable. */
export function requestHeadersToMap(headers: unknown): HeaderMap {
  if (headers === null || headers === undefined || typeof headers !== 'object') return {};
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      const map: Record<string, string | string[]> = {};
      for (const pair of headers as unknown[][]) put(map, text(pair[0]), text(pair[1]));
      return map;
    }
    return rawHeadersToMap(headers);
  }
  const iterator = (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator];
  if (typeof iterator === 'function') {
    const map: Record<string, string | string[]> = {};
    for (const pair of headers as Iterable<unknown>) {
      if (Array.isArray(pair)) put(map, text(pair[0]), text(pair[1]));
    }
    return map;
  }
  const map: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) put(map, name, text(v));
    else put(map, name, text(value));
  }
  return map;
}
