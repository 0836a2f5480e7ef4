/**
 * RFC 9535 JSONPath, through jsonpath-rfc9535: the syntax check shared by the model-claims
 * parser and the evaluator.
 */
import { query } from 'jsonpath-rfc9535';

/**
 * Verdicts on recently checked queries. jsonpath-rfc9535 has no compiled-query form, so each
 * check is a full parse; handoffs repeat a handful of paths across many claims and payloads.
 * Bounded (cleared when full) because paths come from untrusted payloads.
 */
const checked = new Map<string, string | null>();
const CHECKED_LIMIT = 1024;
const MAX_MEMO_PATH = 1024;

/** Why `path` is not a valid RFC 9535 JSONPath query, or null when it is one. Never throws. */
export function jsonPathError(path: unknown): string | null {
  if (typeof path !== 'string') return `expected a string, got ${path === null ? 'null' : typeof path}`;
  const known = checked.get(path);
  if (known !== undefined) return known;
  let verdict: string | null;
  try {
    // Evaluating against null parses (and type-checks) the whole query and selects nothing.
    query(null, path);
    verdict = null;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    verdict = message.length > 300 ? `${message.slice(0, 300)}…` : message;
  }
  if (path.length <= MAX_MEMO_PATH) {
    if (checked.size >= CHECKED_LIMIT) checked.clear();
    checked.set(path, verdict);
  }
  return verdict;
}
