/**
 * The patched `DispatcherBase.prototype.dispatch` of every undici copy (see undici.ts): decides
 * whether a call is scoped, asks the gate at the first layer that knows the real origin, refuses
 * before anything is queued, or dispatches with a capturing handler.
 */
import { stringify as stringifyQuery } from 'node:querystring';
import type { ActiveScope } from '../scope/types.js';
import { Capture, startCapture } from './capture.js';
import {
  activeTraceHooks,
  blockedError,
  decide,
  internalError,
  isPromiseLike,
  resolveScope,
  type Verdict,
} from './core.js';
import {
  allowedDestination,
  canonicalHost,
  type DestinationVerdict,
  noteTunnel,
  portNumber,
  proxyAt,
} from './destinations.js';
import { requestHeadersToMap } from './headers.js';
import { wrapHandler } from './undici-handler.js';

export type DispatchFn = (this: object, opts: unknown, handler: unknown) => unknown;
type Rec = Record<PropertyKey, unknown>;

/** What a patched dispatch knows of the undici copy it belongs to. */
export interface CopyDispatch {
  /** That copy's own dispatch, which the patched one calls. */
  readonly original: DispatchFn;
  /** That copy's `kUrl` symbol (where a Pool/Client keeps its origin), once known. */
  kUrl: symbol | undefined;
}

/** A governed call on its way to a socket: what it was checked and recorded as. */
export interface UndiciBinding {
  readonly url: string;
  readonly scope: ActiveScope;
  readonly capture: Capture;
  /** The request line carries the whole URL (plain-HTTP forward proxy). */
  readonly absoluteForm: boolean;
}

/**
 * Dispatch options we created for a governed call → its binding; inner layers seeing them pass
 * straight on (and tell the request:create subscriber which call the new Request belongs to).
 */
const governedOpts = new WeakMap<object, UndiciBinding | undefined>();
/** The binding of the governed call whose Request undici may be creating right now. */
let currentBinding: UndiciBinding | undefined;

/** The governed call a Request created right now belongs to (see undici-binding.ts). */
export function creatingBinding(): UndiciBinding | undefined {
  return currentBinding;
}

const UNSCOPED = Symbol('unscoped');
/**
 * Handlers → the first decision made for them: their scope, or UNSCOPED. Redirect/retry
 * interceptors re-dispatch the same handler from socket callbacks, where the async context is
 * whoever opened the socket: the hop keeps the decision of the call it belongs to, so an
 * unscoped call retried on a connection a scoped call opened is neither recorded under that
 * scope nor blocked by it (and a scoped call's retry is governed by its own scope).
 */
const handlerScopes = new WeakMap<object, ActiveScope | typeof UNSCOPED>();

/**
 * >0 while a patched dispatch runs. undici creates a Request synchronously inside Client.dispatch
 * (a patched DispatcherBase method), also for requests a Pool queued and drains later, so a
 * request created while this is 0 never met our dispatch: the fallback looks at it.
 */
let patchedDepth = 0;
/**
 * The dispatch options of the unscoped call passing through right now: undici's own layers
 * (Agent → Pool → Client) hand the same object down, so the inner layers skip the scope check.
 */
let unscopedOpts: unknown;
/**
 * The call a routing layer (Agent, proxy agents: no origin of their own) is passing down right
 * now, and the scope it decided. The layer below may see a different handler object (undici 7
 * wraps modern handlers anew in every Agent.dispatch), so the scope travels with the options.
 */
let routedOpts: unknown;
let routedScope: ActiveScope | undefined;
let routedRecord = true;

/** True while a patched dispatch runs: a request undici creates now was decided by it. */
export function insidePatchedDispatch(): boolean {
  return patchedDepth > 0;
}

export function makeDispatch(copy: CopyDispatch): DispatchFn {
  const original = copy.original;
  return function dispatch(this: object, opts: unknown, handler: unknown): unknown {
    // Inner layer of an unscoped call (patchedDepth is already > 0 for the fallback's sake).
    if (opts === unscopedOpts) return original.call(this, opts, handler);
    patchedDepth++;
    try {
      // An inner layer (Pool → Client) of a call governed above, or a queued one drained later.
      if (governedOpts.has(opts as object)) {
        const previous = currentBinding;
        currentBinding = governedOpts.get(opts as object);
        // A queued request drained later is created here: its client span is still this record's.
        const traced = enterTrace(currentBinding?.capture.recordId);
        try {
          return original.call(this, opts, handler);
        } finally {
          exitTrace(traced);
          currentBinding = previous;
        }
      }
      const bound = handlerScopes.get(handler as object);
      if (bound === UNSCOPED) {
        // A handler first dispatched outside any scope, seen again inside one: a retry running
        // in the context of a connection a scoped call opened — or code in a scope reusing that
        // handler. Either way it is not recorded under this scope (not a mis-tag), but it is
        // still checked against it (no way around the gate by reusing a handler).
        const live = resolveScope();
        if (live !== undefined) return governDispatch(copy, this, opts, handler, live, false);
      }
      const routed = bound === undefined && opts === routedOpts ? routedScope : undefined;
      const scope = bound === UNSCOPED ? undefined : (bound ?? routed ?? resolveScope());
      if (scope === undefined) {
        if (bound === undefined && handler !== null && typeof handler === 'object') {
          handlerScopes.set(handler, UNSCOPED);
        }
        const previous = unscopedOpts;
        unscopedOpts = opts;
        try {
          return original.call(this, opts, handler);
        } finally {
          unscopedOpts = previous;
        }
      }
      // A layer below a routing layer records only what the routing layer would have.
      return governDispatch(copy, this, opts, handler, scope, routed === undefined || routedRecord);
    } finally {
      patchedDepth--;
    }
  };
}

