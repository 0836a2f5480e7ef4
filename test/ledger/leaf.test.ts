import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProvablyLeafContentError } from '../../src/ledger/errors.js';
import { type LeafRecord, leafBytes, leafContent, recordLeafHash } from '../../src/ledger/leaf.js';
import type { InterceptRecord } from '../../src/record/read.js';

const base: LeafRecord = {
  id: '3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e',
  orgId: 'acme',
  agentId: 'agent-1',
  actionName: 'search',
  interceptIndex: 2,
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  method: 'GET',
  url: 'https://api.example.com/v1/search?q=x',
  status: 200,
  requestHeaders: { accept: 'application/json', authorization: '[REDACTED]' },
  responseHeaders: { 'content-type': 'application/json', 'set-cookie': ['[REDACTED]', '[REDACTED]'] },
  contentEncoding: null,
  bodySha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  bodySize: 0,
  bodyTruncated: false,
  error: null,
  startedAt: new Date('2025-01-02T03:04:05.006Z'),
  durationMs: 12.5,
};

const text = (r: LeafRecord, i = 7) => new TextDecoder().decode(leafBytes(r, i));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('leaf content', () => {
  it('is the RFC 8785 canonical JSON of the content fields and the leaf index', () => {
    expect(text(base)).toBe(
      '{"action_name":"search","agent_id":"agent-1","body_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",' +
        '"body_size":0,"body_truncated":false,"content_encoding":null,"duration_ms":12.5,"error":null,' +
        '"id":"3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3e","intercept_index":2,"leaf_index":7,"method":"GET","org_id":"acme",' +
        '"request_headers":{"accept":"application/json","authorization":"[REDACTED]"},' +
        '"response_headers":{"content-type":"application/json","set-cookie":["[REDACTED]","[REDACTED]"]},' +
        '"span_id":"b7ad6b7169203331","started_at":"2025-01-02T03:04:05.006Z","status":200,' +
        '"trace_id":"0af7651916cd43dd8448eb211c80319c","url":"https://api.example.com/v1/search?q=x"}',
    );
    // RFC 6962 leaf hash of those bytes.
    const expected = createHash('sha256')
      .update(Buffer.from([0]))
      .update(leafBytes(base, 7))
      .digest('hex');
    expect(hex(recordLeafHash(base, 7))).toBe(expected);
  });

  it('does not depend on key order (record or headers) and ignores fields it does not bind', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as LeafRecord;
    reordered.requestHeaders = { authorization: '[REDACTED]', accept: 'application/json' };
    const full: InterceptRecord = {
      ...base,
      responseBody: new Uint8Array([1, 2, 3]),
      createdAt: new Date(),
      leafVersion: 1,
      peer: null,
    };
    expect(hex(recordLeafHash(reordered, 7))).toBe(hex(recordLeafHash(base, 7)));
    expect(hex(recordLeafHash(full, 7))).toBe(hex(recordLeafHash(base, 7)));
    expect(Object.keys(leafContent(full, 7))).not.toContain('response_body');
    expect(Object.keys(leafContent(full, 7))).not.toContain('created_at');
  });

  it('is deterministic and changes with every bound field and with the index', () => {
    const h = hex(recordLeafHash(base, 7));
    expect(hex(recordLeafHash({ ...base }, 7))).toBe(h);
    expect(hex(recordLeafHash(base, 8))).not.toBe(h);
    const changes: Partial<LeafRecord>[] = [
      { id: '3f2b8c1e-4d5a-4b6c-9d7e-8f9a0b1c2d3f' },
      { orgId: 'acme2' },
      { agentId: 'agent-2' },
      { actionName: 'pay' },
      { interceptIndex: null },
      { interceptIndex: 3 },
      { traceId: null },
      { spanId: 'b7ad6b7169203332' },
      { method: 'POST' },
      { url: 'https://api.example.com/v1/search?q=y' },
      { status: null },
      { status: 201 },
      { requestHeaders: { accept: 'text/html', authorization: '[REDACTED]' } },
      { requestHeaders: { accept: ['application/json'], authorization: '[REDACTED]' } },
      { responseHeaders: null },
      { contentEncoding: 'gzip' },
      { bodySha256: null },
      { bodySha256: `${'0'.repeat(63)}1` },
      { bodySize: 1 },
      { bodyTruncated: true },
      { error: 'fetch failed' },
      { startedAt: new Date('2025-01-02T03:04:05.007Z') },
      { durationMs: null },
      { durationMs: 12.500000000000002 },
    ];
    const seen = new Set([h]);
    for (const c of changes) {
      const changed = hex(recordLeafHash({ ...base, ...c }, 7));
      expect(seen.has(changed), JSON.stringify(c)).toBe(false);
      seen.add(changed);
    }
  });

  it('formats numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    const cases: [number, string][] = [
      [12.5, '12.5'],
      [100, '100'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [5e-324, '5e-324'],
      [-0, '0'],
      [2 ** 53 - 1, '9007199254740991'],
      [123456789.125, '123456789.125'],
    ];
    for (const [n, s] of cases) expect(text({ ...base, durationMs: n })).toContain(`"duration_ms":${s},`);
  });

  it('keeps unicode as UTF-8, escapes only what JSON must, and sorts keys by UTF-16 code units', () => {
    const r = {
      ...base,
      url: 'https://例え.jp/é?q=😀',
      error: 'tab\there "quoted" \\ \u0001 \u2028 \u007f',
      requestHeaders: { z: '1', é: '2', '😀': '3', ﬁ: '4', A: '5', 'a-b': '6' },
    };
    const t = text(r);
    expect(t).toContain('"url":"https://例え.jp/é?q=😀"');
    expect(t).toContain('"error":"tab\\there \\"quoted\\" \\\\ \\u0001 \u2028 \u007f"');
    // A < a-b < z < é (U+00E9) < 😀 (U+D83D U+DE00) < ﬁ (U+FB01)
    expect(t).toContain('"request_headers":{"A":"5","a-b":"6","z":"1","é":"2","😀":"3","ﬁ":"4"}');
    const bytes = leafBytes(r, 7);
    expect(Buffer.from(bytes).toString('utf8')).toBe(t);
    expect(Buffer.from(bytes).includes(Buffer.from('例え', 'utf8'))).toBe(true);
    // The same text spelled with other normalization is another leaf: no normalization happens.
    expect(hex(recordLeafHash({ ...base, url: 'e\u0301' }, 0))).not.toBe(
      hex(recordLeafHash({ ...base, url: 'é' }, 0)),
    );
  });

  it('refuses values canonical JSON cannot hold, with ProvablyLeafContentError', () => {
    const bad: [Partial<LeafRecord> | Record<string, unknown>, string][] = [
      [{ durationMs: Number.NaN }, 'duration_ms'],
      [{ durationMs: Number.POSITIVE_INFINITY }, 'duration_ms'],
      [{ status: '200' }, 'status'],
      [{ url: 'x\uD800y' }, 'url'],
      [{ startedAt: new Date('nope') }, 'started_at'],
      [{ startedAt: '2025-01-02T03:04:05.006Z' }, 'started_at'],
      [{ requestHeaders: { a: '\uDC00' } }, 'headers'],
      [{ responseHeaders: { a: Number.NaN } }, 'headers'],
      [{ id: 5 }, 'id'],
    ];
    for (const [change, field] of bad) {
      let caught: unknown;
      try {
        leafBytes({ ...base, ...change } as LeafRecord, 0);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(change)).toBeInstanceOf(ProvablyLeafContentError);
      expect((caught as ProvablyLeafContentError).field).toBe(field);
      expect((caught as ProvablyLeafContentError).code).toBe('PROVABLY_LEDGER_LEAF_CONTENT');
    }
    expect(() => leafBytes(base, -1)).toThrow(ProvablyLeafContentError);
    expect(() => leafBytes(base, 1.5)).toThrow(ProvablyLeafContentError);
  });
});

