/**
 * node:http2 client adapter (and so @grpc/grpc-js and anything else built on `http2.connect`).
 *
 * Per request: `ClientHttp2Session.prototype.request` is replaced. Inside a scope (the one active
 * when request() is called — sessions are shared, so nothing is decided per session) the request's
 * `:scheme` / `:authority` (or `host`) / `:path` must name the session's own origin (see
 * http2-session.ts) and the resulting URL must pass the trust gate BEFORE its HEADERS are
 * submitted. A refused request still returns a stream, destroyed with ProvablyBlockedError (its
 * 'error' event, the path every HTTP/2 client already handles); no frame of it reaches the wire.
 * A gate answer still loading is waited for with the stream's HEADERS held back.
 *
 * Per session: `http2.connect` is replaced to learn each session's origin, and inside a scope to
 * refuse an untrusted origin before anything connects (the session and its streams error with
 * ProvablyBlockedError; the connection is never made) — unless the caller brings its own
 * connection (see connectRefusal).
 *
 * Capture: an allowed stream is recorded through the same Capture as HTTP/1.1 calls: status from
 * `:status`, headers without pseudo-headers, every DATA chunk live (THAT stream's own `push` is
 * wrapped), end of body held until the row is committed. Trailers are not recorded.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { syncBuiltinESMExports } from 'node:module';
import { Duplex } from 'node:stream';
import type { HeaderMap } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';
import { observePush, startCapture } from './capture.js';
import { blockedError, decide, internalError, isPromiseLike, resolveScope, type Verdict } from './core.js';
import { sessionPeer } from './http2-peer.js';
import {
  awaitsConnection,
  connectionMismatch,
  connectTarget,
  deferredRequest,
  originOf,
  rememberSession,
  type SessionInfo,
  sessionInfo,
} from './http2-session.js';

type Request = (this: ClientHttp2Session, headers?: unknown, options?: unknown) => ClientHttp2Stream;
type Connect = (
  this: unknown,
  authority: unknown,
  options?: unknown,
  listener?: unknown,
) => ClientHttp2Session;

export function installHttp2(): () => void {
  const originalConnect = http2.connect as unknown as Connect;
  const proto = sessionPrototype(originalConnect);
  const requestDescriptor = proto && Object.getOwnPropertyDescriptor(proto, 'request');
  if (proto === undefined || typeof requestDescriptor?.value !== 'function') {
    internalError('node:http2 internals are not as expected; HTTP/2 calls are not governed', undefined);
    return () => {};
  }
  const originalRequest = requestDescriptor.value as Request;

  const connect: Connect = function connect(this: unknown, authority, options, listener) {
    let info: SessionInfo;
    try {
      info = connectTarget(authority, typeof options === 'function' ? undefined : options);
    } catch {
      // Node itself reports an authority it cannot use (its usual synchronous TypeError).
      return Reflect.apply(originalConnect, this, [authority, options, listener]) as ClientHttp2Session;
    }
    const refusal = connectRefusal(info);
    const args =
      refusal === undefined
        ? [authority, options, listener]
        : typeof options === 'function'
          ? [authority, { createConnection: refusedConnection(refusal) }, options]
          : [authority, { ...(options as object), createConnection: refusedConnection(refusal) }, listener];
    const session = Reflect.apply(originalConnect, this, args) as ClientHttp2Session;
    rememberSession(session, info);
    if (refusal !== undefined) silenceConnect(session);
    return session;
  };

  const request: Request = function request(this: ClientHttp2Session, headers, options) {
    const scope = resolveScope();
    if (scope === undefined) return originalRequest.call(this, headers, options);
    return governRequest(this, scope, headers, options, originalRequest);
  };

  Object.defineProperty(proto, 'request', { ...requestDescriptor, value: request });
  (http2 as unknown as { connect: Connect }).connect = connect;
  syncBuiltinESMExports();

  return () => {
    if (proto.request === request) Object.defineProperty(proto, 'request', requestDescriptor);
    if ((http2.connect as unknown) === connect) {
      (http2 as unknown as { connect: Connect }).connect = originalConnect;
      syncBuiltinESMExports();
    }
  };
}

/** ClientHttp2Session.prototype (not exported by Node): taken from a session over a dummy stream. */
function sessionPrototype(connect: Connect): { request: Request } | undefined {
  try {
    const dummy = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        callback();
      },
    });
    const session = connect.call(http2, 'http://127.0.0.1:9', { createConnection: () => dummy });
    const proto = Object.getPrototypeOf(session) as { request: Request };
    session.on('error', () => {});
    session.destroy();
    dummy.destroy();
    return Object.hasOwn(proto, 'request') ? proto : undefined;
  } catch (err) {
    internalError('finding the HTTP/2 client session class failed', err);
    return undefined;
  }
}

