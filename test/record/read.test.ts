import { randomBytes, randomUUID } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  createRecorder,
  decodeBody,
  getIntercept,
  type InterceptRecord,
  listIntercepts,
  ProvablyBodyDecodeError,
  ProvablyInvalidIdError,
} from '../../src/record/index.js';
import type { CallPeer, CallScope } from '../../src/record/types.js';
import type { Store } from '../../src/store/types.js';
import { describeEachBackend } from '../helpers/backends.js';
import { useRecordContext } from './stores.js';

async function record(
  store: Store,
  scope: Partial<CallScope> & { orgId: string },
  opts: { url?: string; body?: Uint8Array; encoding?: string; cap?: number; peer?: CallPeer } = {},
): Promise<string> {
  const rec = createRecorder({ store: () => store, env: {}, maxBodyBytes: opts.cap });
  const call = rec.start(
    { agentId: 'a', actionName: 'act', interceptIndex: null, traceId: null, spanId: null, ...scope },
    { method: 'GET', url: opts.url ?? 'https://api.example.com/', headers: {}, startedAt: new Date() },
  );
  if (opts.peer) call.peer(opts.peer);
  call.response(200, opts.encoding ? { 'content-encoding': opts.encoding } : {});
  if (opts.body) call.chunk(opts.body);
  await call.finish();
  return call.id;
}

