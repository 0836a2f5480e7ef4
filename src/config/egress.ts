/**
 * Egress settings of the connection guard (src/intercept/connect-guard.ts):
 * - PROVABLY_EGRESS_PROXIES: comma-separated proxy origins (`http://127.0.0.1:3128`) that scoped
 *   code may connect to in addition to the trusted endpoints' host:port;
 * - PROVABLY_ALLOW_UNIX_SOCKETS: comma-separated absolute unix socket paths scoped code may use.
 * Every invalid value is a ProvablyConfigError naming the variable and the value.
 */
import { isAbsolute, normalize } from 'node:path';
import { ProvablyConfigError } from '../errors/index.js';
import type { Env } from './index.js';
import { splitList } from './list.js';

/** One declared egress proxy. */
export interface EgressProxy {
  /** `http://host:port` as given, canonicalised (lower-case host, explicit port). */
  readonly origin: string;
  /** The proxy's host as a socket sees it: lower-case, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export interface EgressConfig {
  readonly proxies: readonly EgressProxy[];
  readonly unixSockets: readonly string[];
}

export const PROXIES_VARIABLE = 'PROVABLY_EGRESS_PROXIES';
export const UNIX_SOCKETS_VARIABLE = 'PROVABLY_ALLOW_UNIX_SOCKETS';

export function readEgressConfig(env: Env = process.env): EgressConfig {
  return {
    proxies: parseEgressProxies(splitList(env[PROXIES_VARIABLE]), PROXIES_VARIABLE),
    unixSockets: parseUnixSockets(splitList(env[UNIX_SOCKETS_VARIABLE]), UNIX_SOCKETS_VARIABLE),
  };
}

/** Validates proxy origins (http: or https:, a host, no path, no credentials). */
export function parseEgressProxies(values: readonly unknown[], setting: string): EgressProxy[] {
  return values.map((value) => {
    if (typeof value !== 'string') {
      throw new ProvablyConfigError(setting, `expected proxy origins as strings, got ${typeof value}`);
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ProvablyConfigError(
        setting,
        `${JSON.stringify(value)} is not a URL (expected http://host:port)`,
      );
    }
    const problem =
      url.protocol !== 'http:' && url.protocol !== 'https:'
        ? `scheme ${url.protocol} is not supported (http: or https:)`
        : url.username !== '' || url.password !== ''
          ? 'credentials do not belong in the proxy list'
          : (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== ''
            ? 'a proxy is an origin: no path, query or fragment'
            : url.hostname === ''
              ? 'the host is empty'
              : undefined;
    if (problem !== undefined) {
      throw new ProvablyConfigError(setting, `${JSON.stringify(value)}: ${problem}`);
    }
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return { origin: `${url.protocol}//${url.hostname}:${port}`, host, port };
  });
}

/** Validates unix socket paths (absolute; normalised so `/a//b` and `/a/b` are one path). */
export function parseUnixSockets(values: readonly unknown[], setting: string): string[] {
  return values.map((value) => {
    if (typeof value !== 'string' || !isAbsolute(value) || value.includes('\0')) {
      throw new ProvablyConfigError(
        setting,
        `expected absolute unix socket paths, got ${JSON.stringify(value)}`,
      );
    }
    return normalize(value);
  });
}