/**
 * Inside a scope, why `http2.connect` must not connect (undefined: let it). A session over the
 * caller's own connection (`createConnection`, as gRPC does: its socket is already open) is not
 * refused here — that would prevent no connection, and libraries that pool sessions (grpc-js
 * subchannels) would retry the refused attempt from the scope's async context for every later
 * user, scoped or not. Its streams are refused per request instead.
 */
function connectRefusal(info: SessionInfo): Error | undefined {
  if (info.customConnection) return undefined;
  const scope = resolveScope();
  if (scope === undefined) return undefined;
  if (info.problem !== null) return blockedError(`${info.origin}/`, scope, info.problem);
  const verdict = decide(`${info.origin}/`, scope, true);
  // While the gate's first answer is loading, the session's socket goes through the connection
  // guard, which waits for the trusted set and refuses an untrusted destination; every stream is
  // still checked before its HEADERS go out.
  if (isPromiseLike<Verdict>(verdict)) return undefined;
  return verdict.ok ? undefined : verdict.error;
}

/** A connection that never connects: it fails with `error`, which Node reports as the session's error. */
function refusedConnection(error: Error): () => Duplex {
  return () => {
    const stream = new Duplex({
      read() {},
      write(_chunk, _encoding, callback) {
        callback(error);
      },
    });
    process.nextTick(() => stream.destroy(error));
    return stream;
  };
}

/**
 * Node sets a session up at once over a stream that is not a socket (our refusing stream), and so
 * announces 'connect' before the refusal arrives: a refused session must never look connected.
 */
function silenceConnect(session: ClientHttp2Session): void {
  const emit = session.emit;
  session.emit = function refusedEmit(this: ClientHttp2Session, event: string | symbol, ...args: unknown[]) {
    if (event === 'connect') return false;
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof session.emit;
}

// ---------------------------------------------------------------------------------------------
// Per request

interface Target {
  method: string;
  url: string;
  headers: HeaderMap;
}

function headerPairs(headers: unknown): Array<[string, unknown]> {
  if (headers === undefined || headers === null) return [];
  if (Array.isArray(headers)) {
    const pairs: Array<[string, unknown]> = [];
    for (let i = 0; i + 1 < headers.length; i += 2)
      pairs.push([String(headers[i]).toLowerCase(), headers[i + 1]]);
    return pairs;
  }
  if (typeof headers !== 'object') return [];
  return Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]);
}

function single(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? (value.length === 1 ? String(value[0]) : undefined) : String(value);
}