describeEachBackend('listIntercepts / getIntercept', (backend) => {
  const ctx = useRecordContext(backend);
  const ids: Record<string, string> = {};
  let between: Date;

  beforeAll(async () => {
    const { store } = ctx();
    ids.a1 = await record(store, {
      orgId: 'org-list',
      agentId: 'alpha',
      actionName: 'search',
      traceId: 't1',
    });
    ids.a2 = await record(store, {
      orgId: 'org-list',
      agentId: 'alpha',
      actionName: 'fetch-doc',
      traceId: 't1',
    });
    await new Promise((r) => setTimeout(r, 30));
    between = new Date();
    await new Promise((r) => setTimeout(r, 30));
    ids.b1 = await record(store, { orgId: 'org-list', agentId: 'beta', actionName: 'search', traceId: 't2' });
    ids.other = await record(store, {
      orgId: 'org-other',
      agentId: 'alpha',
      actionName: 'search',
      traceId: 't1',
    });
  });

  const idsOf = (rows: InterceptRecord[]) => rows.map((r) => r.id);

  it('filters by org, agent, action, trace and time, newest first by default', async () => {
    const { store } = ctx();
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list' }))).toEqual([ids.b1, ids.a2, ids.a1]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', order: 'asc' }))).toEqual([
      ids.a1,
      ids.a2,
      ids.b1,
    ]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', agentId: 'alpha' }))).toEqual([
      ids.a2,
      ids.a1,
    ]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', actionName: 'search' }))).toEqual([
      ids.b1,
      ids.a1,
    ]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', traceId: 't1' }))).toEqual([
      ids.a2,
      ids.a1,
    ]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', since: between }))).toEqual([ids.b1]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-list', limit: 2 }))).toEqual([ids.b1, ids.a2]);
    expect(
      idsOf(
        await listIntercepts(store, {
          orgId: 'org-list',
          agentId: 'alpha',
          actionName: 'search',
          traceId: 't1',
        }),
      ),
    ).toEqual([ids.a1]);
    expect(await listIntercepts(store, { orgId: 'org-none' })).toEqual([]);
    expect(idsOf(await listIntercepts(store, { orgId: 'org-other' }))).toEqual([ids.other]);
  });

  it('returns typed camelCase records, with or without bodies', async () => {
    const { store } = ctx();
    const body = Buffer.from([0, 1, 2, 255]);
    const id = await record(
      store,
      { orgId: 'org-typed', agentId: 'x', interceptIndex: 4, traceId: 'tt', spanId: 'ss' },
      { body },
    );
    const [rec] = await listIntercepts(store, { orgId: 'org-typed' });
    expect(rec).toEqual({
      id,
      orgId: 'org-typed',
      agentId: 'x',
      actionName: 'act',
      interceptIndex: 4,
      traceId: 'tt',
      spanId: 'ss',
      method: 'GET',
      url: 'https://api.example.com/',
      status: 200,
      requestHeaders: {},
      responseHeaders: {},
      responseBody: new Uint8Array(body),
      contentEncoding: null,
      bodySha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      bodySize: 4,
      bodyTruncated: false,
      error: null,
      startedAt: expect.any(Date),
      startedAtExact: true,
      durationMs: expect.any(Number),
      createdAt: expect.any(Date),
      leafVersion: 2,
      peer: null,
    });
    expect(rec?.responseBody?.constructor).toBe(Uint8Array);
    const [lean] = await listIntercepts(store, { orgId: 'org-typed', withBody: false });
    expect(lean).toEqual({ ...rec, responseBody: null });
    expect(await getIntercept(store, id)).toEqual(rec);
    expect(await getIntercept(store, id.toUpperCase())).toEqual(rec);
    expect(await getIntercept(store, id, { orgId: 'org-typed' })).toEqual(rec);
    expect(await getIntercept(store, id, { orgId: 'org-list' })).toBeNull();
    expect(await getIntercept(store, randomUUID())).toBeNull();
  });

  it('exposes who answered (peer), with TLS and proxy, and null TLS over plain TCP', async () => {
    const { store } = ctx();
    const tls = { certSha256: 'f0'.repeat(32), subject: 'CN=api.example.com', subjectAltName: null };
    const withTls = await record(
      store,
      { orgId: 'org-peer' },
      { peer: { address: '::1', port: 443, protocol: 'h2', tls, proxy: 'http://127.0.0.1:3128' } },
    );
    const plain = await record(
      store,
      { orgId: 'org-peer' },
      { peer: { address: '127.0.0.1', port: 80, protocol: 'http/1.1', tls: null, proxy: null } },
    );
    expect((await getIntercept(store, withTls))?.peer).toEqual({
      address: '::1',
      port: 443,
      protocol: 'h2',
      tls,
      proxy: 'http://127.0.0.1:3128',
    });
    const listed = await listIntercepts(store, { orgId: 'org-peer', withBody: false, order: 'asc' });
    expect(listed.map((r) => [r.id, r.leafVersion, r.peer])).toEqual([
      [withTls, 2, expect.objectContaining({ tls })],
      [plain, 2, { address: '127.0.0.1', port: 80, protocol: 'http/1.1', tls: null, proxy: null }],
    ]);
  });

  it('says when the stored started_at has digits a millisecond Date cannot hold (an edited row)', async () => {
    const { store, observer } = ctx();
    const id = await record(store, { orgId: 'org-exact', agentId: 'x', actionName: 'act' });
    expect((await getIntercept(store, id))?.startedAtExact).toBe(true);
    await observer.query('ALTER TABLE provably_intercepts DISABLE TRIGGER provably_intercepts_append_only');
    try {
      await observer.query(
        "UPDATE provably_intercepts SET started_at = started_at + interval '1 microsecond' WHERE id = $1",
        [id],
      );
    } finally {
      await observer.query('ALTER TABLE provably_intercepts ENABLE TRIGGER provably_intercepts_append_only');
    }
    const edited = await getIntercept(store, id);
    expect(edited?.startedAtExact).toBe(false);
    const [listed] = await listIntercepts(store, { orgId: 'org-exact', withBody: false });
    expect(listed?.startedAtExact).toBe(false);
  });

  it('refuses an id that is not a UUID with a typed error, before the driver sees it', async () => {
    const { store } = ctx();
    for (const bad of ['', 'abc', "1' OR '1'='1", `${randomUUID()}x`, 42 as unknown as string]) {
      await expect(getIntercept(store, bad)).rejects.toBeInstanceOf(ProvablyInvalidIdError);
    }
    await expect(getIntercept(store, 'nope')).rejects.toMatchObject({
      code: 'PROVABLY_INVALID_ID',
      id: 'nope',
    });
  });

  it('refuses bad filters with ProvablyConfigError', async () => {
    const { store } = ctx();
    await expect(listIntercepts(store, { orgId: '' })).rejects.toBeInstanceOf(ProvablyConfigError);
    await expect(listIntercepts(store, { orgId: 'o', limit: 0 })).rejects.toBeInstanceOf(ProvablyConfigError);
    await expect(listIntercepts(store, { orgId: 'o', limit: 1.5 })).rejects.toBeInstanceOf(
      ProvablyConfigError,
    );
    await expect(listIntercepts(store, { orgId: 'o', since: new Date('nope') })).rejects.toBeInstanceOf(
      ProvablyConfigError,
    );
  });

  it('decodes stored bodies (gzip, br, identity) and refuses truncated ones', async () => {
    const { store } = ctx();
    const plain = Buffer.concat([Buffer.from('{"answer":42}'), randomBytes(2000)]);
    const cases: [string | undefined, Uint8Array][] = [
      [undefined, plain],
      ['gzip', gzipSync(plain)],
      ['br', brotliCompressSync(plain)],
    ];
    for (const [encoding, wire] of cases) {
      const id = await record(store, { orgId: 'org-decode' }, { body: wire, encoding });
      const rec = (await getIntercept(store, id)) as InterceptRecord;
      expect(rec.contentEncoding).toBe(encoding ?? null);
      expect(Buffer.from(decodeBody(rec)).equals(plain)).toBe(true);
    }
    const big = randomBytes(64 * 1024);
    const id = await record(
      store,
      { orgId: 'org-decode' },
      { body: gzipSync(big), encoding: 'gzip', cap: 1024 },
    );
    const rec = (await getIntercept(store, id)) as InterceptRecord;
    expect(rec.bodyTruncated).toBe(true);
    expect(() => decodeBody(rec)).toThrow(ProvablyBodyDecodeError);
    expect(() => decodeBody(rec)).toThrow(expect.objectContaining({ reason: 'truncated', encoding: 'gzip' }));
  });
});

