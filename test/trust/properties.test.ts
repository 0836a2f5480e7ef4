import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createTrustMatcher,
  matchTrustedUrl,
  normalizeTrustEntry,
  normalizeUrlForTrust,
} from '../../src/trust/index.js';

// Small pools so generated URLs and entries collide often (a property that never sees a match
// proves little), with the spellings that matter mixed in.
const schemes = ['http', 'https', 'HTTPS', 'HtTp'];
const hosts = [
  'api.example.com',
  'API.example.com',
  'api.example.com.',
  'api.example.com.evil.net',
  'evil.net',
  'bücher.example',
  'xn--bcher-kva.example',
  '127.0.0.1',
  '2130706433',
  '[::1]',
  '[0:0::1]',
];
const ports = ['', ':80', ':443', ':8443', ':0443'];
const urlSegments = [
  'a',
  'A',
  'b',
  '%61',
  'users',
  '1',
  '',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '%2F',
  'x%2fy',
  'x%5Cy',
  '..;',
  '..%2F',
  'é',
  '%7E',
  '~',
  ';v=1',
  '{id}',
  'a b',
  '^',
  '@',
  ':',
];
const suffixes = ['', '/', '?q=1', '#f', '?/a#/b', '//'];

const origin = fc
  .tuple(fc.constantFrom(...schemes), fc.constantFrom(...hosts), fc.constantFrom(...ports))
  .map(([s, h, p]) => `${s}://${h}${p}`);

/** Concrete URLs built from tricky parts. */
const trickyUrl = fc
  .tuple(origin, fc.array(fc.constantFrom(...urlSegments), { maxLength: 6 }), fc.constantFrom(...suffixes))
  .map(([o, segs, suffix]) => `${o}${segs.length > 0 ? `/${segs.join('/')}` : ''}${suffix}`);

/** Anything URL-ish: tricky parts, fast-check's web URLs, and arbitrary strings. */
const anyUrl = fc.oneof(
  trickyUrl,
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string(),
  fc.string().map((s) => `https://api.example.com/${s}`),
);

/** Registered entries: exact or templates, segments from a small alphabet. */
const entry = fc
  .tuple(
    origin,
    fc.array(fc.constantFrom('a', 'b', 'users', '1', '', 'PARAM'), { maxLength: 4 }),
    fc.boolean(),
    fc.constantFrom('', '/'),
  )
  .map(([o, segs, rest, trailing]) => {
    const parts = segs.map((s, i) => (s === 'PARAM' ? `{p${i}}` : s));
    if (rest) parts.push('{rest:path}');
    return `${o}${parts.length > 0 ? `/${parts.join('/')}` : ''}${trailing}`;
  });

/**
 * One origin and a tiny alphabet, so literal and `{name}` branches compete for the same
 * segments: this is where a compiled search that explores in the wrong order would differ.
 */
const H = 'https://h.example';
const crowdedEntry = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '', 'PARAM'), { maxLength: 4 }), fc.boolean())
  .map(([segs, rest]) => {
    const parts = segs.map((s, i) => (s === 'PARAM' ? `{p${i}}` : s));
    if (rest) parts.push('{rest:path}');
    return `${H}${parts.length > 0 ? `/${parts.join('/')}` : ''}`;
  });
const crowdedUrl = fc
  .array(fc.constantFrom('a', 'b', '', 'x%2Fy', '..;', 'c'), { maxLength: 6 })
  .map((segs) => `${H}/${segs.join('/')}`);

function tryNormalize(url: string): string | null {
  try {
    return normalizeUrlForTrust(url);
  } catch {
    return null;
  }
}

/** `scheme://host[:port]` of a normalized URL or template. */
function originOf(normalized: string): string {
  const slash = normalized.indexOf('/', normalized.indexOf('//') + 2);
  return slash < 0 ? normalized : normalized.slice(0, slash);
}

describe('trust matching properties', () => {
  it('normalization is idempotent', () => {
    fc.assert(
      fc.property(anyUrl, (url) => {
        const once = tryNormalize(url);
        if (once !== null) expect(normalizeUrlForTrust(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });

  it('entry normalization is idempotent', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const once = normalizeTrustEntry(e);
        expect(normalizeTrustEntry(once.normalized)).toEqual(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('a URL never matches an entry with a different scheme, host or port', () => {
    fc.assert(
      fc.property(trickyUrl, fc.array(entry, { maxLength: 8 }), (url, entries) => {
        const hit = matchTrustedUrl(url, entries);
        if (hit === null) return;
        const normalized = tryNormalize(url);
        expect(normalized).not.toBeNull();
        expect(originOf(normalizeTrustEntry(hit).normalized)).toBe(originOf(normalized ?? ''));
      }),
      { numRuns: 2000 },
    );
  });

  it('a {name} never spans a /', () => {
    fc.assert(
      fc.property(trickyUrl, fc.array(fc.constantFrom('a', 'users'), { maxLength: 2 }), (url, prefix) => {
        const normalized = tryNormalize(url);
        if (normalized === null) return;
        const o = originOf(normalized);
        const template = `${o}/${[...prefix, '{id}'].join('/')}`;
        if (matchTrustedUrl(url, [template]) === null) return;
        // Matched: the URL has exactly one more segment than the prefix, and that segment
        // is non-empty and carries no slash, raw or encoded.
        const segments = normalized.slice(o.length + 1).split('/');
        expect(segments).toHaveLength(prefix.length + 1);
        const last = segments[segments.length - 1] ?? '';
        expect(last).not.toBe('');
        expect(last).not.toMatch(/%2F|%5C/i);
      }),
      { numRuns: 3000 },
    );
  });

  it('a {name} never matches a URL with more or fewer segments', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'x%2Fy', ''), { maxLength: 5 }), (segs) => {
        const url = `https://api.example.com/${segs.join('/')}`;
        const hit = matchTrustedUrl(url, ['https://api.example.com/{one}']);
        const normalized = normalizeUrlForTrust(url);
        const path = normalized.slice('https://api.example.com'.length);
        if (hit !== null) expect(path).toMatch(/^\/[^/]+$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('the compiled matcher agrees with matchTrustedUrl on crowded entry sets', () => {
    fc.assert(
      fc.property(
        fc.array(crowdedEntry, { maxLength: 16 }),
        fc.array(crowdedUrl, { maxLength: 10 }),
        (entries, urls) => {
          const matcher = createTrustMatcher(entries);
          for (const url of urls) expect(matcher.match(url)).toBe(matchTrustedUrl(url, entries));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the compiled matcher agrees with matchTrustedUrl, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 12 }),
        fc.array(fc.oneof(trickyUrl, anyUrl), { minLength: 1, maxLength: 10 }),
        fc.integer(),
        (entries, urls, seed) => {
          const matcher = createTrustMatcher(entries);
          const shuffled = shuffle(entries, seed);
          const reordered = createTrustMatcher(shuffled);
          for (const url of urls) {
            const expected = matchTrustedUrl(url, entries);
            expect(matcher.match(url)).toBe(expected);
            expect(reordered.match(url)).toBe(expected);
            expect(matchTrustedUrl(url, shuffled)).toBe(expected);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the matched entry, normalized, matches the URL on its own', () => {
    fc.assert(
      fc.property(trickyUrl, fc.array(entry, { maxLength: 8 }), (url, entries) => {
        const hit = matchTrustedUrl(url, entries);
        if (hit === null) return;
        const { normalized } = normalizeTrustEntry(hit);
        expect(matchTrustedUrl(url, [normalized])).toBe(normalized);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Deterministic Fisher–Yates from a seed, so a failing case replays exactly. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
