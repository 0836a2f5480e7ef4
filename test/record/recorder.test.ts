import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { createRecorder, DEFAULT_MAX_BODY_BYTES, REDACTED } from '../../src/record/index.js';
import { COLUMNS } from '../../src/record/row.js';
import type { CallScope } from '../../src/record/types.js';
import type { Queryable, Store } from '../../src/store/types.js';
import { describeEachBackend } from '../helpers/backends.js';
import { useRecordContext } from './stores.js';

const MiB = 1024 * 1024;

function scopeFor(orgId: string, extra: Partial<CallScope> = {}): CallScope {
  return {
    orgId,
    agentId: 'agent-1',
    actionName: 'lookup',
    interceptIndex: 0,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    ...extra,
  };
}

async function rowById(store: Queryable, id: string): Promise<Record<string, unknown>> {
  const { rows } = await store.query<Record<string, unknown>>(
    'SELECT * FROM provably_intercepts WHERE id = $1',
    [id],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as Record<string, unknown>;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function asBuffer(v: unknown): Buffer {
  expect(v).toBeInstanceOf(Uint8Array);
  const u = v as Uint8Array;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

describeEachBackend('recorder', (backend) => {
  const ctx = useRecordContext(backend);
  it('writes exactly the expected row for a recorded call', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, env: {} });
    const startedAt = new Date(Date.now() - 25);
    const call = rec.start(scopeFor('org-exact', { interceptIndex: 3 }), {
      method: 'POST',
      url: 'https://api.example.com/v1/items?q=1',
      headers: {
        'Content-Type': 'application/json',
        'X-Multi': ['a', 'b'],
        Accept: 'application/json',
        'x-absent': undefined,
      },
      startedAt,
    });
    const wire = gzipSync(Buffer.from('{"ok":true,"items":[1,2,3]}'));
    const tls = {
      certSha256: 'a1'.repeat(32),
      subject: 'CN=api.example.com',
      subjectAltName: 'DNS:api.example.com',
    };
    const peer = { address: '127.0.0.1', port: 8443, protocol: 'h2' as const, tls, proxy: null };
    call.peer(peer);
    // The recorder keeps a copy: the adapter's objects changing later do not change the row.
    peer.port = 1;
    tls.subject = 'CN=changed';
    call.response(201, {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
      'X-Request-Id': 'r-1',
    });
    call.chunk(wire.subarray(0, 7));
    call.chunk(wire.subarray(7));
    await call.finish();

    const row = await rowById(observer, call.id);
    const { response_body, created_at, duration_ms, ...rest } = row;
    expect(rest).toEqual({
      id: call.id,
      org_id: 'org-exact',
      agent_id: 'agent-1',
      action_name: 'lookup',
      intercept_index: 3,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      method: 'POST',
      url: 'https://api.example.com/v1/items?q=1',
      status: 201,
      request_headers: {
        'content-type': 'application/json',
        'x-multi': ['a', 'b'],
        accept: 'application/json',
      },
      response_headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-request-id': 'r-1',
      },
      content_encoding: 'gzip',
      body_sha256: sha256(wire),
      body_size: wire.length,
      body_truncated: false,
      error: null,
      started_at: startedAt,
      leaf_version: 2,
      peer_address: '127.0.0.1',
      peer_port: 8443,
      peer_protocol: 'h2',
      peer_tls_cert_sha256: 'a1'.repeat(32),
      peer_tls_subject: 'CN=api.example.com',
      peer_tls_subject_alt_name: 'DNS:api.example.com',
      peer_proxy: null,
    });
    expect(asBuffer(response_body).equals(wire)).toBe(true);
    expect(created_at).toBeInstanceOf(Date);
    expect(typeof duration_ms).toBe('number');
    expect(duration_ms as number).toBeGreaterThanOrEqual(25);
    expect(duration_ms as number).toBeLessThan(10_000);
    expect(rec.stats()).toMatchObject({ recorded: 1, dropped: 0, rejected: 0, batches: 1, pending: 0 });
  });

  it('stores binary bodies byte-exact (NUL, invalid UTF-8) and copies chunks the caller reuses', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, env: {} });
    const call = rec.start(scopeFor('org-binary'), {
      method: 'GET',
      url: 'http://127.0.0.1:1/bin',
      headers: {},
      startedAt: new Date(),
    });
    call.response(200, { 'content-type': 'application/octet-stream' });
    const expected = Buffer.concat([
      Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0x00]),
      randomBytes(4096),
      Buffer.from([0x00]),
    ]);
    const reused = Buffer.alloc(1000);
    for (let off = 0; off < expected.length; off += reused.length) {
      const n = Math.min(reused.length, expected.length - off);
      expected.copy(reused, 0, off, off + n);
      call.chunk(reused.subarray(0, n));
      reused.fill(0x55); // the caller reuses its buffer right away
    }
    await call.finish();
    const row = await rowById(observer, call.id);
    expect(asBuffer(row.response_body).equals(expected)).toBe(true);
    expect(row.body_sha256).toBe(sha256(expected));
    expect(row.body_size).toBe(expected.length);
    expect(row.content_encoding).toBeNull();
  });

  it('keeps the first maxBodyBytes of a 20 MiB body, hashing and counting the whole stream', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, maxBodyBytes: 1 * MiB, env: {} });
    const call = rec.start(scopeFor('org-trunc'), {
      method: 'GET',
      url: 'https://files.example.com/big',
      headers: {},
      startedAt: new Date(),
    });
    call.response(200, { 'content-length': String(20 * MiB) });
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(64 * 1024);
    const first: Buffer[] = [];
    for (let i = 0; i < (20 * MiB) / chunk.length; i++) {
      chunk.fill(i % 251);
      chunk.writeUInt32BE(i, 0);
      hash.update(chunk);
      if (i * chunk.length < MiB) first.push(Buffer.from(chunk));
      call.chunk(chunk);
    }
    await call.finish();
    const row = await rowById(observer, call.id);
    const body = asBuffer(row.response_body);
    expect(body.length).toBe(MiB);
    expect(body.equals(Buffer.concat(first).subarray(0, MiB))).toBe(true);
    expect(row.body_size).toBe(20 * MiB);
    expect(row.body_truncated).toBe(true);
    expect(row.body_sha256).toBe(hash.digest('hex'));
  });

  it('uses the 16 MiB default cap', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, env: {} });
    expect(rec.config.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(DEFAULT_MAX_BODY_BYTES).toBe(16 * MiB);
    const call = rec.start(scopeFor('org-trunc-default'), {
      method: 'GET',
      url: 'https://files.example.com/big',
      headers: {},
      startedAt: new Date(),
    });
    call.response(200, {});
    const full = randomBytes(20 * MiB);
    for (let off = 0; off < full.length; off += 256 * 1024) call.chunk(full.subarray(off, off + 256 * 1024));
    await call.finish();
    const row = await rowById(observer, call.id);
    const body = asBuffer(row.response_body);
    expect(body.length).toBe(16 * MiB);
    expect(body.equals(full.subarray(0, 16 * MiB))).toBe(true);
    expect(row.body_size).toBe(20 * MiB);
    expect(row.body_truncated).toBe(true);
    expect(row.body_sha256).toBe(sha256(full));
  });

  it('never stores credentials: built-in names, PROVABLY_REDACT_HEADERS, every value, URL userinfo', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({
      store: () => store,
      env: { PROVABLY_REDACT_HEADERS: ' X-Custom-Secret , x-session-token,' },
    });
    const secret = 'sekret-value-1234';
    const call = rec.start(scopeFor('org-redact'), {
      method: 'GET',
      url: `https://user:${secret}@api.example.com/private`,
      headers: {
        Authorization: `Bearer ${secret}`,
        'Proxy-Authorization': `Basic ${secret}`,
        Cookie: [`sid=${secret}`, `other=${secret}`],
        'X-API-Key': secret,
        'api-key': secret,
        'X-Custom-Secret': secret,
        'x-session-token': [secret, secret],
        'X-Keep': 'visible',
      },
      startedAt: new Date(),
    });
    call.response(200, {
      'Set-Cookie': [`a=${secret}; Path=/`, `b=${secret}; HttpOnly`],
      'X-CUSTOM-SECRET': secret,
      authorization: secret,
      'content-type': 'text/plain',
    });
    call.chunk(Buffer.from('ok'));
    await call.finish();
    const row = await rowById(observer, call.id);
    expect(row.request_headers).toEqual({
      authorization: REDACTED,
      'proxy-authorization': REDACTED,
      cookie: [REDACTED, REDACTED],
      'x-api-key': REDACTED,
      'api-key': REDACTED,
      'x-custom-secret': REDACTED,
      'x-session-token': [REDACTED, REDACTED],
      'x-keep': 'visible',
    });
    expect(row.response_headers).toEqual({
      'set-cookie': [REDACTED, REDACTED],
      'x-custom-secret': REDACTED,
      authorization: REDACTED,
      'content-type': 'text/plain',
    });
    expect(row.url).toBe('https://REDACTED@api.example.com/private');
    const everything = JSON.stringify({ ...row, response_body: null });
    expect(everything).not.toContain(secret);
  });

  it('fail() records the error and whatever part of the body arrived, and never rejects', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, env: {} });
    const call = rec.start(scopeFor('org-fail'), {
      method: 'GET',
      url: 'https://api.example.com/stream',
      headers: {},
      startedAt: new Date(),
    });
    call.response(200, { 'content-type': 'text/event-stream' });
    call.chunk(Buffer.from('data: one\n\n'));
    call.chunk(Buffer.from('data: tw'));
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await expect(call.fail(new TypeError('fetch failed', { cause: reset }))).resolves.toBeUndefined();
    // Later calls on a settled recording do nothing.
    call.chunk(Buffer.from('ignored'));
    await expect(call.finish()).resolves.toBeUndefined();

    const row = await rowById(observer, call.id);
    expect(row.error).toBe('TypeError: fetch failed (cause: Error [ECONNRESET]: socket hang up)');
    expect(row.status).toBe(200);
    expect(asBuffer(row.response_body).toString()).toBe('data: one\n\ndata: tw');
    expect(row.body_size).toBe(19);
    expect(row.body_sha256).toBe(sha256(Buffer.from('data: one\n\ndata: tw')));
    expect(row.body_truncated).toBe(false);

    // Refused before any response: no status, no body, no hash.
    const refused = rec.start(scopeFor('org-fail'), {
      method: 'GET',
      url: 'https://untrusted.example.com/',
      headers: {},
      startedAt: new Date(),
    });
    const blocked = Object.assign(new Error('endpoint not trusted'), {
      name: 'ProvablyBlockedError',
      code: 'PROVABLY_BLOCKED',
    });
    await refused.fail(blocked);
    const row2 = await rowById(observer, refused.id);
    expect(row2).toMatchObject({
      status: null,
      response_headers: null,
      response_body: null,
      body_sha256: null,
      body_size: 0,
      error: 'ProvablyBlockedError [PROVABLY_BLOCKED]: endpoint not trusted',
    });
  });

  it('group-commits 200 concurrent finishes; each resolves only once its row is visible', async () => {
    const { store, observer } = ctx();
    const rec = createRecorder({ store: () => store, env: {} });
    const calls = Array.from({ length: 200 }, (_, i) => {
      const call = rec.start(scopeFor('org-group', { interceptIndex: i }), {
        method: 'GET',
        url: `https://api.example.com/item/${i}`,
        headers: {},
        startedAt: new Date(),
      });
      call.response(200, {});
      call.chunk(Buffer.from(`body ${i}`));
      return call;
    });
    const seen = await Promise.all(
      calls.map((c) =>
        c.finish().then(async () => {
          const { rows } = await observer.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM provably_intercepts WHERE id = $1',
            [c.id],
          );
          return rows[0]?.n;
        }),
      ),
    );
    expect(seen).toEqual(Array(200).fill(1));
    const { rows } = await observer.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM provably_intercepts WHERE org_id = 'org-group'",
    );
    expect(rows[0]?.n).toBe(200);
    const stats = rec.stats();
    expect(stats.recorded).toBe(200);
    expect(stats.batches).toBeLessThan(200);
    expect(stats.largestBatch).toBeGreaterThan(1);
    expect(stats.pending).toBe(0);
  });

  it('writes a lone call with a single statement, at once', async () => {
    const { store } = ctx();
    const statements: string[] = [];
    const counting: Store = {
      backend: store.backend,
      query: (sql, params) => {
        statements.push(sql);
        return store.query(sql, params);
      },
      transaction: (fn) => store.transaction(fn),
      close: async () => {},
    };
    const rec = createRecorder({ store: () => counting, env: {} });
    const call = rec.start(scopeFor('org-lone'), {
      method: 'GET',
      url: 'https://a.example/',
      headers: {},
      startedAt: new Date(),
    });
    call.response(204, {});
    const t0 = performance.now();
    await call.finish();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^INSERT INTO provably_intercepts /);
  });

  it('runs its store I/O outside the caller\u2019s scope', async () => {
    const { store } = ctx();
    const als = new AsyncLocalStorage<string>();
    const seenInQuery: (string | undefined)[] = [];
    const watched: Store = {
      backend: store.backend,
      query: (sql, params) => {
        seenInQuery.push(als.getStore());
        return store.query(sql, params);
      },
      transaction: (fn) => store.transaction(fn),
      close: async () => {},
    };
    let outsideCalls = 0;
    const rec = createRecorder({
      store: () => {
        seenInQuery.push(als.getStore());
        return watched;
      },
      env: {},
      runOutsideScope: (fn) => {
        outsideCalls++;
        return als.exit(fn);
      },
    });
    await als.run('inside-agent-scope', async () => {
      const calls = Array.from({ length: 5 }, () => {
        const c = rec.start(scopeFor('org-outside'), {
          method: 'GET',
          url: 'https://a.example/',
          headers: {},
          startedAt: new Date(),
        });
        c.response(200, {});
        return c;
      });
      await Promise.all(calls.map((c) => c.finish()));
    });
    expect(outsideCalls).toBeGreaterThan(0);
    expect(seenInQuery.length).toBeGreaterThan(1);
    expect(seenInQuery.every((s) => s === undefined)).toBe(true);
  });
});

