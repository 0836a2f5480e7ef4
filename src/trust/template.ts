/**
 * Trusted-endpoint entries: a plain URL (matched exactly) or a path template.
 *
 * Template rules (FastAPI/Express style, path only):
 * - `{name}` matches exactly one non-empty path segment;
 * - `{name:path}` matches one or more segments (a subtree) and only as the last segment;
 * - a placeholder is a whole segment: `/v{n}` is refused, not read as a literal, so a typo
 *   never silently registers something that matches nothing (or something else);
 * - names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`), unique within the entry;
 * - placeholders in the scheme, host, port, query or fragment are refused;
 * - dot segments (`.`, `..`, `%2e`…) are refused in templates: next to a placeholder they
 *   have no sensible meaning, and resolving them could swallow a placeholder.
 * The literal parts are normalized exactly like a concrete URL (see normalize.ts).
 */
import { ProvablyUrlError } from '../errors/index.js';
import { checkRawSpelling, joinUrl, normalizeUrlParts } from './normalize.js';

export type TrustEntryType = 'exact' | 'template';

/** One segment of a parsed entry; `rest` is `{name:path}`. */
export type TrustSegment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'rest'; name: string };

/** A registered entry parsed for matching. */
export interface TrustPattern {
  /** The entry exactly as registered. */
  entry: string;
  /** Canonical form: what the registry stores in `normalized_url`. */
  normalized: string;
  entryType: TrustEntryType;
  /** `scheme://host[:port]`, compared for equality only. */
  origin: string;
  segments: readonly TrustSegment[];
}

export interface NormalizedTrustEntry {
  normalized: string;
  entryType: TrustEntryType;
}

/** Normalizes a registry entry; throws ProvablyUrlError (naming the entry) if it is invalid. */
export function normalizeTrustEntry(entry: string): NormalizedTrustEntry {
  const { normalized, entryType } = parseTrustEntry(entry);
  return { normalized, entryType };
}

const PLACEHOLDER = /^\{([^{}:]*)(?::([^{}]*))?\}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// What WHATWG treats as a dot segment: `.`/`..` with any dot possibly spelled `%2e`.
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
// Stands in for a placeholder while the literal parts go through URL normalization: an
// unreserved character, so WHATWG and canonicalSegment leave it alone.
const STAND_IN = '_';

/** Parses and validates a registry entry; throws ProvablyUrlError naming the entry. */
export function parseTrustEntry(entry: string): TrustPattern {
  if (typeof entry !== 'string') throw new ProvablyUrlError(`(${typeof entry})`, 'not a string');
  if (!entry.includes('{') && !entry.includes('}')) {
    const { origin, segments } = normalizeUrlParts(entry);
    return {
      entry,
      normalized: joinUrl(origin, segments),
      entryType: 'exact',
      origin,
      segments: segments.map((value) => ({ kind: 'literal', value })),
    };
  }

  // Locate the path on the raw string: placeholders must not reach the URL parser, which
  // would escape the braces. The raw checks first, so a malformed URL gets its own reason.
  checkRawSpelling(entry);
  const pathStart = indexOfAny(entry, '/?#', entry.indexOf('://') + 3);
  const pathEnd = indexOfAny(entry, '?#', pathStart);
  const path = entry.slice(pathStart, pathEnd);
  if (/[{}]/.test(entry.slice(0, pathStart) + entry.slice(pathEnd))) {
    throw new ProvablyUrlError(entry, 'placeholders are only allowed in the path');
  }

  const raw = path.slice(1).split('/');
  while (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const parsed = raw.map((segment, i) => parseSegment(entry, segment, i === raw.length - 1));
  const names = parsed.flatMap((s) => (s.kind === 'literal' ? [] : [s.name]));
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new ProvablyUrlError(entry, `duplicate placeholder name "${duplicate}"`);

  const standIn = parsed.map((s, i) => (s.kind === 'literal' ? raw[i] : STAND_IN)).join('/');
  const { origin, segments } = normalizeEntryUrl(entry, `${entry.slice(0, pathStart)}/${standIn}`);
  // No dot segments and no trailing empty segments: normalization maps segments one to one.
  if (segments.length !== parsed.length) {
    throw new ProvablyUrlError(entry, 'template path could not be normalized segment by segment');
  }
  const pattern = parsed.map(
    (s, i): TrustSegment => (s.kind === 'literal' ? { kind: 'literal', value: segments[i] ?? '' } : s),
  );
  const normalized = joinUrl(origin, pattern.map(formatSegment));
  return { entry, normalized, entryType: 'template', origin, segments: pattern };
}

function parseSegment(entry: string, segment: string, isLast: boolean): TrustSegment {
  if (!segment.includes('{') && !segment.includes('}')) {
    if (DOT_SEGMENT.test(segment))
      throw new ProvablyUrlError(entry, 'dot segments are not allowed in templates');
    return { kind: 'literal', value: segment };
  }
  const m = PLACEHOLDER.exec(segment);
  if (!m) {
    throw new ProvablyUrlError(
      entry,
      `placeholder must be a whole path segment like {name} or {name:path}, got "${segment}"`,
    );
  }
  const name = m[1] ?? '';
  if (!IDENTIFIER.test(name)) throw new ProvablyUrlError(entry, `invalid placeholder name "${name}"`);
  const type = m[2];
  if (type === undefined) return { kind: 'param', name };
  if (type !== 'path') throw new ProvablyUrlError(entry, `unknown placeholder type "${type}" (only "path")`);
  if (!isLast) throw new ProvablyUrlError(entry, `{${name}:path} is only allowed as the last path segment`);
  return { kind: 'rest', name };
}

function normalizeEntryUrl(entry: string, standIn: string) {
  try {
    return normalizeUrlParts(standIn);
  } catch (err) {
    // Report the entry as written, not the stand-in URL.
    if (err instanceof ProvablyUrlError) throw new ProvablyUrlError(entry, err.reason);
    throw err;
  }
}

function formatSegment(s: TrustSegment): string {
  if (s.kind === 'literal') return s.value;
  return s.kind === 'param' ? `{${s.name}}` : `{${s.name}:path}`;
}

/** Index of the first of `chars` at or after `from`, or the string's length. */
function indexOfAny(s: string, chars: string, from: number): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s.charAt(i))) return i;
  return s.length;
}

