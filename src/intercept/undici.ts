/**
 * undici adapter: global fetch (Node's bundled undici: 6.x on Node 22, 7.x on Node 24) and every
 * copy of the `undici` package (7.x, 8.x): request/fetch/stream, explicit Client/Pool/Agent,
 * interceptors (redirect, retry), proxies.
 *
 * How: every undici copy routes every request through `DispatcherBase.prototype.dispatch` of that
 * copy (Agent → Pool → Client, each a DispatcherBase). We replace that one method per copy, so
 * the global dispatcher (whoever set it: Node, undici 8 on load, the app's setGlobalDispatcher)
 * and explicit dispatchers are all governed the same way, and replacing the global dispatcher
 * cannot unhook us. A request is governed at the first layer that knows the real origin (a Pool
 * or Client: the origin it will connect to); the Agent above only routes. Refusing there means
 * calling the handler's error callback before anything is queued: 0 connections, 0 bytes.
 *
 * Copies are found (1) at install, through the global dispatcher slots (Node's bundled copy) and
 * require.cache (copies already loaded), and (2) when a copy is loaded later, through the
 * `module.require` tracing channel. Anything that still slips past (a copy inlined by a bundler,
 * a dispatcher bound before install) is caught by the fallback on `undici:request:create`:
 * there the request already sits in a Client's queue, so refusing it sends no HTTP bytes, but
 * undici < 8 still opens the TCP/TLS connection (undici 8 does not), and a gate answer that is
 * still loading cannot be waited for (the call is refused instead).
 */
import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { stringify as stringifyQuery } from 'node:querystring';
import type { HeaderMap } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';
import { type Capture, startCapture } from './capture.js';
import {
  blockedError,
  counters,
  decide,
  internalError,
  isPromiseLike,
  resolveScope,
  type Verdict,
} from './core.js';
import { rawHeadersToMap, requestHeadersToMap } from './headers.js';

type DispatchFn = (this: object, opts: unknown, handler: unknown) => unknown;
type Rec = Record<PropertyKey, unknown>;

interface Copy {
  readonly proto: { dispatch: DispatchFn };
  readonly original: DispatchFn;
  readonly descriptor: PropertyDescriptor;
  readonly patched: DispatchFn;
  /** The package root when loaded from disk (…/node_modules/undici); undefined when bundled. */
  readonly root: string | undefined;
  kUrl: symbol | undefined;
}

const GLOBAL_SLOTS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];
const BASE_SUFFIX = `${sep}lib${sep}dispatcher${sep}dispatcher-base.js`;

const requireHere = createRequire(import.meta.url);
const copies = new Map<object, Copy>();
/** Request classes seen by the fallback (discovery runs once per class). */
const inspectedRequestClasses = new WeakSet<object>();
const handlerSymbols = new WeakMap<object, symbol | null>();
/** Dispatch options we created for a governed call; inner layers seeing them pass straight on. */
const governedOpts = new WeakSet<object>();
/**
 * Handlers of governed calls → their scope. Redirect/retry interceptors re-dispatch the same
 * handler from socket callbacks, where the async context is whoever opened the socket: the hop
 * is governed with the scope of the call it belongs to.
 */
const handlerScopes = new WeakMap<object, ActiveScope>();

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
let installed = false;

// ---------------------------------------------------------------------------------------------
// Install / uninstall

export function installUndici(): () => void {
  installed = true;
  try {
    // Load Node's bundled undici now (every HTTP-using agent pays this anyway) so its global
    // Agent exists and its class can be patched before the first fetch.
    void globalThis.Headers;
  } catch (err) {
    internalError('loading the bundled undici failed', err);
  }
  discover();
  dc.subscribe('tracing:module.require:end', onModuleRequired);
  dc.subscribe('undici:request:create', onRequestCreate);
  return uninstallUndici;
}

function uninstallUndici(): void {
  if (!installed) return;
  installed = false;
  dc.unsubscribe('tracing:module.require:end', onModuleRequired);
  dc.unsubscribe('undici:request:create', onRequestCreate);
  for (const copy of copies.values()) {
    // Only restore what is still ours; if someone wrapped over us, our wrapper stays and (with
    // the scope resolver reset by uninstall) is a pure passthrough.
    if (copy.proto.dispatch === copy.patched) Object.defineProperty(copy.proto, 'dispatch', copy.descriptor);
  }
  copies.clear();
}

/** Patches every undici copy reachable now: the global dispatcher slots and require.cache. */
function discover(): void {
  for (const slot of GLOBAL_SLOTS) {
    try {
      const value = (globalThis as Rec)[slot];
      if (value !== null && typeof value === 'object') adoptFromInstance(value);
    } catch (err) {
      internalError('inspecting the global dispatcher failed', err);
    }
  }
  try {
    const cache = requireHere.cache;
    for (const key of Object.keys(cache)) {
      if (!key.endsWith(BASE_SUFFIX)) continue;
      const mod = cache[key];
      if (mod !== undefined) adoptClass(mod.exports, key.slice(0, -BASE_SUFFIX.length));
    }
  } catch (err) {
    internalError('scanning require.cache for undici failed', err);
  }
}

