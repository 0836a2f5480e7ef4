import { describe, expect, it } from 'vitest';
import { createTrustMatcher, matchTrustedUrl } from '../../src/trust/index.js';
import { corpus } from './corpus.js';

describe('trust corpus', () => {
  it('is large enough and has unique names', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });

  it.each(corpus)('$name: $url', ({ registered, url, expected }) => {
    expect(matchTrustedUrl(url, registered)).toBe(expected);
    expect(createTrustMatcher(registered).match(url)).toBe(expected);
    // The verdict never depends on registration order.
    const reversed = [...registered].reverse();
    expect(matchTrustedUrl(url, reversed)).toBe(expected);
    expect(createTrustMatcher(reversed).match(url)).toBe(expected);
  });

  it('gives no false trust against every entry of the corpus at once', () => {
    // Pooling all entries must not make any untrusted URL trusted by some other entry it
    // was not meant for: the only URLs allowed to match are those trusted in their own case.
    const all = [...new Set(corpus.flatMap((c) => c.registered))];
    const matcher = createTrustMatcher(all);
    for (const c of corpus.filter((c) => c.expected === null)) {
      const hit = matcher.match(c.url);
      if (hit !== null) expect.soft(c.registered, `${c.name} matched ${hit}`).not.toContain(hit);
    }
  });
});
