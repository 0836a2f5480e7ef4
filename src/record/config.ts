/**
 * The recorder's settings, read from the environment on demand (never at import). Every invalid
 * value is a ProvablyConfigError naming the variable (or the option).
 */
import type { Env } from '../config/index.js';
import { ProvablyConfigError } from '../errors/index.js';

/** What finish() does when the store cannot take a row. */
export type StoreErrorPolicy = 'closed' | 'open';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Upper bound for the body cap: one bytea value must stay far below PostgreSQL's 1 GB limit. */
export const MAX_BODY_BYTES_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_STORE_ERROR_POLICY: StoreErrorPolicy = 'closed';

/**
 * Header names whose values are never stored, in request or response headers, whatever
 * PROVABLY_REDACT_HEADERS says (that setting only adds names).
 */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
]);

export interface RecorderConfig {
  /** PROVABLY_MAX_BODY_BYTES: response body bytes kept per call (the rest is only hashed and counted). */
  maxBodyBytes: number;
  /** PROVABLY_ON_STORE_ERROR: `closed` rejects the call when its row cannot be stored, `open` lets it through. */
  onStoreError: StoreErrorPolicy;
  /** PROVABLY_REDACT_HEADERS: extra header names to redact (lower-cased), on top of ALWAYS_REDACTED_HEADERS. */
  redactHeaders: string[];
}

export function readRecorderConfig(env: Env = process.env): RecorderConfig {
  return {
    maxBodyBytes: parseMaxBodyBytes(env.PROVABLY_MAX_BODY_BYTES, 'PROVABLY_MAX_BODY_BYTES'),
    onStoreError: parseStoreErrorPolicy(env.PROVABLY_ON_STORE_ERROR, 'PROVABLY_ON_STORE_ERROR'),
    redactHeaders: parseHeaderList(env.PROVABLY_REDACT_HEADERS, 'PROVABLY_REDACT_HEADERS'),
  };
}

/** Non-negative integer up to MAX_BODY_BYTES_LIMIT; 0 keeps no bytes (hash and size only). */
export function parseMaxBodyBytes(raw: string | number | undefined, setting = 'maxBodyBytes'): number {
  if (raw === undefined) return DEFAULT_MAX_BODY_BYTES;
  let n: number;
  if (typeof raw === 'number') {
    n = raw;
  } else {
    const s = raw.trim();
    if (s === '') return DEFAULT_MAX_BODY_BYTES;
    if (!/^\d+$/.test(s)) {
      throw new ProvablyConfigError(
        setting,
        `expected a number of bytes (0 or more), got ${JSON.stringify(raw)}`,
      );
    }
    n = Number(s);
  }
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ProvablyConfigError(
      setting,
      `expected a number of bytes (0 or more), got ${JSON.stringify(raw)}`,
    );
  }
  if (n > MAX_BODY_BYTES_LIMIT) {
    throw new ProvablyConfigError(
      setting,
      `at most ${MAX_BODY_BYTES_LIMIT} bytes can be kept per call, got ${n}`,
    );
  }
  return n;
}

export function parseStoreErrorPolicy(raw: string | undefined, setting = 'onStoreError'): StoreErrorPolicy {
  if (raw === undefined || raw.trim() === '') return DEFAULT_STORE_ERROR_POLICY;
  const v = raw.trim().toLowerCase();
  if (v === 'closed' || v === 'open') return v;
  throw new ProvablyConfigError(setting, `expected "closed" or "open", got ${JSON.stringify(raw)}`);
}

/** RFC 9110 field-name: a token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Comma-separated header names, case-insensitive; returns them lower-cased and de-duplicated. */
export function parseHeaderList(
  raw: string | readonly string[] | undefined,
  setting = 'redactHeaders',
): string[] {
  if (raw === undefined) return [];
  const parts = typeof raw === 'string' ? raw.split(',') : raw;
  const out = new Set<string>();
  for (const part of parts) {
    if (typeof part !== 'string') {
      throw new ProvablyConfigError(setting, `expected header names, got ${JSON.stringify(part)}`);
    }
    const name = part.trim();
    if (name === '') continue;
    if (!HEADER_NAME.test(name)) {
      throw new ProvablyConfigError(setting, `${JSON.stringify(name)} is not a valid header name`);
    }
    out.add(name.toLowerCase());
  }
  return [...out];
}