function adoptFromInstance(instance: object): void {
  let proto: object | null = Object.getPrototypeOf(instance);
  for (let depth = 0; proto !== null && depth < 16; depth++) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (Object.hasOwn(proto, 'dispatch') && typeof ctor === 'function' && ctor.name === 'DispatcherBase') {
      adoptClass(ctor, undefined);
      return;
    }
    proto = Object.getPrototypeOf(proto);
  }
}

function onModuleRequired(message: unknown): void {
  try {
    const { result, parentFilename, id } = message as {
      result?: unknown;
      parentFilename?: unknown;
      id?: unknown;
    };
    if (typeof result !== 'function' || result.name !== 'DispatcherBase') return;
    let root: string | undefined;
    if (typeof parentFilename === 'string' && typeof id === 'string' && id.startsWith('.')) {
      const file = join(dirname(parentFilename), id.endsWith('.js') ? id : `${id}.js`);
      if (file.endsWith(BASE_SUFFIX)) root = file.slice(0, -BASE_SUFFIX.length);
    }
    adoptClass(result, root);
  } catch (err) {
    internalError('patching a newly loaded undici failed', err);
  }
}

function adoptClass(cls: unknown, root: string | undefined): void {
  if (typeof cls !== 'function' || cls.name !== 'DispatcherBase') return;
  const proto = cls.prototype as { dispatch: DispatchFn } | undefined;
  if (!proto || copies.has(proto)) return;
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'dispatch');
  if (!descriptor || typeof descriptor.value !== 'function' || !descriptor.configurable) return;
  const copy: Copy = {
    proto,
    original: descriptor.value as DispatchFn,
    descriptor,
    patched: undefined as unknown as DispatchFn,
    root,
    kUrl: undefined,
  };
  (copy as { patched: DispatchFn }).patched = makeDispatch(copy);
  if (root !== undefined) learnFromDisk(copy);
  Object.defineProperty(proto, 'dispatch', { ...descriptor, value: copy.patched });
  copies.set(proto, copy);
}

/** For a copy loaded from disk, its symbols module sits next to it in require.cache. */
function learnFromDisk(copy: Copy): void {
  if (copy.root === undefined || copy.kUrl !== undefined) return;
  const symbols = requireHere.cache[join(copy.root, 'lib', 'core', 'symbols.js')]?.exports as Rec | undefined;
  if (typeof symbols?.kUrl === 'symbol') copy.kUrl = symbols.kUrl;
}

// ---------------------------------------------------------------------------------------------
// The patched dispatch

function makeDispatch(copy: Copy): DispatchFn {
  const original = copy.original;
  return function dispatch(this: object, opts: unknown, handler: unknown): unknown {
    // Inner layer of an unscoped call (patchedDepth is already > 0 for the fallback's sake).
    if (opts === unscopedOpts) return original.call(this, opts, handler);
    patchedDepth++;
    try {
      // An inner layer (Pool → Client) of a call governed above, or a queued one drained later.
      if (governedOpts.has(opts as object)) return original.call(this, opts, handler);
      const scope =
        handlerScopes.get(handler as object) ??
        (opts === routedOpts ? routedScope : undefined) ??
        resolveScope();
      if (scope === undefined) {
        const previous = unscopedOpts;
        unscopedOpts = opts;
        try {
          return original.call(this, opts, handler);
        } finally {
          unscopedOpts = previous;
        }
      }
      return governDispatch(copy, this, opts, handler, scope);
    } finally {
      patchedDepth--;
    }
  };
}

function governDispatch(
  copy: Copy,
  dispatcher: object,
  opts: unknown,
  handler: unknown,
  scope: ActiveScope,
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
    if (origin === undefined) return route(original, dispatcher, opts, handler, scope);
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
      .then((v) => proceed(copy, dispatcher, snapshot, handler as Rec, scope, url, v, true))
      .then(undefined, (err: unknown) => internalError('a deferred undici dispatch failed', err));
    return true;
  }
  return proceed(copy, dispatcher, opts as Rec, handler as Rec, scope, url, verdict, false);
}

