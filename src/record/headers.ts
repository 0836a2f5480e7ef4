/**
 * Header maps as they are stored: names lower-cased, one entry per name (a repeated name becomes
 * an array of its values, in order), credentials replaced by REDACTED. Built once per call, so
 * the work is proportional to the number of headers.
 */
import type { HeaderMap } from './types.js';

/** What a redacted header value is replaced by (every value of a multi-valued header). */
export const REDACTED = '[REDACTED]';

/** The jsonb shape of request_headers / response_headers. */
export type StoredHeaders = Record<string, string | string[]>;

/**
 * Lower-cases names, merges names that differ only by case, drops undefined values and replaces
 * the value of every name in `redact` (lower-case names) by REDACTED.
 */
export function normalizeHeaders(
  headers: HeaderMap | null | undefined,
  redact: ReadonlySet<string>,
): StoredHeaders {
  const out: StoredHeaders = {};
  if (headers === null || typeof headers !== 'object') return out;
  for (const rawName of Object.keys(headers)) {
    const value = headers[rawName];
    if (value === undefined || value === null) continue;
    const name = cleanText(rawName.toLowerCase());
    const hide = redact.has(name);
    let values: string[];
    if (typeof value === 'string') values = [hide ? REDACTED : cleanText(value)];
    else if (Array.isArray(value)) values = value.map((v) => (hide ? REDACTED : cleanText(String(v))));
    else values = [hide ? REDACTED : cleanText(String(value))];
    const prev = Object.hasOwn(out, name) ? out[name] : undefined;
    const next =
      prev === undefined
        ? Array.isArray(value)
          ? values
          : (values[0] as string)
        : [...(Array.isArray(prev) ? prev : [prev]), ...values];
    // defineProperty, not assignment: a header named "__proto__" must stay an ordinary entry.
    Object.defineProperty(out, name, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** One header's value as a single string (multi-valued joined with ", "), or null when absent. */
export function headerValue(headers: StoredHeaders | null, name: string): string | null {
  if (headers === null) return null;
  const v = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** PostgreSQL text and jsonb refuse NUL characters: keep the row storable. */
export function cleanText(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
