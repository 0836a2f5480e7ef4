import { describe, expect, it } from 'vitest';
import { ProvablyUrlError } from '../../src/errors/index.js';
import { createTrustMatcher, matchTrustedUrl } from '../../src/trust/index.js';

const API = 'https://api.example.com';

/** Both implementations, so every expectation below holds for each. */
const implementations = [
  ['matchTrustedUrl', (url: string, entries: readonly string[]) => matchTrustedUrl(url, entries)],
  ['createTrustMatcher', (url: string, entries: readonly string[]) => createTrustMatcher(entries).match(url)],
] as const;

describe.each(implementations)('%s', (_name, match) => {
  it('returns the entry exactly as registered', () => {
    const entry = 'HTTPS://API.Example.com:443/Users/{id}/';
    expect(match(`${API}/Users/7`, [entry])).toBe(entry);
  });

  it('returns null when nothing is registered', () => {
    expect(match(API, [])).toBeNull();
  });

  it('never trusts a URL it cannot normalize', () => {
    for (const url of ['', 'not a url', 'https://u@api.example.com', 'https://api.example.com/%zz']) {
      expect(match(url, [API, `${API}/{p:path}`])).toBeNull();
    }
    expect(match(42 as unknown as string, [API])).toBeNull();
    expect(match({ toString: () => API } as unknown as string, [API])).toBeNull();
  });

  it('throws for an invalid entry, naming it, even when the URL is invalid', () => {
    for (const url of [API, 'not a url']) {
      let thrown: unknown;
      try {
        match(url, [API, 'https://h.example/v{n}']);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ProvablyUrlError);
      expect((thrown as ProvablyUrlError).url).toBe('https://h.example/v{n}');
    }
  });

  it('breaks ties between equivalent entries by text, not order', () => {
    const a = `${API}/users/{a}`;
    const b = `${API}/users/{b}`;
    expect(match(`${API}/users/1`, [a, b])).toBe(a);
    expect(match(`${API}/users/1`, [b, a])).toBe(a);
    const x = `${API}/x`;
    const y = `${API}/x/`;
    expect(match(`${API}/x`, [y, x])).toBe(x);
  });

  it('prefers the most specific entry', () => {
    const entries = [
      `${API}/{p:path}`,
      `${API}/v1/{p:path}`,
      `${API}/v1/users/{id}`,
      `${API}/v1/users/me`,
      `${API}/{v}/users/me/{x}`,
    ];
    expect(match(`${API}/v1/users/me`, entries)).toBe(`${API}/v1/users/me`);
    expect(match(`${API}/v1/users/42`, entries)).toBe(`${API}/v1/users/{id}`);
    expect(match(`${API}/v1/users/42/x`, entries)).toBe(`${API}/v1/{p:path}`);
    expect(match(`${API}/v1/users/me/x`, entries)).toBe(`${API}/v1/{p:path}`);
    expect(match(`${API}/v2/users/me/x`, entries)).toBe(`${API}/{v}/users/me/{x}`);
    expect(match(`${API}/v2`, entries)).toBe(`${API}/{p:path}`);
    expect(match(API, entries)).toBeNull();
  });

  it('falls back to a subtree when a deeper literal branch fails', () => {
    const entries = [`${API}/a/{p:path}`, `${API}/a/b/c/d`];
    expect(match(`${API}/a/b/c/x`, entries)).toBe(`${API}/a/{p:path}`);
  });

  it('refuses a subtree whose remainder holds an unsafe segment anywhere', () => {
    const entries = [`${API}/a/{p:path}`];
    expect(match(`${API}/a/x/y%2Fz/w`, entries)).toBeNull();
    expect(match(`${API}/a/x/..;/w`, entries)).toBeNull();
    expect(match(`${API}/a/x/.;a/w`, entries)).toBeNull();
    expect(match(`${API}/a/x/y;a/w`, entries)).toBe(entries[0]);
    // The unsafe segment is a literal before the subtree: the literal matches it exactly.
    expect(match(`${API}/a%2Fb/x`, [`${API}/a%2Fb/{p:path}`])).toBe(`${API}/a%2Fb/{p:path}`);
  });

  it('handles deep URLs and adversarial literal/param mixes', () => {
    // Every combination of `a` and `{pN}` over 10 segments, all ending in `z`: a URL ending in
    // `y` explores many branches before failing, one ending in `z` must pick all-literal.
    const depth = 10;
    const entries: string[] = [];
    for (let mask = 0; mask < 2 ** depth; mask++) {
      const segs = Array.from({ length: depth }, (_, i) => ((mask >> i) & 1 ? `{p${i}}` : 'a'));
      entries.push(`${API}/${segs.join('/')}/z`);
    }
    const path = Array(depth).fill('a').join('/');
    expect(match(`${API}/${path}/y`, entries)).toBeNull();
    expect(match(`${API}/${path}/z`, entries)).toBe(`${API}/${path}/z`);
    expect(
      match(
        `${API}/b/${Array(depth - 1)
          .fill('a')
          .join('/')}/z`,
        entries,
      ),
    ).toBe(
      `${API}/{p0}/${Array(depth - 1)
        .fill('a')
        .join('/')}/z`,
    );
    const longUrl = `${API}/${Array(5000).fill('a').join('/')}`;
    expect(match(longUrl, [`${API}/a/{p:path}`])).toBe(`${API}/a/{p:path}`);
  });
});

describe('createTrustMatcher', () => {
  it('reports its size and compiles entries once', () => {
    const matcher = createTrustMatcher([API, `${API}/x/{id}`, 'http://other.example']);
    expect(matcher.size).toBe(3);
    expect(matcher.match(`${API}/x/1`)).toBe(`${API}/x/{id}`);
    expect(matcher.match('http://other.example/')).toBe('http://other.example');
  });

  it('throws at compile time for an invalid entry', () => {
    expect(() => createTrustMatcher([API, 'https://{t}.example.com/'])).toThrow(ProvablyUrlError);
  });

  it('does not change when the input array changes later', () => {
    const entries = [API];
    const matcher = createTrustMatcher(entries);
    entries.push('https://evil.net');
    expect(matcher.match('https://evil.net')).toBeNull();
  });

  it('supports a very deep entry', () => {
    const path = Array(20_000).fill('s').join('/');
    const matcher = createTrustMatcher([`${API}/${path}`]);
    expect(matcher.match(`${API}/${path}`)).toBe(`${API}/${path}`);
    expect(matcher.match(`${API}/${path}/s`)).toBeNull();
  });
});
