/**
 * Who answered an HTTP/2 call: the session's socket as it sees itself (remote address and port,
 * and for TLS the certificate the server presented). Read when the response head arrives.
 */
import type { ClientHttp2Session } from 'node:http2';
import type { CallPeer } from '../record/types.js';
import { socketTls } from './peer.js';

interface SocketView {
  remoteAddress?: string;
  remotePort?: number;
}

/** The peer of `session`, or undefined when its socket is gone (the row then has no peer). */
export function sessionPeer(session: ClientHttp2Session): CallPeer | undefined {
  const outer = session.socket as (SocketView & { stream?: SocketView }) | undefined;
  // A socket that had no handle yet when the session was set up (the connection guard was still
  // waiting for the trusted set) is wrapped by Node in a JSStreamSocket: the peer is its `stream`.
  const socket = outer?.remoteAddress !== undefined ? outer : outer?.stream;
  if (socket?.remoteAddress === undefined) return undefined;
  return {
    address: socket.remoteAddress,
    port: socket.remotePort ?? null,
    protocol: 'h2',
    tls: socketTls(socket),
    proxy: null,
  };
}
