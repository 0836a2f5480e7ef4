/**
 * Binding a governed request to the socket that carries it. The recorded URL's origin must be
 * where the socket really goes (destinations.ts): the same host and port, a declared egress proxy
 * (the URL was trust-checked; the proxy delivers it), or an allowed unix socket. Anything else —
 * an agent whose sockets go elsewhere, a Host header naming another server, a custom connect, a
 * shared socket pool — is refused before a byte of the request is written. A socket whose
 * destination cannot be determined is refused too (fail closed).
 *
 * `peerOf` describes who answered, from the socket itself: remote address and port, the TLS
 * certificate (SHA-256, subject, SAN) and the declared proxy, if any.
 */
import type { X509Certificate } from 'node:crypto';
import type { CallPeer, CallPeerTls } from '../record/types.js';
import { canonicalHost, destinationOf, proxyAt, type SocketDestination } from './destinations.js';

type Rec = Record<string, unknown>;

/**
 * The destination of `socket`: as the guard recorded it at connect, else (a socket connected
 * outside any scope, now reused by a scoped request) the host name Node's net was given
 * (`_host`, set only for names) or, for an IP literal, the address it is connected to, with the
 * port it is connected to. Undefined while unknown.
 */
export function effectiveDestination(socket: unknown): SocketDestination | undefined {
  const known = destinationOf(socket);
  if (known !== undefined) return known;
  let current: unknown = socket;
  for (let depth = 0; depth < 8 && current !== null && typeof current === 'object'; depth++) {
    const s = current as Rec;
    const named = typeof s._host === 'string' ? s._host : s.remoteAddress;
    const host = typeof named === 'string' ? canonicalHost(named) : null;
    if (host !== null && typeof s.remotePort === 'number') {
      return { host, port: s.remotePort, path: null, proxy: proxyAt(host, s.remotePort) };
    }
    current = s._parent;
  }
  return undefined;
}

/** Not decidable yet: check again once the socket has emitted this event. */
export interface BindingPending {
  readonly wait: 'connect' | 'secureConnect';
}

/**
 * Why `url` may not go out on `socket`, or undefined when it may, or what to wait for before it
 * can be told. `absoluteForm`: the request line carries the whole URL (what a plain-HTTP forward
 * proxy expects).
 */
export function bindingProblem(
  url: string,
  socket: unknown,
  absoluteForm: boolean,
): string | BindingPending | undefined {
  const destination = effectiveDestination(socket);
  if (destination === undefined) {
    if ((socket as { connecting?: unknown } | null)?.connecting === true) return { wait: 'connect' };
    return 'the connection carrying it has no known destination';
  }
  if (destination.path !== null) return undefined; // an allowed unix socket (the guard checked it)
  let host: string | null;
  let port: number;
  try {
    const u = new URL(url);
    host = canonicalHost(u.hostname);
    port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  } catch {
    return 'its URL does not parse';
  }
  const same = host === destination.host && port === destination.port;
  if (destination.proxy !== null && !same) {
    // Through a declared proxy: plain HTTP must name its target in the request line; TLS inside
    // a tunnel whose CONNECT we did not see must be for the URL's host (the certificate is
    // checked against that name).
    if (absoluteForm) return undefined;
    const verified = verifiedTlsHost(socket);
    if (verified === 'pending') return { wait: 'secureConnect' };
    if (verified !== null && canonicalHost(verified) === host) return undefined;
    return `it would go to the proxy ${destination.proxy} without naming its target`;
  }
  if (same) return undefined;
  const where =
    destination.host === null ? 'elsewhere' : `${bracket(destination.host)}:${String(destination.port)}`;
  return `the connection carrying it goes to ${where}, not to the URL's origin`;
}

/**
 * For a TLS socket: the host name its certificate was verified against (the `host`/`servername`
 * tls.connect was given), null when unverified or not TLS, 'pending' before the handshake ends.
 */
function verifiedTlsHost(socket: unknown): string | null | 'pending' {
  const s = socket as Rec | null;
  if (s === null || typeof s !== 'object' || s.encrypted !== true) return null;
  if (s._secureEstablished !== true) return s.destroyed === true ? null : 'pending';
  if (s.authorized !== true) return null;
  const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'connect-options');
  const options = (key === undefined ? undefined : s[key as unknown as string]) as Rec | undefined;
  // Node checks the certificate against `servername` when one is set, else against `host`
  // (an IP literal gets no servername: Node's own proxy tunnel passes an empty one).
  for (const name of [options?.servername, options?.host])
    if (typeof name === 'string' && name !== '') return name;
  return null;
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Who answered on `socket` (call once the socket is connected). */
export function peerOf(socket: unknown, destination: SocketDestination | undefined): CallPeer {
  const s = (socket ?? {}) as Rec;
  let address: unknown = s.remoteAddress;
  let port: unknown = s.remotePort;
  // A TLS socket layered over another stream (a CONNECT tunnel) reports its peer through that one.
  const parent = s._parent as Rec | undefined;
  if (typeof address !== 'string' && parent !== null && typeof parent === 'object') {
    address = parent.remoteAddress;
    port = parent.remotePort;
  }
  if (destination?.path != null) {
    return { address: destination.path, port: null, protocol: 'http/1.1', tls: socketTls(s), proxy: null };
  }
  return {
    address: typeof address === 'string' ? address : (destination?.host ?? ''),
    port: typeof port === 'number' ? port : (destination?.port ?? null),
    protocol: 'http/1.1',
    tls: socketTls(s),
    proxy: destination?.proxy ?? null,
  };
}

/** The certificate a TLS socket's server presented (HTTP/1.1 sockets and HTTP/2 sessions alike), else null. */
export function socketTls(socket: unknown): CallPeerTls | null {
  const get = (socket as Rec | null | undefined)?.getPeerX509Certificate;
  if (typeof get !== 'function') return null;
  let cert: X509Certificate | undefined;
  try {
    cert = (get as () => X509Certificate | undefined).call(socket);
  } catch {
    return null;
  }
  if (cert === undefined) return null;
  return {
    certSha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    subject: cert.subject.split('\n').join(', '),
    subjectAltName: cert.subjectAltName ?? null,
  };
}
