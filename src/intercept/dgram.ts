/**
 * node:dgram adapter: inside a scope, a datagram may only go to a destination listed in
 * PROVABLY_ALLOW_UDP (host:port, compared as written: a host name allows that name, not the
 * addresses it resolves to). `Socket.prototype.send` (and so `sendto`) and `connect` are replaced;
 * a refused send or connect never reaches Node's, so nothing is looked up or sent, and the error
 * (ProvablyBlockedError, or ProvablyConfigError for an unusable PROVABLY_ALLOW_UDP) arrives the
 * way Node reports a failed send/connect: to the callback when one is given, else as the socket's
 * 'error' event. Outside a scope nothing is checked. Datagrams are not recorded.
 */
import dgram from 'node:dgram';
import { allows, readUdpAllowlist } from '../config/network.js';
import type { ActiveScope } from '../scope/types.js';
import { blockedError, internalError, resolveScope } from './core.js';

type Fn = (this: dgram.Socket, ...args: unknown[]) => unknown;

/** Where a connect() started inside or outside a scope is going (until Node knows it connected). */
const connecting = new WeakMap<dgram.Socket, { host: string; port: number }>();

function defaultHost(socket: dgram.Socket): string {
  return (socket as unknown as { type?: string }).type === 'udp6' ? '::1' : '127.0.0.1';
}

function hostOf(socket: dgram.Socket, address: unknown): string {
  return typeof address === 'string' && address !== '' ? address : defaultHost(socket);
}

function connectedPeer(socket: dgram.Socket): { host: string; port: number } | undefined {
  try {
    const peer = socket.remoteAddress();
    return { host: peer.address, port: peer.port };
  } catch {
    return undefined;
  }
}

/**
 * The destination of a send() call, following Node's own argument rules: a connected socket sends
 * to its peer; otherwise the arguments name it; a send with no destination while a connect() is
 * under way goes to that connect's target.
 */
function sendTarget(socket: dgram.Socket, args: unknown[]): { host: string; port: number } | undefined {
  const peer = connectedPeer(socket);
  if (peer !== undefined) return peer;
  const [, offset, length, port, address] = args;
  const explicit =
    address || (port && typeof port !== 'function')
      ? { host: hostOf(socket, typeof address === 'function' ? undefined : address), port: Number(port) }
      : { host: hostOf(socket, typeof length === 'function' ? undefined : length), port: Number(offset) };
  if (Number.isInteger(explicit.port) && explicit.port > 0) return explicit;
  return connecting.get(socket) ?? explicit;
}

function formatTarget(host: string, port: number): string {
  return `udp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Null when allowed, else the error the caller gets. */
function refusal(scope: ActiveScope, target: { host: string; port: number } | undefined): Error | null {
  if (target === undefined || !Number.isInteger(target.port)) {
    return blockedError(
      'udp://(unknown destination)',
      scope,
      'provably could not tell where this datagram goes',
    );
  }
  let list: ReturnType<typeof readUdpAllowlist>;
  try {
    list = readUdpAllowlist();
  } catch (err) {
    return err as Error;
  }
  if (allows(list, target.host, target.port)) return null;
  return blockedError(
    formatTarget(target.host, target.port),
    scope,
    'UDP destination not in PROVABLY_ALLOW_UDP',
  );
}

function deliver(socket: dgram.Socket, args: unknown[], error: Error): void {
  const callback = [...args].reverse().find((a) => typeof a === 'function') as
    | ((e: Error) => void)
    | undefined;
  process.nextTick(() => {
    if (callback !== undefined) callback(error);
    else socket.emit('error', error);
  });
}

export function installDgram(): () => void {
  const proto = dgram.Socket.prototype as unknown as Record<'send' | 'connect', Fn>;
  const sendDescriptor = Object.getOwnPropertyDescriptor(proto, 'send');
  const connectDescriptor = Object.getOwnPropertyDescriptor(proto, 'connect');
  if (typeof sendDescriptor?.value !== 'function' || typeof connectDescriptor?.value !== 'function') {
    internalError('node:dgram internals are not as expected; UDP is not governed', undefined);
    return () => {};
  }
  const originalSend = sendDescriptor.value as Fn;
  const originalConnect = connectDescriptor.value as Fn;

  const send: Fn = function send(this: dgram.Socket, ...args) {
    const scope = resolveScope();
    if (scope === undefined) return originalSend.apply(this, args);
    let error: Error | null;
    try {
      error = refusal(scope, sendTarget(this, args));
    } catch (err) {
      internalError('checking a UDP send failed; it was refused', err);
      error = blockedError('udp://(unknown destination)', scope, 'provably could not check it');
    }
    if (error === null) return originalSend.apply(this, args);
    deliver(this, args, error);
    return undefined;
  };

  const connect: Fn = function connect(this: dgram.Socket, ...args) {
    const [port, address] = args;
    const target = {
      host: hostOf(this, typeof address === 'function' ? undefined : address),
      port: Number(port),
    };
    const scope = resolveScope();
    if (scope !== undefined) {
      const error = refusal(scope, target);
      if (error !== null) {
        deliver(this, args, error);
        return undefined;
      }
    }
    const result = originalConnect.apply(this, args);
    connecting.set(this, target);
    return result;
  };

  Object.defineProperty(proto, 'send', { ...sendDescriptor, value: send });
  Object.defineProperty(proto, 'connect', { ...connectDescriptor, value: connect });
  return () => {
    if (proto.send === send) Object.defineProperty(proto, 'send', sendDescriptor);
    if (proto.connect === connect) Object.defineProperty(proto, 'connect', connectDescriptor);
  };
}