function proceed(
  copy: Copy,
  dispatcher: object,
  opts: Rec,
  handler: Rec,
  scope: ActiveScope,
  url: string,
  verdict: Verdict,
  deferred: boolean,
): unknown {
  if (!verdict.ok) return refuse(handler, verdict.error);
  let governed: Rec = opts;
  let wrapped: object = handler;
  try {
    const method = typeof opts.method === 'string' ? opts.method : 'GET';
    const capture = startCapture(
      scope,
      verdict.orgId,
      method,
      url,
      requestHeadersToMap(opts.headers),
      new Date(),
    );
    governed = { ...opts };
    governedOpts.add(governed);
    handlerScopes.set(handler, scope);
    wrapped = wrapHandler(handler, capture);
  } catch (err) {
    internalError('preparing capture of an undici request failed; it went out uncaptured', err);
  }
  patchedDepth++;
  try {
    return copy.original.call(dispatcher, governed, wrapped);
  } catch (err) {
    // A deferred dispatch runs from a promise where nobody would see this throw: report it to
    // the caller through its handler, as DispatcherBase does for its own errors.
    if (deferred) return refuse(handler, err);
    throw err;
  } finally {
    patchedDepth--;
  }
}

function route(
  original: DispatchFn,
  dispatcher: object,
  opts: object,
  handler: object,
  scope: ActiveScope,
): unknown {
  handlerScopes.set(handler, scope); // a later re-dispatch of this handler keeps the scope
  const previousOpts = routedOpts;
  const previousScope = routedScope;
  routedOpts = opts;
  routedScope = scope;
  try {
    return original.call(dispatcher, opts, handler);
  } finally {
    routedOpts = previousOpts;
    routedScope = previousScope;
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

function originOf(copy: Copy, dispatcher: object): string | undefined {
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

// ---------------------------------------------------------------------------------------------
// request:create fallback (copies we could not patch)

function onRequestCreate(message: unknown): void {
  try {
    const request = (message as { request?: unknown } | null)?.request;
    if (request === null || typeof request !== 'object') return;
    if (patchedDepth > 0) return; // decided by our dispatch
    const ctor = (request as { constructor?: unknown }).constructor as object;
    const scope = resolveScope();
    if (scope === undefined) return;
    governCreated(request as Rec, ctor, scope);
  } catch (err) {
    internalError('the undici request:create fallback failed', err);
  }
}

function governCreated(request: Rec, ctor: object, scope: ActiveScope): void {
  counters.fallback++;
  if (!inspectedRequestClasses.has(ctor)) {
    // A copy we have not patched: patch it now so its next requests are governed before they
    // are queued; this one is handled here.
    inspectedRequestClasses.add(ctor);
    discover();
    for (const copy of copies.values()) learnFromDisk(copy);
  }
  const url = `${String(request.origin)}${String(request.path)}`;
  const verdict = decide(url, scope, true);
  if (isPromiseLike<Verdict>(verdict)) {
    abortCreated(
      request,
      blockedError(url, scope, 'the trusted set is still loading and this transport cannot wait for it'),
    );
    return;
  }
  if (!verdict.ok) {
    abortCreated(request, verdict.error);
    return;
  }
  let kHandler = handlerSymbols.get(ctor);
  if (kHandler === undefined) {
    kHandler = Object.getOwnPropertySymbols(request).find((s) => s.description === 'handler') ?? null;
    handlerSymbols.set(ctor, kHandler);
  }
  const handler = kHandler === null ? undefined : request[kHandler];
  if (kHandler === null || handler === null || typeof handler !== 'object') {
    internalError('an undici request governed by the fallback could not be captured', url);
    return;
  }
  const method = typeof request.method === 'string' ? request.method : 'GET';
  const capture = startCapture(
    scope,
    verdict.orgId,
    method,
    url,
    rawHeadersToMap(request.headers),
    new Date(),
  );
  request[kHandler] = wrapHandler(handler as Rec, capture);
}

/** Errors a request that is already queued in a Client: it is skipped, no HTTP bytes are written. */
function abortCreated(request: Rec, error: Error): void {
  if (typeof request.onResponseError === 'function') (request.onResponseError as (e: Error) => void)(error);
  else if (typeof request.onError === 'function') (request.onError as (e: Error) => void)(error);
  else internalError('an undici request could not be refused', error.message);
}

// ---------------------------------------------------------------------------------------------
// Handler decoration. The decorated handler has the same API generation as the one it wraps
// (undici 8 / `onRequestStart` handlers vs the onConnect/onHeaders/onData/onComplete/onError
// handlers of Node's fetch and undici 6/7), forwards everything unchanged and live, and holds
// back only the end of the body until the row is committed.

function wrapHandler(handler: Rec, capture: Capture): object {
  return typeof handler.onRequestStart === 'function'
    ? new ModernHandler(handler as unknown as Modern, capture)
    : new LegacyHandler(handler as unknown as Legacy, capture);
}

interface Legacy {
  onConnect?(abort: unknown, context?: unknown): unknown;
  onHeaders?(statusCode: number, rawHeaders: unknown, resume: unknown, statusText: unknown): unknown;
  onData?(chunk: Uint8Array): unknown;
  onComplete?(trailers: unknown): unknown;
  onError?(err: unknown): unknown;
  onUpgrade?(statusCode: number, rawHeaders: unknown, socket: unknown): unknown;
  onBodySent?(chunk: unknown): unknown;
  onRequestSent?(): unknown;
  onResponseStarted?(): unknown;
}

class LegacyHandler {
  readonly #h: Legacy;
  readonly #c: Capture;
  constructor(handler: Legacy, capture: Capture) {
    this.#h = handler;
    this.#c = capture;
  }
  onConnect(abort: unknown, context?: unknown): unknown {
    return this.#h.onConnect?.(abort, context);
  }
  onResponseStarted(): unknown {
    return this.#h.onResponseStarted?.();
  }
  onBodySent(chunk: unknown): unknown {
    return this.#h.onBodySent?.(chunk);
  }
  onRequestSent(): unknown {
    return this.#h.onRequestSent?.();
  }
  onUpgrade(statusCode: number, rawHeaders: unknown, socket: unknown): unknown {
    this.#c.response(statusCode, () => rawHeadersToMap(rawHeaders));
    this.#c.finishDetached();
    return this.#h.onUpgrade?.(statusCode, rawHeaders, socket);
  }
  onHeaders(statusCode: number, rawHeaders: unknown, resume: unknown, statusText: unknown): unknown {
    if (statusCode >= 200) this.#c.response(statusCode, () => rawHeadersToMap(rawHeaders));
    return this.#h.onHeaders?.(statusCode, rawHeaders, resume, statusText);
  }
  onData(chunk: Uint8Array): unknown {
    if (this.#c.chunk(chunk)) return true;
    return this.#h.onData?.(chunk);
  }
  onComplete(trailers: unknown): void {
    const h = this.#h;
    this.#c.release({
      body: (bytes) => h.onData?.(bytes),
      end: () => h.onComplete?.(trailers),
      error: (err) => h.onError?.(err),
    });
  }
  onError(err: unknown): unknown {
    this.#c.fail(err);
    if (typeof this.#h.onError !== 'function') throw err;
    return this.#h.onError(err);
  }
}

interface Modern {
  onRequestStart?(controller: unknown, context: unknown): unknown;
  onRequestUpgrade?(controller: unknown, statusCode: number, headers: unknown, socket: unknown): unknown;
  onResponseStart?(
    controller: unknown,
    statusCode: number,
    headers: unknown,
    statusMessage?: unknown,
  ): unknown;
  onResponseData?(controller: unknown, chunk: Uint8Array): unknown;
  onResponseEnd?(controller: unknown, trailers: unknown): unknown;
  onResponseError?(controller: unknown, err: unknown): unknown;
  onBodySent?(chunk: unknown): unknown;
  onRequestSent?(): unknown;
  onResponseStarted?(): unknown;
}

class ModernHandler {
  readonly #h: Modern;
  readonly #c: Capture;
  constructor(handler: Modern, capture: Capture) {
    this.#h = handler;
    this.#c = capture;
  }
  onRequestStart(controller: unknown, context: unknown): unknown {
    return this.#h.onRequestStart?.(controller, context);
  }
  onResponseStarted(): unknown {
    return this.#h.onResponseStarted?.();
  }
  onBodySent(chunk: unknown): unknown {
    return this.#h.onBodySent?.(chunk);
  }
  onRequestSent(): unknown {
    return this.#h.onRequestSent?.();
  }
  onRequestUpgrade(controller: unknown, statusCode: number, headers: unknown, socket: unknown): unknown {
    this.#c.response(statusCode, () => modernHeaders(headers));
    this.#c.finishDetached();
    return this.#h.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStart(
    controller: unknown,
    statusCode: number,
    headers: unknown,
    statusMessage?: unknown,
  ): unknown {
    if (statusCode >= 200) this.#c.response(statusCode, () => modernHeaders(headers));
    return this.#h.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: unknown, chunk: Uint8Array): unknown {
    if (this.#c.chunk(chunk)) return undefined;
    return this.#h.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: unknown, trailers: unknown): void {
    const h = this.#h;
    this.#c.release({
      body: (bytes) => h.onResponseData?.(controller, bytes),
      end: () => h.onResponseEnd?.(controller, trailers),
      error: (err) => h.onResponseError?.(controller, err),
    });
  }
  onResponseError(controller: unknown, err: unknown): unknown {
    this.#c.fail(err);
    if (typeof this.#h.onResponseError !== 'function') throw err;
    return this.#h.onResponseError(controller, err);
  }
}

function modernHeaders(headers: unknown): HeaderMap {
  if (Array.isArray(headers)) return rawHeadersToMap(headers);
  return requestHeadersToMap(headers);
}