function governDispatch(
  copy: CopyDispatch,
  dispatcher: object,
  opts: unknown,
  handler: unknown,
  scope: ActiveScope,
  record: boolean,
): unknown {
  const original = copy.original;
  if (opts === null || typeof opts !== 'object' || handler === null || typeof handler !== 'object') {
    return original.call(dispatcher, opts, handler); // undici reports its own argument errors
  }
  let url: string | undefined;
  try {
    const origin = originOf(copy, dispatcher);
    // No origin of its own (Agent, proxy agents, BalancedPool): this layer only routes; the
    // Pool/Client below it knows where the request really goes and governs it there.
    if (origin === undefined) return route(original, dispatcher, opts, handler, scope, record);
    if ((opts as Rec).method === 'CONNECT')
      return connectTunnel(copy, dispatcher, origin, opts as Rec, handler as Rec, scope);
    url = buildUrl(origin, opts as Rec);
  } catch (err) {
    internalError('working out the URL of an undici request failed; it was refused', err);
    return refuse(
      handler as Rec,
      blockedError(String(url ?? '(unknown URL)'), scope, 'provably could not check it'),
    );
  }
  const verdict = decide(url, scope);
  if (isPromiseLike<Verdict>(verdict)) {
    // The trusted set is still loading: the request waits for the answer (nothing is queued).
    const snapshot = { ...(opts as Rec) };
    verdict
      .then((v) => proceed(copy, dispatcher, snapshot, handler as Rec, scope, url, v, true, record))
      .then(undefined, (err: unknown) => internalError('a deferred undici dispatch failed', err));
    return true;
  }
  return proceed(copy, dispatcher, opts as Rec, handler as Rec, scope, url, verdict, false, record);
}