describe('recorder queue (store stand-ins)', () => {
  let warnings: string[] = [];
  beforeEach(() => {
    warnings = [];
    configureDiag({ level: 'warn', sink: (line) => warnings.push(line) });
  });
  afterEach(() => {
    configureDiag({ level: 'warn', sink: (line) => process.stderr.write(`${line}\n`) });
  });

  function hangingStore(backend: Store['backend'] = 'pglite'): Store & { release(): void; calls: number } {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = {
      backend,
      calls: 0,
      release: () => release(),
      query: async () => {
        s.calls++;
        await gate;
        return { rows: [], rowCount: 1 };
      },
      transaction: async () => {
        throw new Error('unused');
      },
      close: async () => {},
    };
    return s as Store & { release(): void; calls: number };
  }

  function start(rec: ReturnType<typeof createRecorder>, i: number) {
    const c = rec.start(scopeFor('org-q', { interceptIndex: i }), {
      method: 'GET',
      url: 'https://a.example/x?token=t',
      headers: {},
      startedAt: new Date(),
    });
    c.response(200, {});
    return c;
  }

  it('collects rows that arrive while INSERTs are in flight into the next batch', async () => {
    const store = hangingStore();
    const rec = createRecorder({ store: () => store, env: {}, batch: { maxConcurrent: 1 } });
    const first = start(rec, 0).finish();
    await new Promise((r) => setImmediate(r));
    expect(store.calls).toBe(1);
    const rest = Array.from({ length: 10 }, (_, i) => start(rec, i + 1).finish());
    await new Promise((r) => setImmediate(r));
    expect(store.calls).toBe(1);
    expect(rec.stats().pending).toBe(11);
    store.release();
    await Promise.all([first, ...rest]);
    expect(store.calls).toBe(2);
    expect(rec.stats()).toMatchObject({ recorded: 11, batches: 2, largestBatch: 10, pending: 0 });
  });

  it('keeps one INSERT in flight on PGlite and two on PostgreSQL by default', async () => {
    for (const [backend, expected] of [
      ['pglite', 1],
      ['postgres', 2],
    ] as const) {
      const store = hangingStore(backend);
      const rec = createRecorder({ store: () => store, env: {} });
      const first = start(rec, 0).finish();
      await new Promise((r) => setImmediate(r)); // the first batch learns the backend
      const rest = Array.from({ length: 5 }, (_, i) => start(rec, i + 1).finish());
      await new Promise((r) => setImmediate(r));
      expect(store.calls).toBe(expected);
      store.release();
      await Promise.all([first, ...rest]);
      expect(rec.stats().recorded).toBe(6);
    }
  });

  it('bounds the queue: past maxQueuedRows a row is refused at once', async () => {
    const store = hangingStore();
    const rec = createRecorder({ store: () => store, env: {}, batch: { maxQueuedRows: 3 } });
    const accepted = [0, 1, 2].map((i) => start(rec, i).finish());
    const refused = start(rec, 3).finish();
    await expect(refused).rejects.toBeInstanceOf(ProvablyStoreError);
    await expect(refused).rejects.toThrow(/recording queue is full/);
    await expect(refused).rejects.toThrow(/GET https:\/\/a\.example\/x/);
    await expect(refused).rejects.not.toThrow(/token=/);
    store.release();
    await Promise.all(accepted);
    await rec.flush();
    expect(rec.stats()).toMatchObject({ recorded: 3, rejected: 1 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('recording queue is full');

    // The byte bound: a row always fits an empty queue, later ones only within the bound.
    const store2 = hangingStore();
    const rec2 = createRecorder({
      store: () => store2,
      env: {},
      onStoreError: 'open',
      batch: { maxQueuedBytes: 10 },
    });
    const withBody = (i: number) => {
      const c = start(rec2, i);
      c.chunk(Buffer.alloc(8, i));
      return c.finish();
    };
    const firstBig = withBody(0);
    await expect(withBody(1)).resolves.toBeUndefined(); // refused, but policy `open` lets it through
    expect(rec2.stats()).toMatchObject({ dropped: 1, pending: 1 });
    store2.release();
    await firstBig;
    expect(rec2.stats()).toMatchObject({ recorded: 1, dropped: 1, pending: 0 });
  });

  it('retries rows alone when the database refuses one row of a batch', async () => {
    const inserted: number[] = [];
    let gate: Promise<void> = Promise.resolve();
    let open: () => void = () => {};
    gate = new Promise((r) => {
      open = r;
    });
    let first = true;
    const store: Store = {
      backend: 'postgres',
      query: async (_sql, params = []) => {
        if (first) {
          first = false;
          await gate;
        }
        const rows = params.length / COLUMNS.length;
        const indexes = Array.from({ length: rows }, (_, r) => params[r * COLUMNS.length + 4] as number);
        if (indexes.includes(7)) {
          throw new ProvablyStoreError('query', 'query', 'invalid input', {
            cause: Object.assign(new Error('invalid byte sequence'), { code: '22021' }),
          });
        }
        inserted.push(...indexes);
        return { rows: [], rowCount: rows };
      },
      transaction: async () => {
        throw new Error('unused');
      },
      close: async () => {},
    };
    const rec = createRecorder({ store: () => store, env: {}, batch: { maxConcurrent: 1 } });
    const lead = start(rec, 0).finish();
    const others = Array.from({ length: 9 }, (_, i) => start(rec, i + 1).finish());
    open();
    await lead;
    const results = await Promise.allSettled(others);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(inserted.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9]);
  });
});
