/**
 * RFC 8785 (JSON Canonicalization Scheme) through the `canonicalize` package, resolved so it
 * works in both builds. The package is ESM only: in the CJS build, require() returns its module
 * namespace, and the bundler's default-import shim (Node-compatibility mode) hands over that
 * namespace rather than its default export. So the function is looked up on either.
 */
import canonicalizeImport from 'canonicalize';

type Canonicalize = (input: unknown) => string | undefined;

function resolve(imported: unknown): Canonicalize {
  if (typeof imported === 'function') return imported as Canonicalize;
  const inner = (imported as { default?: unknown } | null)?.default;
  if (typeof inner === 'function') return inner as Canonicalize;
  throw new Error('the canonicalize package does not export a function');
}

const canonicalizeFn = resolve(canonicalizeImport);

/**
 * RFC 8785 text of a JSON value; undefined for values with no JSON form. Throws for NaN,
 * Infinity, cycles and lone surrogates (RFC 8785 has no representation for them).
 */
export function canonicalJson(value: unknown): string | undefined {
  return canonicalizeFn(value);
}
