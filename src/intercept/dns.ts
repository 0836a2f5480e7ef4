/**
 * node:dns adapter: inside a scope, a query through a resolver whose servers are not the system's
 * (`resolver.setServers(…)`, `dns.setServers(…)`, the same on `dns.promises`) is refused unless
 * every server it would ask is listed in PROVABLY_ALLOW_DNS_SERVERS. The system's own servers (read
 * from the OS configuration when provably installs) and `dns.lookup` (getaddrinfo) are never
 * touched. A refused query is never handed to c-ares: the callback gets the error on the next
 * tick, or the promise rejects with it (ProvablyBlockedError; ProvablyConfigError for an unusable
 * PROVABLY_ALLOW_DNS_SERVERS). Outside a scope nothing is checked.
 *
 * Patched: the query methods of `dns.Resolver.prototype` and `dns.promises.Resolver.prototype`,
 * and the module-level `dns.resolve*` / `dns.promises.resolve*` (Node binds those to the default
 * resolver when it loads, so they do not go through the prototypes).
 */
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import { allows, type HostPort, parseHostPort, readDnsServerAllowlist } from '../config/network.js';
import type { ActiveScope } from '../scope/types.js';
import { blockedError, internalError, resolveScope } from './core.js';

const QUERIES = [
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveCaa',
  'resolveCname',
  'resolveMx',
  'resolveNaptr',
  'resolveNs',
  'resolvePtr',
  'resolveSoa',
  'resolveSrv',
  'resolveTlsa',
  'resolveTxt',
  'reverse',
] as const;

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Servers = () => string[];

let systemServers: readonly HostPort[] = [];

function serverOf(text: string): HostPort | undefined {
  try {
    return parseHostPort(text, 'dns server', 53);
  } catch {
    return undefined;
  }
}

/** Null when every server is the system's or allowed, else the error the caller gets. */
function refusal(scope: ActiveScope, servers: string[]): Error | null {
  let allowed: readonly HostPort[];
  try {
    allowed = readDnsServerAllowlist();
  } catch (err) {
    return err as Error;
  }
  for (const text of servers) {
    const server = serverOf(text);
    if (
      server !== undefined &&
      (allows(systemServers, server.host, server.port) || allows(allowed, server.host, server.port))
    ) {
      continue;
    }
    const shown =
      server === undefined
        ? text
        : `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
    return blockedError(`dns://${shown}/`, scope, 'DNS server not in PROVABLY_ALLOW_DNS_SERVERS');
  }
  return null;
}

function wrap(original: Fn, serversOf: (self: unknown) => string[], promise: boolean): Fn {
  return function query(this: unknown, ...args: unknown[]) {
    const scope = resolveScope();
    if (scope === undefined) return Reflect.apply(original, this, args);
    let error: Error | null;
    try {
      error = refusal(scope, serversOf(this));
    } catch (err) {
      internalError('checking a DNS query failed; it was refused', err);
      error = blockedError('dns://(unknown server)/', scope, 'provably could not check it');
    }
    if (error === null) return Reflect.apply(original, this, args);
    if (promise) return Promise.reject(error);
    const callback = args[args.length - 1];
    if (typeof callback !== 'function') return Reflect.apply(original, this, args); // Node throws its usual TypeError
    process.nextTick(callback as (e: Error) => void, error);
    return undefined;
  };
}

export function installDns(): () => void {
  const undo: Array<() => void> = [];
  try {
    systemServers = dns.getServers().flatMap((s) => serverOf(s) ?? []);
  } catch (err) {
    internalError('reading the system DNS servers failed; every custom resolver is checked', err);
  }
  const patch = (target: Record<string, unknown>, name: string, replacement: (f: Fn) => Fn) => {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    if (typeof descriptor?.value !== 'function') return;
    const value = replacement(descriptor.value as Fn);
    Object.defineProperty(target, name, { ...descriptor, value });
    undo.push(() => {
      if (target[name] === value) Object.defineProperty(target, name, descriptor);
    });
  };
  const own = (self: unknown) => (self as { getServers: Servers }).getServers();
  const callbackProto = dns.Resolver.prototype as unknown as Record<string, unknown>;
  const promiseProto = dns.promises.Resolver.prototype as unknown as Record<string, unknown>;
  const callbackModule = dns as unknown as Record<string, unknown>;
  const promiseModule = dns.promises as unknown as Record<string, unknown>;
  for (const name of QUERIES) {
    patch(callbackProto, name, (f) => wrap(f, own, false));
    patch(promiseProto, name, (f) => wrap(f, own, true));
    patch(callbackModule, name, (f) => wrap(f, () => dns.getServers(), false));
    patch(promiseModule, name, (f) => wrap(f, () => dns.promises.getServers(), true));
  }
  syncBuiltinESMExports();
  return () => {
    for (const step of undo.reverse()) step();
    syncBuiltinESMExports();
  };
}
