// jsonEqual is RFC 8785 equality; showValue is bounded.
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonEqual, MAX_SHOWN_VALUE_CHARS, showValue } from '../../src/eval/index.js';

/** No unpaired surrogate (String.prototype.isWellFormed is ES2024, past the project's lib). */
const isWellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);

describe('jsonEqual', () => {
  it('agrees with RFC 8785 canonical text equality on random JSON values', () => {
    const value = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(jsonEqual(a, b)).toBe(canonicalize(a) === canonicalize(b));
        expect(jsonEqual(a, structuredClone(a))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('handles key order, -0, nested arrays, and very deep values without recursion', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEqual(-0, 0)).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: undefined }, {})).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual('\ud800', '\ud800')).toBe(true);
    const deep = (leaf: number) => {
      let v: unknown = leaf;
      for (let i = 0; i < 100_000; i++) v = [{ k: v }];
      return v;
    };
    expect(jsonEqual(deep(1), deep(1))).toBe(true);
    expect(jsonEqual(deep(1), deep(2))).toBe(false);
  });
});

describe('showValue', () => {
  it('shows RFC 8785 text, bounded with a marker', () => {
    expect(showValue({ b: 1, a: -0 })).toBe('{"a":0,"b":1}');
    expect(showValue(undefined)).toBeNull();
    expect(showValue('\ud800')).toBe('"\\ud800"');
    const long = showValue('é'.repeat(10_000)) as string;
    expect(long.startsWith('"é')).toBe(true);
    expect(long.length).toBeLessThanOrEqual(MAX_SHOWN_VALUE_CHARS + 40);
    expect(long.endsWith('…[truncated, 10002 chars in all]')).toBe(true);
    // Never ends on half a surrogate pair.
    const emoji = showValue('😀'.repeat(1000)) as string;
    expect(isWellFormed(emoji)).toBe(true);
  });
});
