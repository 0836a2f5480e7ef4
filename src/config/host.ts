/**
 * One host form for every destination comparison (the connection guard's verdicts, the trust
 * cache's allowed host:port set): WHATWG URL host parsing, so `127.1`, `0x7f.0.0.1` and
 * `127.0.0.1` are one host and `API.Example.com.` is `api.example.com`.
 */

/** Canonical host for comparison (lower-case, IPv4 canonical, IPv6 without brackets), or null. */
export function canonicalHost(host: unknown): string | null {
  if (typeof host !== 'string' || host === '') return null;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  try {
    const hostname = new URL(`http://${bare.includes(':') ? `[${bare}]` : bare}/`).hostname;
    const out = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    return out.endsWith('.') ? out.slice(0, -1) : out;
  } catch {
    return null;
  }
}
