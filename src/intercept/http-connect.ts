/**
 * `CONNECT` requests made with node:http inside a scope (the `tunnel` package, hand-written
 * tunnels): allowed only to a declared egress proxy, and only to a target host:port the org's
 * trusted endpoints allow. The tunnel is not a call (nothing is recorded); once the proxy answers
 * 200, its socket counts as going to the target through that proxy, so requests sent inside it
 * (TLS over it) are bound to the target (peer.ts).
 */
import type { ClientRequest } from 'node:http';
import type { ActiveScope } from '../scope/types.js';
import { blockedError, counters, internalError, isPromiseLike } from './core.js';
import {
  allowedDestination,
  canonicalHost,
  type DestinationVerdict,
  noteTunnel,
  portNumber,
  proxyAt,
} from './destinations.js';

type Rec = Record<string, unknown>;

/**
 * Decides a CONNECT: calls `refuse(error)` or `send()` (possibly later, while the trusted set
 * loads). `options` are the agent's merged connection options (where the socket will go).
 */
export function governConnectRequest(
  req: ClientRequest,
  options: Rec | undefined,
  scope: ActiveScope,
  refuse: (error: unknown) => unknown,
  send: () => unknown,
): unknown {
  const host = canonicalHost(options?.host ?? options?.hostname ?? 'localhost');
  const port = portNumber(options?.port ?? 80);
  const proxy = host === null || port === null ? null : proxyAt(host, port);
  const target = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(req.path);
  const shown = `http://${String(options?.host)}:${String(options?.port)} CONNECT ${req.path}`;
  if (proxy === null || target === null) {
    counters.connectionsBlocked++;
    return refuse(
      blockedError(shown, scope, proxy === null ? 'not a declared egress proxy' : 'not a host:port target'),
    );
  }
  const targetHost = canonicalHost(target[1]);
  const targetPort = portNumber(target[2]);
  const go = (v: DestinationVerdict): unknown => {
    if (!v.ok) return refuse(v.error);
    watchTunnel(req, (socket) => {
      if (targetHost !== null && targetPort !== null) noteTunnel(socket, targetHost, targetPort, proxy);
    });
    return send();
  };
  const verdict = allowedDestination(scope, String(target[1]), String(target[2]));
  if (isPromiseLike<DestinationVerdict>(verdict)) {
    verdict
      .then((v) => {
        if (!req.destroyed) go(v);
      })
      .then(undefined, (err: unknown) => internalError('a deferred CONNECT failed', err));
    return undefined;
  }
  return go(verdict);
}

/** Notes the tunnel socket when the proxy accepts, without adding a 'connect' listener. */
function watchTunnel(req: ClientRequest, onTunnel: (socket: object) => void): void {
  const emit = req.emit;
  req.emit = function observedEmit(this: ClientRequest, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'connect') {
      try {
        const res = args[0] as { statusCode?: number } | undefined;
        const socket = args[1];
        if (res?.statusCode === 200 && socket !== null && typeof socket === 'object') onTunnel(socket);
      } catch (err) {
        internalError('noting a CONNECT tunnel failed', err);
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof req.emit;
}