/** The request as the server will see it, or a reason it cannot be attributed to this session. */
function targetOf(session: ClientHttp2Session, info: SessionInfo, headers: unknown): Target | string {
  if (info.problem !== null) return info.problem;
  const mismatch = connectionMismatch(session, info);
  if (mismatch !== null) return mismatch;
  const pairs = headerPairs(headers);
  const pseudo = new Map<string, unknown>();
  const map: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    if (name.startsWith(':')) {
      pseudo.set(name, value);
      continue;
    }
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    const prev = map[name];
    map[name] =
      prev === undefined ? (values.length === 1 ? (values[0] as string) : values) : [prev, values].flat();
  }
  const method = (single(pseudo.get(':method')) ?? 'GET').toUpperCase();
  if (method === 'CONNECT') return 'HTTP/2 CONNECT tunnels are not governed';
  const sessionUrl = new URL(info.origin);
  const scheme = single(pseudo.get(':scheme')) ?? sessionUrl.protocol.slice(0, -1);
  const authority = single(pseudo.get(':authority'));
  const host = single(map.host);
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) {
    return `:authority ${authority} and host ${host} disagree`;
  }
  const named = authority ?? host;
  if (named !== undefined) {
    if (!/^[^\s/?#@\\]+$/.test(named)) return `unusable :authority ${JSON.stringify(named)}`;
    let asked: URL;
    try {
      asked = new URL(`${scheme}://${named}`);
    } catch {
      return `unusable :authority ${JSON.stringify(named)}`;
    }
    const port = asked.port !== '' ? asked.port : scheme === 'http' ? '80' : '443';
    const origin = originOf(scheme, asked.hostname, port);
    if (origin !== info.origin)
      return `:authority names ${origin} but the session is connected to ${info.origin}`;
  } else if (`${scheme}:` !== sessionUrl.protocol) {
    return `:scheme ${scheme} does not match the session's ${sessionUrl.protocol.slice(0, -1)}`;
  }
  const path = single(pseudo.get(':path')) ?? '/';
  if (!path.startsWith('/')) return `unusable :path ${JSON.stringify(path.slice(0, 100))}`;
  return { method, url: new URL(path, `${info.origin}/`).href, headers: map };
}

function governRequest(
  session: ClientHttp2Session,
  scope: ActiveScope,
  headers: unknown,
  options: unknown,
  original: Request,
): ClientHttp2Stream {
  const info = sessionInfo(session);
  let target: Target | string = 'provably could not check it';
  const check = (): Verdict | Promise<Verdict> => {
    try {
      target = targetOf(session, info, headers);
    } catch (err) {
      internalError('working out the URL of an HTTP/2 request failed; it was refused', err);
      target = 'provably could not check it';
    }
    return typeof target === 'string'
      ? { ok: false, error: blockedError(`${info.origin}/`, scope, target) }
      : decide(target.url, scope);
  };
  const startedAt = new Date();
  // The caller's own socket may still be connecting: where it goes is known only at 'connect'.
  const verdict: Verdict | Promise<Verdict> = awaitsConnection(session, info)
    ? new Promise<Verdict>((resolve) => {
        const onConnect = () => {
          session.removeListener('close', onClose);
          resolve(check());
        };
        const onClose = () => {
          session.removeListener('connect', onConnect);
          resolve(check());
        };
        session.once('connect', onConnect);
        session.once('close', onClose);
      })
    : check();
  if (!isPromiseLike<Verdict>(verdict) && verdict.ok && typeof target !== 'string') {
    const stream = original.call(session, headers, options);
    instrument(stream, session, scope, verdict.orgId, target, startedAt);
    return stream;
  }
  const held = deferredRequest(session, original, headers, options);
  if (held === null) {
    internalError('HTTP/2 internals are not as expected; a scoped request was refused', undefined);
    const error = blockedError(`${info.origin}/`, scope, 'provably could not hold the request');
    const stream = original.call(session, headers, {
      ...(options as object),
      signal: AbortSignal.abort(error),
    });
    return stream;
  }
  const settle = (v: Verdict): void => {
    const allowed: Target | string = target;
    if (!v.ok || typeof allowed === 'string') {
      held.stream.destroy(v.ok ? new Error('unreachable') : v.error);
      return;
    }
    if (held.stream.destroyed) return;
    instrument(held.stream, session, scope, v.orgId, allowed, startedAt);
    held.start();
  };
  if (isPromiseLike<Verdict>(verdict)) {
    verdict
      .then(settle)
      .then(undefined, (err: unknown) => internalError('a deferred HTTP/2 request failed', err));
  } else {
    settle(verdict);
  }
  return held.stream;
}

// ---------------------------------------------------------------------------------------------
// Capture

function responseHeaders(headers: IncomingHttpHeaders): HeaderMap {
  const map: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    map[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return map;
}

function instrument(
  stream: ClientHttp2Stream,
  session: ClientHttp2Session,
  scope: ActiveScope,
  orgId: string,
  target: Target,
  startedAt: Date,
): void {
  try {
    const capture = startCapture(scope, orgId, target.method, target.url, target.headers, startedAt);
    let streamError: unknown;
    // Node emits 'response' on a later tick than it pushes the DATA that arrived with it: a short
    // body can end before the status is known. The end is released only after 'response' (or
    // 'close', when none came), so the row always has its status and headers.
    let responded = false;
    let pendingEnd: (() => void) | undefined;
    const afterResponse = (release: () => void): void => {
      if (responded) release();
      else pendingEnd = release;
    };
    const runPendingEnd = (): void => {
      const release = pendingEnd;
      pendingEnd = undefined;
      release?.();
    };
    const body = observePush(stream, capture, 'an HTTP/2', afterResponse, (err) =>
      stream.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    const emit = stream.emit;
    stream.emit = function observedEmit(this: ClientHttp2Stream, event: string | symbol, ...args: unknown[]) {
      try {
        if (event === 'response') {
          const head = args[0] as IncomingHttpHeaders;
          capture.peer(() => sessionPeer(session));
          capture.response(Number(head[':status'] ?? 0), () => responseHeaders(head));
          responded = true;
          runPendingEnd();
        } else if (event === 'error') {
          streamError ??= args[0];
        } else if (event === 'close') {
          if (!body.ended) {
            body.ended = true;
            capture.fail(streamError ?? stream.errored ?? abortedError(stream.rstCode));
          }
          runPendingEnd();
        }
      } catch (err) {
        internalError('observing an HTTP/2 stream failed', err);
      }
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    } as typeof stream.emit;
  } catch (err) {
    internalError('instrumenting an HTTP/2 request failed; it went out uncaptured', err);
  }
}

function abortedError(rstCode: number | undefined): Error {
  return Object.assign(
    new Error(`HTTP/2 stream closed before its response ended (code ${rstCode ?? 'none'})`),
    {
      code: 'ERR_HTTP2_STREAM_ERROR',
    },
  );
}
