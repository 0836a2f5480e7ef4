/**
 * node:http / node:https adapter (and so axios, got, node-fetch, and anything else built on
 * `http.request`).
 *
 * Before the network: `http.Agent.prototype.addRequest` is replaced (https.Agent inherits it).
 * Every request that uses an agent (the default) passes there before a socket is picked or
 * created; a refused request is failed with `req.onSocket(null, err)` — the path Node takes when
 * no socket can be made — so nothing connects and nothing is sent, and each client reports the
 * error its usual way with `code` kept. A gate answer still loading is waited for: the request
 * simply waits for its socket.
 *
 * Fallback: a request with no agent (`agent: undefined` plus `createConnection`, as `ws` does) or
 * an agent whose own addRequest never calls Node's (agent-base 6) reaches
 * `ClientRequest.prototype.onSocket` with a socket already connecting: it is governed there —
 * refused before any HTTP byte is written (the TCP connection may already be open).
 *
 * Capture: per governed request only, its `emit` is wrapped to see 'response' / 'upgrade' /
 * 'close', and THAT response's own `push` is wrapped: chunks are recorded and passed on live,
 * `push(null)` (end of body) is held until the row is committed.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ProvablyBlockedError } from '../errors/index.js';
import type { ActiveScope } from '../scope/types.js';
import { type Capture, observePush, startCapture } from './capture.js';
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
import { governConnectRequest } from './http-connect.js';
import { bindingProblem, effectiveDestination, peerOf } from './peer.js';

type AddRequest = (
  this: http.Agent,
  req: ClientRequest,
  options: unknown,
  port?: unknown,
  localAddress?: unknown,
) => unknown;
type OnSocket = (this: ClientRequest, socket: Socket | null, err?: unknown) => unknown;
type Rec = Record<string, unknown>;

/** Requests already governed (or deliberately refused) by this adapter. */
const governedRequests = new WeakSet<object>();
/** Allowed scoped requests → the URL they were checked (and will be recorded) as. */
const bindings = new WeakMap<object, { url: string; scope: ActiveScope }>();
/** Requests refused at binding: nothing answered them, so nothing is recorded. */
const refusedAtBinding = new WeakSet<object>();

