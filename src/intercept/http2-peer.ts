/**
 * Who answered an HTTP/2 call: the session's socket as it sees itself (remote address and port,
 * and for TLS the certificate the server presented). Read when the response head arrives.
 */
import { createHash } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import type { CallPeer, CallPeerTls } from '../record/types.js';

interface SocketView {
  remoteAddress?: string;
  remotePort?: number;
  encrypted?: boolean;
  getPeerCertificate?: (detailed?: boolean) => PeerCertificate | Record<string, never>;
}

function subjectLine(subject: unknown): string {
  if (subject === null || typeof subject !== 'object') return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(subject as Record<string, unknown>)) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${String(v)}`);
  }
  return parts.join(', ');
}

function tlsOf(socket: SocketView): CallPeerTls | null {
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return null;
  const cert = socket.getPeerCertificate(false) as Partial<PeerCertificate>;
  if (!cert?.raw) return null;
  return {
    certSha256: createHash('sha256').update(cert.raw).digest('hex'),
    subject: subjectLine(cert.subject),
    subjectAltName: cert.subjectaltname ?? null,
  };
}

/** The peer of `session`, or undefined when its socket is gone (the row then has no peer). */
export function sessionPeer(session: ClientHttp2Session): CallPeer | undefined {
  const socket = session.socket as SocketView | undefined;
  if (socket?.remoteAddress === undefined) return undefined;
  return {
    address: socket.remoteAddress,
    port: socket.remotePort ?? null,
    protocol: 'h2',
    tls: tlsOf(socket),
    proxy: null,
  };
}
