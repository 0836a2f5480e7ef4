/**
 * What the HTTP/2 adapter knows about a client session, and how it opens a stream whose HEADERS
 * wait for a decision.
 *
 * A session's ORIGIN is where its connection goes: the authority given to `http2.connect`
 * (`scheme://host:port`, default ports filled in), learned by the connect patch. Every request on
 * the session is checked against that origin, whatever `:authority` it carries — a client may
 * send any `:authority` over a connection to another host. Sessions the patch never saw (made
 * before install) fall back to the address the socket is connected to.
 */
import type { ClientHttp2Session, ClientHttp2Stream, SecureClientSessionOptions } from 'node:http2';
import { isIP } from 'node:net';

export interface SessionInfo {
  /** `http://host:port` / `https://host:port` (lower-case host, IPv6 in brackets, port always shown). */
  readonly origin: string;
  /** Why requests on this session cannot be governed (refused inside a scope), or null. */
  readonly problem: string | null;
  /** The connection came from a caller-supplied `createConnection` (gRPC does this). */
  readonly customConnection: boolean;
}

const sessions = new WeakMap<object, SessionInfo>();

export function rememberSession(session: object, info: SessionInfo): void {
  sessions.set(session, info);
}

function hostForOrigin(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) === 6 ? `[${bare.toLowerCase()}]` : bare.toLowerCase();
}

export function originOf(scheme: string, host: string, port: string | number): string {
  return `${scheme}://${hostForOrigin(host)}:${port}`;
}

/**
 * The origin `http2.connect(authority, options)` connects to, computed the way Node does (URL
 * authority, default port by scheme), plus any option that sends the connection elsewhere.
 * Throws on an authority Node itself would reject (the caller then lets Node report it).
 */
export function connectTarget(authority: unknown, options: unknown): SessionInfo {
  const url = typeof authority === 'string' ? new URL(authority) : (authority as URL);
  if (!(url instanceof URL)) throw new TypeError('authority is neither a string nor a URL');
  const opts = (options ?? {}) as SecureClientSessionOptions & { path?: unknown; socketPath?: unknown };
  const protocol = url.protocol || opts.protocol || 'https:';
  const scheme = protocol === 'http:' ? 'http' : 'https';
  const port = url.port !== '' ? url.port : protocol === 'http:' ? '80' : '443';
  const host = url.hostname || 'localhost';
  const origin = originOf(scheme, host, port);
  const customConnection = typeof opts.createConnection === 'function';
  // Node spreads these options over the connect target (net.connect({ port, host, ...options })):
  // a session whose socket goes somewhere other than its authority cannot be attributed.
  let problem: string | null = null;
  if (customConnection) {
    // The caller's own connection: these options are its business; the socket it hands over is
    // compared with the origin per request (connectionMismatch).
  } else if (opts.path !== undefined || opts.socketPath !== undefined) {
    problem = 'the session connects to a socket path, not to its authority';
  } else if (opts.host !== undefined && hostForOrigin(String(opts.host)) !== hostForOrigin(host)) {
    problem = `the session connects to host ${String(opts.host)}, not to its authority`;
  } else if (opts.port !== undefined && String(opts.port) !== port) {
    problem = `the session connects to port ${String(opts.port)}, not to its authority`;
  }
  return { origin, problem, customConnection };
}

interface SocketView {
  remoteAddress?: string;
  remotePort?: number;
  encrypted?: boolean;
}

/** What the request check needs about a session: remembered, or read off its socket. */
export function sessionInfo(session: ClientHttp2Session): SessionInfo {
  const known = sessions.get(session);
  if (known !== undefined) return known;
  const socket = session.socket as SocketView | undefined;
  if (socket?.remoteAddress === undefined || socket.remotePort === undefined) {
    return {
      origin: '(unknown)',
      problem: 'the session was not opened through http2.connect',
      customConnection: true,
    };
  }
  return {
    origin: originOf(socket.encrypted ? 'https' : 'http', socket.remoteAddress, socket.remotePort),
    problem: null,
    customConnection: false,
  };
}

/**
 * A caller-supplied connection (gRPC opens its own socket and hands it to http2.connect) may go
 * anywhere: its port must be the origin's, and when the origin names an IP address, so must the
 * socket. (A host NAME cannot be compared with an address without a second DNS answer; where such
 * a socket connects is the connection guard's business.)
 */
/** True while a caller-supplied connection has no peer yet: the check must wait for 'connect'. */
export function awaitsConnection(session: ClientHttp2Session, info: SessionInfo): boolean {
  if (!info.customConnection) return false;
  return (session.socket as SocketView | undefined)?.remoteAddress === undefined && !session.destroyed;
}

export function connectionMismatch(session: ClientHttp2Session, info: SessionInfo): string | null {
  if (!info.customConnection) return null;
  const socket = session.socket as SocketView | undefined;
  const address = socket?.remoteAddress;
  const port = socket?.remotePort;
  if (address === undefined || port === undefined) return 'the session is not connected yet';
  const url = new URL(info.origin);
  if (String(port) !== url.port) return `the session's socket is connected to port ${port}, not ${url.port}`;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host) !== 0 && hostForOrigin(address) !== hostForOrigin(host)) {
    return `the session's socket is connected to ${address}, not ${host}`;
  }
  return null;
}

type Request = (this: ClientHttp2Session, headers?: unknown, options?: unknown) => ClientHttp2Stream;

export interface DeferredStream {
  readonly stream: ClientHttp2Stream;
  /** Lets the stream's HEADERS go out (now, or at connect when the session is still connecting). */
  start(): void;
}

let pendingSymbol: symbol | null | undefined;

function pendingCalls(session: object): symbol | null {
  if (pendingSymbol === undefined) {
    pendingSymbol =
      Object.getOwnPropertySymbols(session).find((s) => s.description === 'kPendingRequestCalls') ?? null;
  }
  return pendingSymbol;
}

/**
 * Creates the caller's stream WITHOUT submitting its HEADERS, by letting Node's own request() take
 * its "session still connecting" path: Node then queues the function that submits HEADERS
 * (kPendingRequestCalls) instead of calling it; we take that function out of the queue and call
 * it only once the request is allowed. A stream that is refused is destroyed and its HEADERS
 * function is never called, so nothing about it reaches the wire. Node exposes no public way to
 * create a stream that waits, hence this; null when Node's internals are not as expected (the
 * caller then refuses).
 */
export function deferredRequest(
  session: ClientHttp2Session,
  original: Request,
  headers: unknown,
  options: unknown,
): DeferredStream | null {
  const key = pendingCalls(session);
  if (key === null) return null;
  const bag = session as unknown as Record<symbol, unknown>;
  const previous = bag[key];
  if (previous !== null && !Array.isArray(previous)) return null;
  const queue: unknown[] = [];
  bag[key] = queue;
  Object.defineProperty(session, 'connecting', { value: true, configurable: true, enumerable: false });
  let stream: ClientHttp2Stream;
  try {
    stream = original.call(session, headers, options);
  } finally {
    delete (session as unknown as { connecting?: boolean }).connecting;
    bag[key] = previous;
  }
  const submit = queue[0];
  if (queue.length !== 1 || typeof submit !== 'function') {
    stream.destroy(new Error('provably could not hold this HTTP/2 stream'));
    return null;
  }
  let started = false;
  return {
    stream,
    start() {
      if (started) return;
      started = true;
      if (!session.connecting) {
        submit();
        return;
      }
      const current = bag[key];
      if (Array.isArray(current)) current.push(submit);
      else session.once('connect', () => submit());
    },
  };
}
