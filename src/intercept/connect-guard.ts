/**
 * The connection guard: `net.Socket.prototype.connect` is where every outbound TCP and unix
 * socket of the process starts — net.connect, tls.connect (a TLSSocket connects itself), the
 * http/https agents, undici, http2, ws, proxy agents, SOCKS clients. Patching that one method
 * (once, restorable) puts the trust decision on the socket that is actually opened, whatever a
 * client described.
 *
 * Inside a scope the destination must be allowed (destinations.ts): else the real connect is
 * never called and the socket fails through its normal error path (`destroy(err)` on the next
 * tick, as a failed DNS lookup would): 0 connections, 0 bytes. A custom `lookup` option is refused
 * inside a scope (it could send a trusted name's bytes to any address). Before the org's trusted
 * set has loaded, the connect is deferred until it has (the socket reports `connecting` and
 * buffers writes meanwhile), then allowed or refused.
 *
 * Outside a scope: one resolveScope() call and the original connect, nothing else.
 */
import dns from 'node:dns';
import net from 'node:net';
import type { ActiveScope } from '../scope/types.js';
import { isOwnSocket } from '../store/own-sockets.js';
import { blockedError, counters, internalError, isPromiseLike, resolveScope } from './core.js';
import {
  allowedDestination,
  allowedUnixSocket,
  canonicalHost,
  type DestinationVerdict,
  noteDestination,
  portNumber,
} from './destinations.js';

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;
type Rec = Record<string, unknown>;

/** Node's own argument normaliser (the array connect() itself accepts again unchanged). */
const normalizeArgs = (net as unknown as { _normalizeArgs?: (args: unknown[]) => unknown[] })._normalizeArgs;

export function installConnectGuard(): () => void {
  const proto = net.Socket.prototype as unknown as { connect: Connect };
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'connect');
  if (typeof descriptor?.value !== 'function' || typeof normalizeArgs !== 'function') {
    internalError('node:net internals are not as expected; connections are not guarded', undefined);
    return () => {};
  }
  const original = descriptor.value as Connect;

  const connect: Connect = function connect(...args) {
    const scope = resolveScope();
    if (scope === undefined) return original.apply(this, args);
    return guard(this, args, scope, original);
  };

  Object.defineProperty(proto, 'connect', { ...descriptor, value: connect });
  return () => {
    if (proto.connect === connect) Object.defineProperty(proto, 'connect', descriptor);
  };
}

function guard(socket: net.Socket, args: unknown[], scope: ActiveScope, original: Connect): net.Socket {
  if (isOwnSocket(socket)) return original.apply(socket, args); // provably's own store
  let normalized: unknown[];
  let options: Rec;
  try {
    // net.createConnection / tls.connect hand connect() an array Node already normalised.
    normalized = Array.isArray(args[0]) ? args[0] : (normalizeArgs as (a: unknown[]) => unknown[])(args);
    options = (normalized[0] ?? {}) as Rec;
  } catch (err) {
    // Node would throw its own argument error: let it, the connection does not happen either way.
    internalError('reading net connect arguments failed', err);
    return original.apply(socket, args);
  }
  let verdict: DestinationVerdict | Promise<DestinationVerdict>;
  let host: string | null = null;
  let port: number | null = null;
  const path = typeof options.path === 'string' && options.path !== '' ? options.path : null;
  try {
    if (path !== null) {
      verdict = allowedUnixSocket(scope, path);
    } else if (options.lookup !== undefined && options.lookup !== dns.lookup) {
      counters.connectionsBlocked++;
      verdict = {
        ok: false,
        error: blockedError(
          `tcp://${String(options.host ?? 'localhost')}:${String(options.port)}`,
          scope,
          'a custom DNS lookup is not allowed inside a scope',
        ),
      };
    } else {
      host = canonicalHost(options.host ?? 'localhost');
      port = portNumber(options.port);
      verdict = allowedDestination(scope, String(options.host ?? 'localhost'), options.port as string);
    }
  } catch (err) {
    internalError('the connection guard failed; the connection was refused', err);
    verdict = {
      ok: false,
      error: blockedError('(unknown destination)', scope, 'provably could not check it'),
    };
  }
  const proceed = (v: DestinationVerdict): net.Socket => {
    if (!v.ok) {
      const error = v.error;
      process.nextTick(() => socket.destroy(error));
      return socket;
    }
    noteDestination(socket, { host, port, path, proxy: v.proxy });
    // The normalised array is what connect() accepts from itself: no second parse of user args.
    return original.call(socket, normalized);
  };
  if (!isPromiseLike<DestinationVerdict>(verdict)) return proceed(verdict);

  // First load of the org's trusted set: the socket waits, as if resolving its host name.
  (socket as { connecting: boolean }).connecting = true;
  verdict
    .then((v) => {
      if (socket.destroyed) return;
      proceed(v);
    })
    .then(undefined, (err: unknown) => {
      internalError('a deferred connection failed', err);
      socket.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  return socket;
}