export function installHttp(): () => void {
  const agentProto = http.Agent.prototype as unknown as { addRequest: AddRequest };
  const requestProto = http.ClientRequest.prototype as unknown as { onSocket: OnSocket };
  const addDescriptor = Object.getOwnPropertyDescriptor(agentProto, 'addRequest');
  const socketDescriptor = Object.getOwnPropertyDescriptor(requestProto, 'onSocket');
  if (typeof addDescriptor?.value !== 'function' || typeof socketDescriptor?.value !== 'function') {
    internalError('node:http internals are not as expected; http calls are not governed', undefined);
    return () => {};
  }
  const originalAdd = addDescriptor.value as AddRequest;
  const originalOnSocket = socketDescriptor.value as OnSocket;

  const addRequest: AddRequest = function addRequest(req, options, port, localAddress) {
    const scope = resolveScope();
    if (scope === undefined) return originalAdd.call(this, req, options, port, localAddress);
    return governAddRequest(this, req, options, scope, () =>
      originalAdd.call(this, req, options, port, localAddress),
    );
  };

  const onSocket: OnSocket = function onSocket(socket, err) {
    if (err !== undefined && err !== null) return originalOnSocket.call(this, socket, err);
    const binding = bindings.get(this);
    if (binding !== undefined) return bind(this, socket, binding.url, binding.scope, originalOnSocket);
    if (
      (this as unknown as { agent?: { addRequest?: unknown } }).agent?.addRequest === addRequest ||
      governedRequests.has(this)
    ) {
      return originalOnSocket.call(this, socket, err);
    }
    const scope = resolveScope();
    if (scope === undefined) return originalOnSocket.call(this, socket, err);
    return governOnSocket(this, socket, scope, originalOnSocket);
  };

  function governAddRequest(
    agent: http.Agent,
    req: ClientRequest,
    options: unknown,
    scope: ActiveScope,
    send: () => unknown,
  ): unknown {
    governedRequests.add(req);
    const refuse = (error: unknown) => originalOnSocket.call(req, null, error);
    if (req.method === 'CONNECT') return governConnectRequest(req, options as Rec, scope, refuse, send);
    let url: string;
    try {
      url = agentUrl(agent, req, options as Rec);
    } catch (err) {
      internalError('working out the URL of an http request failed; it was refused', err);
      return refuse(blockedError('(unknown URL)', scope, 'provably could not check it'));
    }
    const startedAt = new Date();
    const go = (verdict: Verdict): unknown => {
      if (!verdict.ok) return refuse(verdict.error);
      bindings.set(req, { url, scope });
      instrument(req, scope, verdict.orgId, url, startedAt);
      return send();
    };
    const verdict = decide(url, scope);
    if (isPromiseLike<Verdict>(verdict)) {
      // The request waits for its socket until the gate answers (as it would for a busy agent).
      verdict
        .then((v) => {
          if (!req.destroyed) go(v);
        })
        .then(undefined, (err: unknown) => internalError('a deferred http request failed', err));
      return undefined;
    }
    return go(verdict);
  }

  function governOnSocket(
    req: ClientRequest,
    socket: Socket | null,
    scope: ActiveScope,
    original: OnSocket,
  ): unknown {
    governedRequests.add(req);
    counters.fallback++;
    let url: string;
    try {
      url = agentlessUrl(req);
    } catch (err) {
      internalError('working out the URL of an http request failed; it was refused', err);
      return original.call(req, socket, blockedError('(unknown URL)', scope, 'provably could not check it'));
    }
    const startedAt = new Date();
    const verdict = decide(url, scope);
    if (!isPromiseLike<Verdict>(verdict)) {
      if (!verdict.ok) return original.call(req, socket, verdict.error);
      instrument(req, scope, verdict.orgId, url, startedAt);
      return bind(req, socket, url, scope, original);
    }
    // Keep the (connecting) socket's errors from going unhandled while we wait.
    let socketError: unknown;
    const onError = (err: unknown) => {
      socketError ??= err;
    };
    socket?.on('error', onError);
    verdict
      .then((v) => {
        socket?.removeListener('error', onError);
        if (!v.ok) return original.call(req, socket, v.error);
        instrument(req, scope, v.orgId, url, startedAt);
        if (socketError !== undefined) return original.call(req, socket, socketError);
        return bind(req, socket, url, scope, original);
      })
      .then(undefined, (err: unknown) => internalError('a deferred http request failed', err));
    return undefined;
  }

  Object.defineProperty(agentProto, 'addRequest', { ...addDescriptor, value: addRequest });
  Object.defineProperty(requestProto, 'onSocket', { ...socketDescriptor, value: onSocket });

  return () => {
    if (agentProto.addRequest === addRequest) Object.defineProperty(agentProto, 'addRequest', addDescriptor);
    if (requestProto.onSocket === onSocket) Object.defineProperty(requestProto, 'onSocket', socketDescriptor);
  };
}

// ---------------------------------------------------------------------------------------------
// Binding to the socket

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Hands `socket` to a governed request only if it goes where the request's URL says (peer.ts):
 * else the request fails with ProvablyBlockedError before a byte of it is written, and the socket
 * is destroyed. A socket still connecting whose destination is not known yet (made outside the
 * scope for this request) is checked once it has connected.
 */
function bind(
  req: ClientRequest,
  socket: Socket | null,
  url: string,
  scope: ActiveScope,
  original: OnSocket,
): unknown {
  if (socket === null) return original.call(req, socket, undefined);
  let problem: ReturnType<typeof bindingProblem>;
  try {
    problem = bindingProblem(url, socket, ABSOLUTE_FORM.test(req.path));
  } catch (err) {
    internalError('checking the connection of an http request failed; it was refused', err);
    problem = 'provably could not check its connection';
  }
  if (problem === undefined) return original.call(req, socket, undefined);
  if (typeof problem === 'object') {
    // Not decidable yet (still connecting, TLS handshake in a tunnel): the request waits.
    const event = problem.wait;
    const cleanup = () => {
      socket.removeListener(event, onReady);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    };
    const onReady = () => {
      cleanup();
      bind(req, socket, url, scope, original);
    };
    const onError = (err: unknown) => {
      cleanup();
      original.call(req, socket, err);
    };
    const onClose = () => onError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    socket.once(event, onReady);
    socket.once('error', onError);
    socket.once('close', onClose);
    return undefined;
  }
  counters.peerMismatches++;
  refusedAtBinding.add(req);
  return original.call(req, socket, blockedError(url, scope, problem));
}