describe('leaf version 2 (who answered)', () => {
  const peer = {
    address: '203.0.113.7',
    port: 443,
    protocol: 'h2',
    tls: {
      certSha256: 'c0'.repeat(32),
      subject: 'CN=api.example.com',
      subjectAltName: 'DNS:api.example.com',
    },
    proxy: 'http://127.0.0.1:3128',
  };
  const v2: LeafRecord = { ...base, leafVersion: 2, peer };

  it('is version 1 plus leaf_kind, leaf_version and the peer fields, canonically', () => {
    const v1Json = JSON.parse(text(base)) as Record<string, unknown>;
    const v2Json = JSON.parse(text(v2)) as Record<string, unknown>;
    expect(v2Json).toEqual({
      ...v1Json,
      leaf_kind: 'intercept',
      leaf_version: 2,
      peer_address: '203.0.113.7',
      peer_port: 443,
      peer_protocol: 'h2',
      peer_tls_cert_sha256: 'c0'.repeat(32),
      peer_tls_subject: 'CN=api.example.com',
      peer_tls_subject_alt_name: 'DNS:api.example.com',
      peer_proxy: 'http://127.0.0.1:3128',
    });
    expect(Object.keys(v2Json)).toHaveLength(29);
    expect(Object.keys(v1Json)).toHaveLength(20);
    // The exact bytes: keys sorted (RFC 8785), the peer after everything version 1 has.
    expect(text(v2)).toBe(
      `${text(base).slice(0, -1).replace('"leaf_index":7,', '"leaf_index":7,"leaf_kind":"intercept","leaf_version":2,')}`
        .replace(
          ',"request_headers"',
          ',"peer_address":"203.0.113.7","peer_port":443,"peer_protocol":"h2","peer_proxy":"http://127.0.0.1:3128",' +
            `"peer_tls_cert_sha256":"${'c0'.repeat(32)}","peer_tls_subject":"CN=api.example.com",` +
            '"peer_tls_subject_alt_name":"DNS:api.example.com","request_headers"',
        )
        .concat('}'),
    );
  });

  it('has null peer fields where there is no peer, and still differs from the version-1 leaf', () => {
    const none = JSON.parse(text({ ...base, leafVersion: 2, peer: null })) as Record<string, unknown>;
    for (const k of Object.keys(none).filter((k) => k.startsWith('peer_'))) expect(none[k]).toBeNull();
    expect(hex(recordLeafHash({ ...base, leafVersion: 2, peer: null }, 7))).not.toBe(
      hex(recordLeafHash(base, 7)),
    );
    const plain = JSON.parse(text({ ...v2, peer: { ...peer, tls: null } })) as Record<string, unknown>;
    expect([plain.peer_tls_cert_sha256, plain.peer_tls_subject, plain.peer_tls_subject_alt_name]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('changes with every peer field (no field is ignored)', () => {
    const h = hex(recordLeafHash(v2, 7));
    const variants: LeafRecord['peer'][] = [
      { ...peer, address: '203.0.113.8' },
      { ...peer, port: 8443 },
      { ...peer, port: null },
      { ...peer, protocol: 'http/1.1' },
      { ...peer, tls: { ...peer.tls, certSha256: 'c1'.repeat(32) } },
      { ...peer, tls: { ...peer.tls, subject: 'CN=api.example.co' } },
      { ...peer, tls: { ...peer.tls, subjectAltName: null } },
      { ...peer, tls: null },
      { ...peer, proxy: null },
      null,
    ];
    const seen = new Set([h]);
    for (const p of variants) seen.add(hex(recordLeafHash({ ...v2, peer: p }, 7)));
    expect(seen.size).toBe(variants.length + 1);
  });

  it('refuses a peer on a version-1 record, an unknown version, and non-text peer values', () => {
    expect(() => leafBytes({ ...base, leafVersion: 1, peer }, 0)).toThrow(ProvablyLeafContentError);
    expect(() => leafBytes({ ...base, peer }, 0)).toThrow(/version-1 leaf cannot bind a peer/);
    for (const leafVersion of [0, 3, Number.NaN, '2']) {
      expect(() => leafBytes({ ...base, leafVersion: leafVersion as 2, peer: null }, 0)).toThrow(
        /leaf_version/,
      );
    }
    expect(() => leafBytes({ ...v2, peer: { ...peer, port: Number.POSITIVE_INFINITY } }, 0)).toThrow(
      /peer_port/,
    );
    expect(() => leafBytes({ ...v2, peer: { ...peer, address: 'a\uD800' } }, 0)).toThrow(/peer_address/);
  });
});