function proceed(
  copy: CopyDispatch,
  dispatcher: object,
  opts: Rec,
  handler: Rec,
  scope: ActiveScope,
  url: string,
  verdict: Verdict,
  deferred: boolean,
  record: boolean,
): unknown {
  if (!verdict.ok) return refuse(handler, verdict.error);
  let governed: Rec = opts;
  let wrapped: object = handler;
  let binding: UndiciBinding | undefined;
  try {
    const method = typeof opts.method === 'string' ? opts.method : 'GET';
    const capture = record
      ? startCapture(scope, verdict.orgId, method, url, requestHeadersToMap(opts.headers), new Date())
      : new Capture(undefined, null); // checked and bound to its socket, not recorded

    binding = { url, scope, capture, absoluteForm: ABSOLUTE_FORM.test(String(opts.path)) };
    governed = { ...opts };
    governedOpts.set(governed, binding);
    if (record) handlerScopes.set(handler, scope);
    wrapped = wrapHandler(handler, capture);
  } catch (err) {
    internalError('preparing capture of an undici request failed; it went out uncaptured', err);
  }
  patchedDepth++;
  const previous = currentBinding;
  currentBinding = binding;
  const traced = enterTrace(binding?.capture.recordId);
  try {
    return copy.original.call(dispatcher, governed, wrapped);
  } catch (err) {
    // A deferred dispatch runs from a promise where nobody would see this throw: report it to
    // the caller through its handler, as DispatcherBase does for its own errors.
    if (deferred) return refuse(handler, err);
    throw err;
  } finally {
    exitTrace(traced);
    currentBinding = previous;
    patchedDepth--;
  }
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

const NOT_TRACED = Symbol('not traced');

/**
 * While the next layer dispatches (synchronously it creates undici's Request, whose
 * `undici:request:create` is where instrumentation-undici starts its client span), the tracing
 * side knows which record that span belongs to.
 */
function enterTrace(recordId: string | undefined): unknown {
  const hooks = activeTraceHooks();
  if (hooks === undefined || recordId === undefined) return NOT_TRACED;
  try {
    return hooks.enterDispatch(recordId);
  } catch (err) {
    internalError('a trace hook (enterDispatch) threw', err);
    return NOT_TRACED;
  }
}

function exitTrace(token: unknown): void {
  if (token === NOT_TRACED) return;
  try {
    activeTraceHooks()?.exitDispatch(token);
  } catch (err) {
    internalError('a trace hook (exitDispatch) threw', err);
  }
}

/**
 * A CONNECT through a dispatcher (undici's ProxyAgent opening a tunnel): allowed only to a
 * declared egress proxy (the connection guard refuses any other proxy anyway) and only to a
 * target the org's trusted endpoints allow. The tunnel's socket then counts as going to that
 * target through the proxy (peer.ts compares the requests sent inside it with the target).
 */
function connectTunnel(
  copy: CopyDispatch,
  dispatcher: object,
  origin: string,
  opts: Rec,
  handler: Rec,
  scope: ActiveScope,
): unknown {
  const target = typeof opts.path === 'string' ? opts.path : '';
  const shown = `${origin} CONNECT ${target}`;
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  let proxy: string | null = null;
  try {
    const o = new URL(origin);
    const h = canonicalHost(o.hostname);
    const p = o.port === '' ? (o.protocol === 'https:' ? 443 : 80) : Number(o.port);
    proxy = h === null ? null : proxyAt(h, p);
  } catch {
    proxy = null;
  }
  if (m === null || proxy === null) {
    return refuse(
      handler,
      blockedError(shown, scope, proxy === null ? 'not a declared egress proxy' : 'not a host:port target'),
    );
  }
  const host = canonicalHost(m[1]);
  const port = portNumber(m[2]);
  const tunnelProxy = proxy;
  const go = (v: DestinationVerdict): unknown => {
    if (!v.ok) return refuse(handler, v.error);
    handlerScopes.set(handler, scope);
    const governed = { ...opts };
    governedOpts.set(governed, undefined);
    const watched = watchTunnel(handler, (socket) => {
      if (host !== null && port !== null) noteTunnel(socket, host, port, tunnelProxy);
    });
    patchedDepth++;
    try {
      return copy.original.call(dispatcher, governed, watched);
    } finally {
      patchedDepth--;
    }
  };
  const verdict = allowedDestination(scope, String(m[1]), String(m[2]));
  if (isPromiseLike<DestinationVerdict>(verdict)) {
    verdict.then(go).then(undefined, (err: unknown) => internalError('a deferred CONNECT failed', err));
    return true;
  }
  return go(verdict);
}

/** A handler that tells `onSocket` about the tunnel socket a CONNECT yields, and forwards all. */
function watchTunnel(handler: Rec, onSocket: (socket: object) => void): object {
  const note = (socket: unknown) => {
    try {
      if (socket !== null && typeof socket === 'object') onSocket(socket);
    } catch (err) {
      internalError('noting a CONNECT tunnel failed', err);
    }
  };
  return new Proxy(handler, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      if (key === 'onUpgrade') {
        return (status: unknown, headers: unknown, socket: unknown) => {
          note(socket);
          return value.call(target, status, headers, socket);
        };
      }
      if (key === 'onRequestUpgrade') {
        return (controller: unknown, status: unknown, headers: unknown, socket: unknown) => {
          note(socket);
          return value.call(target, controller, status, headers, socket);
        };
      }
      return value.bind(target);
    },
  });
}

function route(
  original: DispatchFn,
  dispatcher: object,
  opts: object,
  handler: object,
  scope: ActiveScope,
  record: boolean,
): unknown {
  if (record) handlerScopes.set(handler, scope); // a later re-dispatch of this handler keeps the scope
  const previousOpts = routedOpts;
  const previousScope = routedScope;
  const previousRecord = routedRecord;
  routedOpts = opts;
  routedScope = scope;
  routedRecord = record;
  try {
    return original.call(dispatcher, opts, handler);
  } finally {
    routedOpts = previousOpts;
    routedScope = previousScope;
    routedRecord = previousRecord;
  }
}

/** Refuses the way DispatcherBase does: the handler's error callback, `false` for "not dispatched". */
function refuse(handler: Rec, error: unknown): false {
  if (typeof handler.onRequestStart === 'function') {
    if (typeof handler.onResponseError !== 'function') throw error;
    (handler.onResponseError as (c: null, e: unknown) => void)(null, error);
  } else {
    if (typeof handler.onError !== 'function') throw error;
    (handler.onError as (e: unknown) => void)(error);
  }
  return false;
}

function originOf(copy: CopyDispatch, dispatcher: object): string | undefined {
  let kUrl = copy.kUrl;
  if (kUrl === undefined) {
    kUrl = Object.getOwnPropertySymbols(dispatcher).find((s) => s.description === 'url');
    if (kUrl === undefined) return undefined;
    copy.kUrl = kUrl;
  }
  const value = (dispatcher as Rec)[kUrl] as { origin?: unknown } | undefined;
  return typeof value?.origin === 'string' && value.origin !== 'null' ? value.origin : undefined;
}

function buildUrl(origin: string, opts: Rec): string {
  let path = typeof opts.path === 'string' ? opts.path : '/';
  const query = opts.query;
  if (query !== null && typeof query === 'object') {
    const qs = stringifyQuery(query as Record<string, string>);
    if (qs !== '') path += (path.includes('?') ? '&' : '?') + qs;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path; // absolute-form (HTTP proxy)
  return origin + (path.startsWith('/') ? path : `/${path}`);
}
