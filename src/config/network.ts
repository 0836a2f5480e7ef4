/**
 * Non-HTTP destinations a scope may reach, from the environment:
 *   PROVABLY_ALLOW_UDP          comma-separated host:port (`127.0.0.1:8125`, `[::1]:514`, `statsd.local:8125`)
 *   PROVABLY_ALLOW_DNS_SERVERS  comma-separated ip[:port] (`10.0.0.2`, `10.0.0.2:5353`, `[fd00::2]:53`)
 * Read on demand; the parsed list is reused while the variable's text is unchanged. An invalid
 * entry is a ProvablyConfigError naming the variable and the entry.
 */
import { isIP } from 'node:net';
import { ProvablyConfigError } from '../errors/index.js';
import type { Env } from './index.js';
import { splitList } from './list.js';

/** One allowed destination: host lower-cased, IPv6 without brackets. */
export interface HostPort {
  host: string;
  port: number;
}

const cache = new Map<string, { raw: string; list: readonly HostPort[] }>();

function parsePort(text: string, name: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new ProvablyConfigError(name, `invalid port in ${JSON.stringify(entry)} (expected 1-65535)`);
  }
  return Number(text);
}

/** `host:port`, `[v6]:port`; with `defaultPort`, also a bare host / bare IPv6. */
export function parseHostPort(entry: string, name: string, defaultPort?: number): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(entry);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2];
    if (isIP(host) !== 6)
      throw new ProvablyConfigError(name, `${JSON.stringify(entry)}: brackets hold an IPv6 address only`);
  } else if (isIP(entry) === 6) {
    host = entry;
  } else {
    const i = entry.lastIndexOf(':');
    host = i < 0 ? entry : entry.slice(0, i);
    port = i < 0 ? undefined : entry.slice(i + 1);
  }
  if (port === undefined) {
    if (defaultPort === undefined)
      throw new ProvablyConfigError(name, `${JSON.stringify(entry)} has no port (host:port)`);
    return { host: host.toLowerCase(), port: defaultPort };
  }
  if (host === '' || !/^[a-z0-9.:_-]+$/i.test(host)) {
    throw new ProvablyConfigError(name, `invalid host in ${JSON.stringify(entry)}`);
  }
  return { host: host.toLowerCase(), port: parsePort(port, name, entry) };
}

function readList(env: Env, name: string, parse: (entry: string) => HostPort): readonly HostPort[] {
  const raw = env[name] ?? '';
  const cached = cache.get(name);
  if (cached !== undefined && cached.raw === raw) return cached.list;
  const list = splitList(raw).map(parse);
  cache.set(name, { raw, list });
  return list;
}

/** PROVABLY_ALLOW_UDP: destinations `dgram` sockets may send to (or connect to) inside a scope. */
export function readUdpAllowlist(env: Env = process.env): readonly HostPort[] {
  return readList(env, 'PROVABLY_ALLOW_UDP', (e) => parseHostPort(e, 'PROVABLY_ALLOW_UDP'));
}

/** PROVABLY_ALLOW_DNS_SERVERS: DNS servers a `dns.Resolver` may query inside a scope (port defaults to 53). */
export function readDnsServerAllowlist(env: Env = process.env): readonly HostPort[] {
  return readList(env, 'PROVABLY_ALLOW_DNS_SERVERS', (e) => {
    const hp = parseHostPort(e, 'PROVABLY_ALLOW_DNS_SERVERS', 53);
    if (isIP(hp.host) === 0) {
      throw new ProvablyConfigError(
        'PROVABLY_ALLOW_DNS_SERVERS',
        `${JSON.stringify(e)}: a DNS server is an IP address`,
      );
    }
    return hp;
  });
}

export function allows(list: readonly HostPort[], host: string, port: number): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1).toLowerCase() : host.toLowerCase();
  return list.some((e) => e.host === h && e.port === port);
}