/**
 * Whether a placeholder may consume this URL segment. Conservative on purpose: an escaped
 * `/` or `\` is refused because a server that decodes it routes on a different path (and
 * `..%2F` could climb out of a `{p:path}` subtree); a segment that is a dot segment once a
 * `;params` suffix is cut (`..;x`, as Tomcat and some proxies read it) is refused too.
 * URL segments reaching here are canonical, so escapes are upper case and `%2E` is decoded.
 */
export function isPlaceholderSafe(segment: string): boolean {
  if (segment.includes('%2F') || segment.includes('%5C')) return false;
  const beforeParams = segment.split(';', 1)[0];
  return beforeParams !== '.' && beforeParams !== '..';
}

/** `{name}`: exactly one non-empty, placeholder-safe segment. */
export function fitsParam(segment: string): boolean {
  return segment !== '' && isPlaceholderSafe(segment);
}

/**
 * Reference matcher for one pattern (the compiled trie in matcher.ts must agree with it).
 * `segments` are the URL's canonical segments, with the origin already compared.
 */
export function matchesPattern(pattern: TrustPattern, segments: readonly string[]): boolean {
  const p = pattern.segments;
  for (let i = 0; i < p.length; i++) {
    const s = p[i];
    if (s === undefined) return false;
    if (s.kind === 'rest') return i < segments.length && segments.slice(i).every(isPlaceholderSafe);
    const seg = segments[i];
    if (seg === undefined) return false;
    if (s.kind === 'literal' ? seg !== s.value : !fitsParam(seg)) return false;
  }
  return p.length === segments.length;
}

const KIND_RANK = { literal: 0, param: 1, rest: 2 } as const;

/**
 * Orders patterns that match the same URL, most specific first: at the first position where
 * they differ, literal beats `{name}` beats `{name:path}` (so an exact entry beats any
 * template); equal shapes fall back to the normalized text, then the entry as written, so
 * the answer never depends on registration order.
 */
export function compareSpecificity(a: TrustPattern, b: TrustPattern): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ka = a.segments[i]?.kind ?? 'literal';
    const kb = b.segments[i]?.kind ?? 'literal';
    if (ka !== kb) return KIND_RANK[ka] - KIND_RANK[kb];
  }
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  return compareText(a.normalized, b.normalized) || compareText(a.entry, b.entry);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
