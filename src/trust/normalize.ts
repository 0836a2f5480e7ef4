/**
 * Canonical form of a concrete http(s) URL for trust matching.
 *
 * Trust is decided by comparing canonical strings, so two spellings that reach the same
 * resource must normalize to the same string, and — more important — a spelling that some
 * client or server could read differently must never normalize onto a trusted one. The WHATWG
 * `URL` parser (what fetch, undici and node:http use) does most of the work; this module adds
 * the checks it lacks and refuses input that other parsers read differently.
 *
 * The canonical form is `scheme://host[:port][/seg/seg…]`:
 * - scheme and host lower case, IDN hosts in punycode, IPv4 dotted-decimal, IPv6 bracketed;
 * - the port only when it is not the scheme's default;
 * - no query, no fragment, no trailing slash: the root is `https://host` (no `/`);
 * - dot segments resolved, empty segments kept (`//x` is not `/x`);
 * - escapes of unreserved characters decoded, every other escape in upper-case hex, every
 *   character outside RFC 3986 `pchar` escaped — so `%2F` and `%5C` stay escaped and can
 *   never become a segment boundary.
 */
import { ProvablyUrlError } from '../errors/index.js';

/** A normalized URL split at the origin: `segments` is empty for the root. */
export interface SplitUrl {
  origin: string;
  segments: string[];
}

/**
 * Normalizes a concrete http(s) URL for trust matching; throws ProvablyUrlError (with a
 * `reason`) for anything that cannot be trusted: not a string, unparsable, another scheme,
 * credentials, an empty host, or a spelling parsers disagree on.
 */
export function normalizeUrlForTrust(url: string): string {
  const { origin, segments } = normalizeUrlParts(url);
  return joinUrl(origin, segments);
}

/** Same as normalizeUrlForTrust, but returns the origin and path segments separately. */
export function normalizeUrlParts(url: string): SplitUrl {
  if (typeof url !== 'string') throw new ProvablyUrlError(`(${typeof url})`, 'not a string');
  checkRawSpelling(url);

  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProvablyUrlError(url, 'unparsable URL');
  }
  // Already refused on the raw string; kept as a second line of defence.
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ProvablyUrlError(url, `unsupported scheme "${parsed.protocol}" (only http and https)`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ProvablyUrlError(url, 'credentials (userinfo) are not allowed');
  }

  const host = canonicalHost(url, parsed.hostname);
  // WHATWG already drops the default port and writes the port in plain decimal.
  const origin = `${parsed.protocol}//${host}${parsed.port === '' ? '' : `:${parsed.port}`}`;

  // WHATWG resolved dot segments (also `%2e` spellings); the query and fragment are dropped
  // simply by not reading them.
  const segments = parsed.pathname
    .slice(1)
    .split('/')
    .map((s) => canonicalSegment(url, s));
  // Trailing slashes are dropped, all of them: dropping only one would not be idempotent
  // (`/x//` → `/x/` → `/x`).
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  return { origin, segments };
}

/** Rebuilds the canonical string from an origin and (already canonical) segments. */
export function joinUrl(origin: string, segments: readonly string[]): string {
  return segments.length === 0 ? origin : `${origin}/${segments.join('/')}`;
}

// ASCII control characters (C0 and DEL). WHATWG silently deletes tab/CR/LF anywhere and trims
// C0 and spaces at the ends; other parsers keep or stop at them, so they are never trusted.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Refuses, before WHATWG parsing, spellings that WHATWG accepts but reads differently from
 * RFC 3986 parsers (curl, proxies, many servers). Each is a known way to make a trust check
 * and the actual request disagree about the destination.
 */
export function checkRawSpelling(url: string): void {
  if (CONTROL_CHARS.test(url)) throw new ProvablyUrlError(url, 'contains control characters');
  if (url !== url.trim()) throw new ProvablyUrlError(url, 'leading or trailing whitespace');

  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new ProvablyUrlError(url, 'not an absolute URL');
  if (scheme !== 'http' && scheme !== 'https') {
    throw new ProvablyUrlError(url, `unsupported scheme "${scheme}:" (only http and https)`);
  }
  // WHATWG also accepts `https:host`, `https:/host` and `https:///host`; RFC 3986 reads the
  // first two as a path without host and the last as an empty host.
  const rest = url.slice(scheme.length + 1);
  if (!rest.startsWith('//')) throw new ProvablyUrlError(url, 'expected "//" and a host after the scheme');

  // WHATWG reads `\` as `/` in http(s) URLs, RFC 3986 parsers do not: with `https://a\@b/`
  // WHATWG goes to `a`, curl to `b`. Refused anywhere before the query (which is ignored).
  const beforeQuery = rest.split(/[?#]/, 1)[0] ?? '';
  if (beforeQuery.includes('\\')) throw new ProvablyUrlError(url, 'contains a backslash');

  const authority = beforeQuery.slice(2).split('/', 1)[0] ?? '';
  if (authority === '') throw new ProvablyUrlError(url, 'empty host');
  // WHATWG drops an empty userinfo (`https://@host`, `https://:@host`) without a trace in the
  // parsed URL, so the raw authority is the only place to see it.
  if (authority.includes('@')) throw new ProvablyUrlError(url, 'credentials (userinfo) are not allowed');
  // WHATWG decodes escapes in the host (`ex%61mple` → `example`); other clients send them as
  // is. No real client spells a host that way, so it is refused rather than guessed at.
  if (authority.includes('%')) throw new ProvablyUrlError(url, 'percent-encoded host');
}

/** Host as WHATWG gives it (lower case, punycode, canonical IP), minus one trailing dot. */
function canonicalHost(url: string, hostname: string): string {
  // `api.example.com.` is the same DNS name as `api.example.com` (fully qualified form);
  // WHATWG keeps the dot, so it is removed here. IP literals never end with a dot.
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (host === '') throw new ProvablyUrlError(url, 'empty host');
  // WHATWG accepts empty labels (`a..b`, `.a`, `a..`); they are not valid DNS names and would
  // make trailing-dot removal ambiguous, so they are refused.
  if (!host.startsWith('[') && host.split('.').includes('')) {
    throw new ProvablyUrlError(url, 'empty label in host');
  }
  return host;
}

// RFC 3986 `pchar` minus `%`: the only characters left unescaped in a canonical segment.
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
const CANONICAL_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/**
 * One path segment in canonical percent-encoding. WHATWG leaves escapes as written (`%7e`,
 * `%2f`) and, depending on the Node version, some non-pchar characters raw (`^`, `|`, `[`):
 * a fixed rule here keeps stored entries and matched URLs comparable across versions.
 * Decoding only ever produces unreserved characters, so it cannot create a `/`, a `?` or a
 * new dot segment (WHATWG already resolved the `%2e` spellings).
 */
function canonicalSegment(url: string, segment: string): string {
  if (CANONICAL_SEGMENT.test(segment)) return segment; // the common case: nothing to rewrite
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment.charAt(i);
    if (ch === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) throw new ProvablyUrlError(url, 'malformed percent-encoding in path');
      const decoded = String.fromCharCode(Number.parseInt(hex, 16));
      out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
      i += 2;
    } else if (PCHAR.test(ch)) {
      out += ch;
    } else {
      // WHATWG has already escaped non-ASCII, so `ch` is ASCII here: one byte, one escape.
      out += `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}