// ---------------------------------------------------------------------------------------------
// URLs

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function withPath(protocol: string, host: string, port: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path; // absolute-form (HTTP proxy)
  const defaultPort = protocol === 'https:' ? '443' : '80';
  const portPart = port !== '' && port !== defaultPort ? `:${port}` : '';
  return `${protocol}//${hostForUrl(host)}${portPart}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The connection target Node's agent will use: agent protocol, options host/port, request path. */
function agentUrl(agent: http.Agent, req: ClientRequest, options: Rec | undefined): string {
  const agentProtocol = (agent as unknown as { protocol?: unknown }).protocol;
  const protocol = typeof agentProtocol === 'string' ? agentProtocol : req.protocol;
  const host = String(options?.host ?? options?.hostname ?? req.host ?? 'localhost');
  const port = options?.port === undefined || options.port === null ? '' : String(options.port);
  return withPath(protocol || 'http:', host, port, req.path);
}

/** Agentless requests: the port is only visible in the Host header Node wrote. */
function agentlessUrl(req: ClientRequest): string {
  const hostHeader = req.getHeader('host');
  const match = typeof hostHeader === 'string' ? /:(\d+)$/.exec(hostHeader) : null;
  return withPath(req.protocol || 'http:', req.host || 'localhost', match?.[1] ?? '', req.path);
}

// ---------------------------------------------------------------------------------------------
// Capture

function abortedError(what: string): Error {
  return Object.assign(new Error(`${what} aborted`), { code: 'ECONNRESET' });
}

function instrument(
  req: ClientRequest,
  scope: ActiveScope,
  orgId: string,
  url: string,
  startedAt: Date,
): void {
  try {
    let capture: Capture | undefined;
    let responded = false;
    let requestError: unknown;
    // Started lazily so headers set after http.request() returned (before sending) are included.
    const ensure = (): Capture => {
      capture ??= startCapture(
        scope,
        orgId,
        req.method,
        url,
        requestHeadersToMap(req.getHeaders()),
        startedAt,
      );
      return capture;
    };
    const emit = req.emit;
    req.emit = function observedEmit(
      this: ClientRequest,
      event: string | symbol,
      ...args: unknown[]
    ): boolean {
      try {
        if (refusedAtBinding.has(req)) {
          // Refused before it was written: nothing answered, nothing to record.
        } else if (event === 'response') {
          responded = true;
          const c = ensure();
          c.peer(() => peerOf(req.socket, effectiveDestination(req.socket)));
          observeResponse(args[0] as IncomingMessage, c);
        } else if (event === 'upgrade' || event === 'connect') {
          responded = true;
          const res = args[0] as IncomingMessage;
          const c = ensure();
          c.peer(() => peerOf(req.socket, effectiveDestination(req.socket)));
          c.response(res.statusCode ?? 0, () => rawHeadersToMap(res.rawHeaders));
          c.finishDetached();
        } else if (event === 'error' && !responded) {
          requestError ??= args[0];
        } else if (event === 'close' && !responded) {
          responded = true;
          // Refused by provably (the connection guard): nothing answered, nothing to record.
          if (!(requestError instanceof ProvablyBlockedError))
            ensure().fail(requestError ?? abortedError('request'));
        }
      } catch (err) {
        internalError('observing an http request failed', err);
      }
      return Reflect.apply(emit, this, [event, ...args]) as boolean;
    } as typeof req.emit;
  } catch (err) {
    internalError('instrumenting an http request failed; it went out uncaptured', err);
  }
}

/**
 * Fails a response whose body fully arrived but whose row could not be committed. Not through
 * IncomingMessage's own _destroy: that reports an aborted response ('aborted' event), and axios
 * and got would replace the commit error with their own "aborted" error. The socket is destroyed:
 * its response never ended, so it cannot go back to the agent's pool.
 */
function failResponse(res: IncomingMessage, err: unknown): void {
  res._destroy = (error, callback) => {
    res.socket?.destroy();
    callback(error);
  };
  res.destroy(err instanceof Error ? err : new Error(String(err)));
}

function observeResponse(res: IncomingMessage, capture: Capture): void {
  capture.response(res.statusCode ?? 0, () => rawHeadersToMap(res.rawHeaders));
  const body = observePush(
    res,
    capture,
    'an http',
    (release) => release(),
    (err) => failResponse(res, err),
  );
  let responseError: unknown;
  const emit = res.emit;
  res.emit = function observedEmit(
    this: IncomingMessage,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    try {
      if (event === 'error') responseError ??= args[0];
      else if (event === 'close' && !body.ended) {
        body.ended = true;
        capture.fail(responseError ?? res.errored ?? abortedError('response'));
      }
    } catch (err) {
      internalError('observing an http response failed', err);
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof res.emit;
}
