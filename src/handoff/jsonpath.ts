/**
 * RFC 9535 JSONPath, through jsonpath-rfc9535: the syntax check shared by the model-claims
 * parser and the evaluator.
 */
import { query } from 'jsonpath-rfc9535';

/** Why `path` is not a valid RFC 9535 JSONPath query, or null when it is one. Never throws. */
export function jsonPathError(path: unknown): string | null {
  if (typeof path !== 'string') return `expected a string, got ${path === null ? 'null' : typeof path}`;
  try {
    // Evaluating against null parses (and type-checks) the whole query and selects nothing.
    query(null, path);
    return null;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return message.length > 300 ? `${message.slice(0, 300)}…` : message;
  }
}
