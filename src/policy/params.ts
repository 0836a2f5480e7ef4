/**
 * The params of a decision as JSON: normalized once (what the policy sees, what is hashed,
 * what is stored), their RFC 8785 canonical SHA-256 (what an approval is bound to), and the
 * stored copy with PROVABLY_REDACT_PARAMS key names replaced by "[REDACTED]".
 */
import { hash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';
import { splitList } from '../config/list.js';
import { PolicyInputError } from '../errors/index.js';
import { MAX_PARAM_DEPTH } from './cedar-values.js';

// The package is ESM only: the CJS build's default-import shim hands over its namespace, so the
// function is looked up on either (as src/handoff/jcs.ts does; policy does not depend on handoff).
const canonicalize = ((): ((v: unknown) => string | undefined) => {
  const m = canonicalizeImport as unknown;
  if (typeof m === 'function') return m as (v: unknown) => string | undefined;
  return (m as { default: (v: unknown) => string | undefined }).default;
})();

/** RFC 8785 canonical JSON text (undefined: no JSON form). Throws on NaN, cycles, lone surrogates. */
export function canonicalJson(value: unknown): string | undefined {
  return canonicalize(value);
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type Params = { [key: string]: JsonValue };

export const REDACTED_PARAM = '[REDACTED]';
const MAX_PARAMS_BYTES = 1024 * 1024;

/**
 * Params as plain JSON, as JSON.stringify sees them (toJSON, Dates as ISO text, functions and
 * undefined members left out). Throws PolicyInputError on what JSON cannot carry: a BigInt, a
 * cycle, NaN/Infinity (JSON would silently turn them into null), nesting past 32 levels, or
 * more than 1 MiB.
 */
export function normalizeParams(params: unknown, field = 'params'): Params {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) {
    throw new PolicyInputError(
      field,
      `expected a plain object of named params, got ${Array.isArray(params) ? 'an array' : typeof params}`,
    );
  }
  let text: string;
  try {
    text = JSON.stringify(params, (_k, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v))
        throw new PolicyInputError(field, `${String(v)} is not JSON`);
      return v;
    });
  } catch (err) {
    if (err instanceof PolicyInputError) throw err;
    throw new PolicyInputError(field, `not JSON-serializable: ${(err as Error).message}`);
  }
  if (Buffer.byteLength(text) > MAX_PARAMS_BYTES) {
    throw new PolicyInputError(field, `larger than ${MAX_PARAMS_BYTES} bytes as JSON`);
  }
  const value = JSON.parse(text) as Params;
  checkDepth(value, field, 0);
  return value;
}

function checkDepth(v: unknown, path: string, depth: number): void {
  if (depth > MAX_PARAM_DEPTH)
    throw new PolicyInputError(path, `nested deeper than ${MAX_PARAM_DEPTH} levels`);
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) checkDepth(x, `${path}.${k}`, depth + 1);
  }
}

/** Lower-case hex SHA-256 of the RFC 8785 canonical JSON of the params (before redaction). */
export function paramsSha256(params: Params): string {
  // One-shot crypto.hash: the same digest as createHash without a Hash object per decision.
  return hash('sha256', canonicalize(params) ?? '{}', 'hex');
}

/** Key names to redact: PROVABLY_REDACT_PARAMS (comma-separated, case-insensitive). */
export function readRedactParams(env: Record<string, string | undefined> = process.env): string[] {
  return splitList(env.PROVABLY_REDACT_PARAMS).map((s) => s.toLowerCase());
}

/** A copy with every member whose key is in `keys` (at any depth) replaced by "[REDACTED]". */
export function redactParams(params: Params, keys: readonly string[]): Params {
  if (keys.length === 0) return params;
  const set = new Set(keys.map((k) => k.toLowerCase()));
  const walk = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: { [key: string]: JsonValue } = {};
      for (const [k, x] of Object.entries(v)) out[k] = set.has(k.toLowerCase()) ? REDACTED_PARAM : walk(x);
      return out;
    }
    return v;
  };
  return walk(params) as Params;
}

/** SHA-256 (hex) of a value's canonical JSON, or undefined when it has no JSON form. */
export function digestOf(value: unknown): string | undefined {
  try {
    const json = canonicalize(value === undefined ? null : value);
    return json === undefined ? undefined : hash('sha256', json, 'hex');
  } catch {
    return undefined;
  }
}
