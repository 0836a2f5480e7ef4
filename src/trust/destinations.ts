/**
 * The network destinations (host + port) an org's trusted endpoints imply: the connection guard
 * lets scoped code open sockets only to these (plus declared egress proxies). An entry
 * `https://api.example.com/v1/{id}` allows `api.example.com:443`; `http://10.0.0.5:8080/x`
 * allows `10.0.0.5:8080`. Hosts are compared in the WHATWG canonical form the URLs were
 * normalized with, so `127.1`, `0x7f.0.0.1` and `127.0.0.1` are one host.
 */
import { canonicalHost } from '../config/host.js';
import { parseTrustEntry } from './template.js';

/** Canonical host for comparison (lower-case, IPv4 canonical, IPv6 without brackets), or null. */
export const canonicalDestinationHost: (host: string) => string | null = canonicalHost;

export function destinationKey(host: string, port: number): string {
  return `${host}|${port}`;
}

/** The destination keys of normalized trust entries (invalid entries contribute nothing). */
export function destinationsOf(entries: readonly string[]): Set<string> {
  const keys = new Set<string>();
  for (const entry of entries) {
    try {
      const url = new URL(parseTrustEntry(entry).origin);
      const host = canonicalDestinationHost(url.hostname);
      if (host === null) continue;
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      keys.add(destinationKey(host, port));
    } catch {
      // An entry this Node cannot parse trusts nothing (see cache.ts): no destination either.
    }
  }
  return keys;
}
