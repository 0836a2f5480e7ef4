/**
 * JSON value helpers of the evaluator: RFC 8785 equality and bounded display.
 */
import { canonicalJson } from '../handoff/jcs.js';

/**
 * Whether two JSON values are equal under RFC 8785: the same canonical text. Computed
 * structurally (no serialization, no recursion), which gives the same answer for every JSON
 * value — numbers compare as IEEE-754 doubles (so 0 equals -0, as both serialize to "0"),
 * objects by their key sets regardless of order, arrays element-wise — and also works for
 * strings RFC 8785 cannot serialize (lone surrogates, compared code unit by code unit).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown][] = [[a, b]];
  for (let pair = stack.pop(); pair !== undefined; pair = stack.pop()) {
    const [x, y] = pair;
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
    const xArray = Array.isArray(x);
    if (xArray !== Array.isArray(y)) return false;
    if (xArray) {
      const xs = x as unknown[];
      const ys = y as unknown[];
      if (xs.length !== ys.length) return false;
      for (let i = 0; i < xs.length; i++) stack.push([xs[i], ys[i]]);
      continue;
    }
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(yo, k)) return false;
      stack.push([xo[k], yo[k]]);
    }
  }
  return true;
}

/** Longest value text in a ClaimEvaluation (before the truncation marker). */
export const MAX_SHOWN_VALUE_CHARS = 512;

/**
 * A value for display: RFC 8785 JSON text (JSON.stringify when RFC 8785 cannot represent it),
 * cut at MAX_SHOWN_VALUE_CHARS characters with a "…[truncated, N chars in all]" marker. null
 * for undefined.
 */
export function showValue(value: unknown): string | null {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = canonicalJson(value);
  } catch {
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) return '(not JSON)';
  return bounded(text);
}

export function bounded(text: string, max = MAX_SHOWN_VALUE_CHARS): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…[truncated, ${text.length} chars in all]`;
}
