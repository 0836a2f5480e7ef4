/**
 * Where scoped code may open connections, and where each socket really went.
 *
 * Allowed destinations inside a scope: the host:port of one of the org's trusted endpoints (the
 * gate's `allowsDestination`, scheme default ports), a declared egress proxy, or a unix socket
 * path in the allow list. The connection guard (connect-guard.ts) asks `allowedDestination` /
 * `allowedUnixSocket` before every scoped `net.Socket#connect`; other adapters (node:http2,
 * dgram, dns) reuse the same check.
 *
 * Every socket the guard lets through is remembered with its true destination (WeakMap), so the
 * adapters can compare the recorded URL with the socket that carries it (peer.ts).
 */
import { isAbsolute, normalize } from 'node:path';
import { type EgressProxy, parseEgressProxies, parseUnixSockets } from '../config/egress.js';
import { canonicalHost } from '../config/host.js';
import type { ActiveScope } from '../scope/types.js';
import { activeGate, blockedError, counters, isPromiseLike } from './core.js';
import type { EgressOptions, TrustGate } from './types.js';

export { canonicalHost };

export type DestinationVerdict =
  | {
      readonly ok: true /** The declared proxy's origin when the destination is one. */;
      readonly proxy: string | null;
    }
  | { readonly ok: false; readonly error: Error };

/** A socket's true destination, as given to connect (never what a client described). */
export interface SocketDestination {
  /** Canonical host (lower-case, IPv6 without brackets); null for a unix socket. */
  readonly host: string | null;
  readonly port: number | null;
  /** The unix socket path; null for TCP. */
  readonly path: string | null;
  /** The declared proxy's origin when the destination is one; else null. */
  readonly proxy: string | null;
}

let proxies: readonly EgressProxy[] = [];
let unixSockets: ReadonlySet<string> = new Set();

/** Sets the declared proxies and unix sockets; throws ProvablyConfigError on an invalid value. */
export function configureEgress(options: EgressOptions | undefined): void {
  const p = parseEgressProxies([...(options?.proxies ?? [])], 'egress.proxies');
  const u = parseUnixSockets([...(options?.unixSockets ?? [])], 'egress.unixSockets');
  proxies = p;
  unixSockets = new Set(u);
}

/** A TCP port as a number, or null when it is not one (0 is not a destination). */
export function portNumber(port: unknown): number | null {
  const n =
    typeof port === 'number' ? port : typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : null;
}

/** The declared proxy at host:port (canonical host), or null. */
export function proxyAt(host: string, port: number): string | null {
  for (const p of proxies) if (p.host === host && p.port === port) return p.origin;
  return null;
}

/**
 * May scoped code in `scope` connect to `host:port`? Synchronous once the org's trusted set is
 * loaded; a promise (that never rejects) before. A refusal carries the ProvablyBlockedError
 * (counted as a blocked connection).
 */
export function allowedDestination(
  scope: ActiveScope,
  host: string,
  port: number | string,
): DestinationVerdict | Promise<DestinationVerdict> {
  const h = canonicalHost(host);
  const p = portNumber(port);
  const shown = `tcp://${typeof host === 'string' && host.includes(':') ? `[${host}]` : String(host)}:${String(port)}`;
  if (h === null || p === null) return refused(shown, scope, 'the destination is not a host and port');
  const proxy = proxyAt(h, p);
  if (proxy !== null) return { ok: true, proxy };
  let answer: boolean | Promise<boolean>;
  try {
    const { gate, orgId } = activeGate();
    answer = askGate(gate, h, p, orgId);
  } catch (err) {
    return refused(shown, scope, 'the trust gate failed', err);
  }
  if (isPromiseLike<boolean>(answer)) {
    return Promise.resolve(answer).then(
      (ok) => (ok ? { ok: true, proxy: null } : refused(shown, scope, 'not a trusted destination')),
      (err: unknown) => refused(shown, scope, 'the trust gate failed', err),
    );
  }
  return answer ? { ok: true, proxy: null } : refused(shown, scope, 'not a trusted destination');
}

/** May scoped code in `scope` connect to the unix socket at `path`? */
export function allowedUnixSocket(scope: ActiveScope, path: unknown): DestinationVerdict {
  if (typeof path === 'string' && isAbsolute(path) && unixSockets.has(normalize(path))) {
    return { ok: true, proxy: null };
  }
  return refused(`unix:${String(path)}`, scope, 'not an allowed unix socket (PROVABLY_ALLOW_UNIX_SOCKETS)');
}

function askGate(gate: TrustGate, host: string, port: number, orgId: string): boolean | Promise<boolean> {
  if (typeof gate.allowsDestination === 'function') return gate.allowsDestination(host, port, orgId);
  // An origin-level gate without destinations: is either scheme's root at host:port trusted?
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const first = gate.check(`http://${authority}/`, orgId);
  const then = (entry: string | null): boolean | Promise<boolean> => {
    if (typeof entry === 'string') return true;
    const second = gate.check(`https://${authority}/`, orgId);
    return isPromiseLike<string | null>(second)
      ? Promise.resolve(second).then((e) => typeof e === 'string')
      : typeof second === 'string';
  };
  return isPromiseLike<string | null>(first) ? Promise.resolve(first).then(then) : then(first);
}

function refused(shown: string, scope: ActiveScope, detail: string, cause?: unknown): DestinationVerdict {
  counters.connectionsBlocked++;
  const error = blockedError(shown, scope, detail);
  if (cause !== undefined) Object.defineProperty(error, 'cause', { value: cause, configurable: true });
  return { ok: false, error };
}

// ---------------------------------------------------------------------------------------------
// Where sockets really went

const socketDestinations = new WeakMap<object, SocketDestination>();

export function noteDestination(socket: object, destination: SocketDestination): void {
  socketDestinations.set(socket, destination);
}

/**
 * A socket a declared proxy turned into a tunnel (a CONNECT we saw succeed): from now on its
 * destination is the CONNECT target, reached through that proxy.
 */
export function noteTunnel(socket: object, host: string, port: number, proxy: string): void {
  socketDestinations.set(socket, { host, port, path: null, proxy });
}

/**
 * The true destination of `socket`: recorded at its connect, or, for a TLS socket layered over
 * another socket (a CONNECT tunnel), the destination of the socket underneath. Undefined when
 * the socket was not connected under the guard (opened outside any scope, or a stream that is
 * not a socket).
 */
export function destinationOf(socket: unknown): SocketDestination | undefined {
  let current: unknown = socket;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const known = socketDestinations.get(current);
    if (known !== undefined) return known;
    current = (current as { _parent?: unknown })._parent;
  }
  return undefined;
}
