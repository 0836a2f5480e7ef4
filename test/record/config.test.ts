import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import { BodyCapture } from '../../src/record/body.js';
import {
  ALWAYS_REDACTED_HEADERS,
  createRecorder,
  describeError,
  normalizeHeaders,
  REDACTED,
  readRecorderConfig,
} from '../../src/record/index.js';

describe('readRecorderConfig', () => {
  it('has defaults', () => {
    expect(readRecorderConfig({})).toEqual({
      maxBodyBytes: 16 * 1024 * 1024,
      onStoreError: 'closed',
      redactHeaders: [],
    });
  });

  it('reads PROVABLY_MAX_BODY_BYTES, PROVABLY_ON_STORE_ERROR, PROVABLY_REDACT_HEADERS', () => {
    expect(
      readRecorderConfig({
        PROVABLY_MAX_BODY_BYTES: ' 1024 ',
        PROVABLY_ON_STORE_ERROR: 'OPEN',
        PROVABLY_REDACT_HEADERS: 'X-Secret, x-secret ,X-Other,,',
      }),
    ).toEqual({ maxBodyBytes: 1024, onStoreError: 'open', redactHeaders: ['x-secret', 'x-other'] });
    expect(readRecorderConfig({ PROVABLY_MAX_BODY_BYTES: '0' }).maxBodyBytes).toBe(0);
  });

  it.each([
    ['PROVABLY_MAX_BODY_BYTES', '-1'],
    ['PROVABLY_MAX_BODY_BYTES', '1.5'],
    ['PROVABLY_MAX_BODY_BYTES', '16MiB'],
    ['PROVABLY_MAX_BODY_BYTES', String(2 ** 40)],
    ['PROVABLY_ON_STORE_ERROR', 'fail'],
    ['PROVABLY_REDACT_HEADERS', 'x-ok, not a header'],
    ['PROVABLY_REDACT_HEADERS', 'x:y'],
  ])('%s=%s is a ProvablyConfigError naming the variable', (name, value) => {
    let caught: unknown;
    try {
      readRecorderConfig({ [name]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProvablyConfigError);
    expect((caught as ProvablyConfigError).setting).toBe(name);
  });

  it('validates options given directly and lets them override the environment', () => {
    const store = () => {
      throw new Error('unused');
    };
    const env = {
      PROVABLY_MAX_BODY_BYTES: '10',
      PROVABLY_ON_STORE_ERROR: 'open',
      PROVABLY_REDACT_HEADERS: 'x-a',
    };
    expect(createRecorder({ store, env }).config).toEqual({
      maxBodyBytes: 10,
      onStoreError: 'open',
      redactHeaders: ['x-a'],
    });
    expect(
      createRecorder({ store, env, maxBodyBytes: 5, onStoreError: 'closed', redactHeaders: ['X-B'] }).config,
    ).toEqual({ maxBodyBytes: 5, onStoreError: 'closed', redactHeaders: ['x-b'] });
    expect(() => createRecorder({ store, env: {}, maxBodyBytes: -3 })).toThrow(ProvablyConfigError);
    expect(() => createRecorder({ store, env: {}, redactHeaders: ['bad name'] })).toThrow(
      ProvablyConfigError,
    );
    // A bad variable is reported when it is used, and ignored when its option overrides it.
    expect(() => createRecorder({ store, env: { PROVABLY_MAX_BODY_BYTES: 'x' } })).toThrow(
      ProvablyConfigError,
    );
    expect(
      createRecorder({ store, env: { PROVABLY_MAX_BODY_BYTES: 'x' }, maxBodyBytes: 7 }).config.maxBodyBytes,
    ).toBe(7);
  });
});

describe('normalizeHeaders', () => {
  const redact = new Set([...ALWAYS_REDACTED_HEADERS, 'x-extra']);

  it('lower-cases, merges case variants in order, drops undefined, redacts every value', () => {
    expect(
      normalizeHeaders(
        {
          'Content-Type': 'text/plain',
          'X-Dup': 'one',
          'x-dup': ['two', 'three'],
          'X-Gone': undefined,
          'SET-COOKIE': ['a=1', 'b=2', 'c=3'],
          Cookie: 'x=1',
          'X-Extra': 'tok',
          'API-Key': 'k',
        },
        redact,
      ),
    ).toEqual({
      'content-type': 'text/plain',
      'x-dup': ['one', 'two', 'three'],
      'set-cookie': [REDACTED, REDACTED, REDACTED],
      cookie: REDACTED,
      'x-extra': REDACTED,
      'api-key': REDACTED,
    });
  });

  it('keeps odd names as plain entries and NUL out of the stored text', () => {
    const out = normalizeHeaders(
      { __proto__: 'x', 'x-nul': 'a\u0000b' } as unknown as Record<string, string>,
      redact,
    );
    expect(JSON.parse(JSON.stringify(out))).toEqual({ 'x-nul': 'a\uFFFDb' });
    const proto = normalizeHeaders(JSON.parse('{"__proto__":"v"}'), redact);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(JSON.stringify(proto)).toBe('{"__proto__":"v"}');
  });
});

describe('BodyCapture', () => {
  it('keeps exactly the cap, hashes and counts everything, copies chunks', () => {
    const data = randomBytes(10_000);
    for (const cap of [0, 1, 999, 1000, 1001, 10_000, 20_000]) {
      const cap1 = new BodyCapture(cap);
      const buf = Buffer.alloc(1000);
      for (let off = 0; off < data.length; off += 1000) {
        data.copy(buf, 0, off, off + 1000);
        cap1.push(buf);
        buf.fill(0);
      }
      cap1.push(new Uint8Array(0));
      expect(cap1.size).toBe(10_000);
      expect(cap1.truncated).toBe(cap < 10_000);
      expect(cap1.keptBytes().equals(data.subarray(0, Math.min(cap, 10_000)))).toBe(true);
      expect(cap1.sha256()).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('a body exactly at the cap is not truncated', () => {
    const c = new BodyCapture(4);
    c.push(Buffer.from('ab'));
    c.push(Buffer.from('cd'));
    expect(c.truncated).toBe(false);
    expect(c.keptBytes().toString()).toBe('abcd');
  });
});

describe('describeError', () => {
  it('is short and single-line, with name, code, message and causes', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(describeError(new TypeError('fetch failed', { cause: inner }))).toBe(
      'TypeError: fetch failed (cause: Error [ECONNREFUSED]: connect ECONNREFUSED 127.0.0.1:9)',
    );
    expect(describeError('just a string')).toBe('just a string');
    expect(describeError(undefined)).toBe('unknown error');
    expect(describeError(new Error('line1\nline2'))).toBe('Error: line1 line2');
    expect(describeError(new Error('x'.repeat(5000))).length).toBeLessThanOrEqual(1001);
  });
});