describe('decodeBody', () => {
  const plain = Buffer.from('hello, provably '.repeat(200));
  const rec = (responseBody: Uint8Array | null, contentEncoding: string | null, bodyTruncated = false) => ({
    responseBody,
    contentEncoding,
    bodyTruncated,
  });

  it('undoes gzip, x-gzip, deflate (zlib and raw), br, zstd, identity and stacked codings', async () => {
    const zlib = await import('node:zlib');
    const same = (out: Uint8Array) => expect(Buffer.from(out).equals(plain)).toBe(true);
    same(decodeBody(rec(plain, null)));
    same(decodeBody(rec(plain, 'identity')));
    same(decodeBody(rec(zlib.gzipSync(plain), 'gzip')));
    same(decodeBody(rec(zlib.gzipSync(plain), 'X-Gzip')));
    same(decodeBody(rec(zlib.deflateSync(plain), 'deflate')));
    same(decodeBody(rec(zlib.deflateRawSync(plain), 'deflate')));
    same(decodeBody(rec(zlib.brotliCompressSync(plain), 'BR')));
    same(decodeBody(rec(zlib.brotliCompressSync(zlib.gzipSync(plain)), 'gzip, br')));
    if (typeof zlib.zstdCompressSync === 'function')
      same(decodeBody(rec(zlib.zstdCompressSync(plain), 'zstd')));
    expect(decodeBody(rec(new Uint8Array(0), null))).toEqual(new Uint8Array(0));
  });

  it('throws typed errors for missing, truncated, corrupt, unknown and oversized bodies', async () => {
    const zlib = await import('node:zlib');
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ProvablyBodyDecodeError);
        return (err as ProvablyBodyDecodeError).reason;
      }
      throw new Error('expected a ProvablyBodyDecodeError');
    };
    const gz = zlib.gzipSync(plain);
    const br = zlib.brotliCompressSync(plain);
    expect(reason(() => decodeBody(rec(null, null)))).toBe('missing');
    expect(reason(() => decodeBody(rec(plain.subarray(0, 10), null, true)))).toBe('truncated');
    expect(reason(() => decodeBody(rec(gz.subarray(0, gz.length - 12), 'gzip')))).toBe('truncated');
    expect(reason(() => decodeBody(rec(br.subarray(0, br.length - 5), 'br')))).toBe('truncated');
    expect(reason(() => decodeBody(rec(Buffer.from('not gzip at all'), 'gzip')))).toBe('corrupt');
    expect(reason(() => decodeBody(rec(Buffer.from('not brotli at all'), 'br')))).toBe('corrupt');
    expect(reason(() => decodeBody(rec(plain, 'compress')))).toBe('unsupported-encoding');
    expect(reason(() => decodeBody(rec(gz, 'gzip'), { maxOutputBytes: 100 }))).toBe('too-large');
  });
});
