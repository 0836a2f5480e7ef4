import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyConfigError, ProvablyStoreError } from '../../src/errors/index.js';
import { createRecorder, type StoreRecorder } from '../../src/record/index.js';
import type { Queryable, Store } from '../../src/store/types.js';
import { describeEachBackend, type TestBackend, testBackends } from '../helpers/backends.js';
import { openPgliteStore, openPgStore, useRecordContext } from './stores.js';
import { startTcpProxy } from './tcp-proxy.js';

let logged: string[] = [];
beforeEach(() => {
  logged = [];
  configureDiag({ level: 'info', sink: (line) => logged.push(line) });
});
afterEach(() => {
  configureDiag({ level: 'warn', sink: (line) => process.stderr.write(`${line}\n`) });
});

function call(rec: StoreRecorder, path = '/x') {
  const c = rec.start(
    {
      orgId: 'org-outage',
      agentId: 'a',
      actionName: 'act',
      interceptIndex: null,
      traceId: null,
      spanId: null,
    },
    { method: 'GET', url: `https://api.example.com${path}?api_key=k123`, headers: {}, startedAt: new Date() },
  );
  c.response(200, {});
  c.chunk(Buffer.from('payload'));
  return c;
}

async function visible(observer: Queryable, id: string): Promise<boolean> {
  const { rows } = await observer.query('SELECT id FROM provably_intercepts WHERE id = $1', [id]);
  return rows.length === 1;
}

/**
 * Drives one outage: `down()` takes the store away, `up()` brings it back. Checks both policies
 * and that recording resumes in the same process.
 */
async function outageScenario(opts: {
  factory: () => Store | Promise<Store>;
  observer: () => Queryable;
  down: () => Promise<void>;
  up: () => Promise<void>;
  expectReason: string[];
}): Promise<void> {
  const closed = createRecorder({ store: opts.factory, onStoreError: 'closed', env: {} });
  const open = createRecorder({ store: opts.factory, onStoreError: 'open', env: {} });

  const ok1 = call(closed);
  const ok2 = call(open);
  await ok1.finish();
  await ok2.finish();
  expect(await visible(opts.observer(), ok1.id)).toBe(true);
  expect(await visible(opts.observer(), ok2.id)).toBe(true);

  await opts.down();

  // closed: the caller learns its call was not recorded, with the call and the cause named.
  const refused = call(closed, '/during-outage');
  const err = await refused.finish().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvablyStoreError);
  const storeErr = err as ProvablyStoreError;
  expect(storeErr.message).toContain('GET https://api.example.com/during-outage');
  expect(storeErr.message).not.toContain('k123');
  expect(opts.expectReason).toContain(storeErr.reason);
  expect(storeErr.cause).toBeDefined();
  expect(closed.stats()).toMatchObject({ rejected: 1, storeDown: true });
  // fail() never rejects, even under `closed`.
  await expect(call(closed).fail(new Error('boom'))).resolves.toBeUndefined();

  // open: calls go through unrecorded, counted, one warning for the whole outage.
  for (let i = 0; i < 3; i++) await expect(call(open).finish()).resolves.toBeUndefined();
  await Promise.all([call(open).finish(), call(open).finish()]);
  expect(open.stats()).toMatchObject({ dropped: 5, rejected: 0, storeDown: true });
  expect(open.stats().storeErrors).toBeGreaterThanOrEqual(1);
  const openWarnings = logged.filter((l) => l.includes('PROVABLY_ON_STORE_ERROR=open'));
  expect(openWarnings).toHaveLength(1);
  expect(openWarnings[0]).toMatch(/^provably warn: /);

  await opts.up();

  // Recording resumes without restarting anything.
  const back1 = call(open, '/after');
  const back2 = call(closed, '/after');
  await back1.finish();
  await back2.finish();
  expect(await visible(opts.observer(), back1.id)).toBe(true);
  expect(await visible(opts.observer(), back2.id)).toBe(true);
  expect(await visible(opts.observer(), ok1.id)).toBe(true);
  expect(await visible(opts.observer(), refused.id)).toBe(false);
  expect(open.stats()).toMatchObject({ storeDown: false, dropped: 5 });
  expect(closed.stats()).toMatchObject({ storeDown: false });
  expect(logged.some((l) => /recording resumed.*5 call\(s\) were not recorded/.test(l))).toBe(true);

  // A second outage warns again (once per outage, not once per process).
  await opts.down();
  await call(open).finish();
  await call(open).finish();
  expect(logged.filter((l) => l.includes('PROVABLY_ON_STORE_ERROR=open'))).toHaveLength(2);
  await opts.up();
  const back3 = call(open);
  await back3.finish();
  expect(await visible(opts.observer(), back3.id)).toBe(true);
}

describeEachBackend('store outage', (backend) => {
  const ctx = useRecordContext(backend);
  it('closed rejects, open counts and warns once, and recording resumes when the store is back', async () => {
    const b = ctx();
    if (b.name === 'postgres') {
      // A real socket-level outage: a loopback proxy in front of the server, cut and restored.
      const target = new URL(b.url as string);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(b.url as string);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const store = openPgStore(viaProxy.href);
      try {
        await outageScenario({
          factory: () => store,
          observer: () => b.observer,
          down: () => proxy.cut(),
          up: () => proxy.restore(),
          expectReason: ['connection-refused', 'unknown'],
        });
      } finally {
        await store.close();
        await proxy.close();
      }
    } else {
      // PGlite: the store (on disk) is closed, and the factory hands out a reopened one.
      const dataDir = mkdtempSync(join(tmpdir(), 'provably-record-outage-'));
      let current = await openPgliteStore(dataDir);
      let factoryCalls = 0;
      try {
        await outageScenario({
          factory: () => {
            factoryCalls++;
            return current;
          },
          observer: () => current,
          down: () => current.close(),
          up: async () => {
            current = await openPgliteStore(dataDir);
          },
          expectReason: ['closed'],
        });
        expect(factoryCalls).toBeGreaterThan(2);
      } finally {
        await current.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });
});

const pglite = (): TestBackend => testBackends().find((b) => b.name === 'pglite') as TestBackend;

describe('store factory failures', () => {
  it('asks the factory again after it failed, and after a connection-level error', async () => {
    const good = await pglite().open();
    let mode: 'throw' | 'reject' | 'broken' | 'good' = 'throw';
    let calls = 0;
    const broken: Store = {
      backend: 'pglite',
      query: async () => {
        throw new ProvablyStoreError('query', 'connection-refused', 'connect ECONNREFUSED 127.0.0.1:1');
      },
      transaction: async () => {
        throw new Error('unused');
      },
      close: async () => {},
    };
    const rec = createRecorder({
      env: {},
      onStoreError: 'closed',
      store: () => {
        calls++;
        if (mode === 'throw') throw new Error('cannot open');
        if (mode === 'reject')
          return Promise.reject(new ProvablyStoreError('open', 'auth', 'password rejected'));
        return mode === 'broken' ? broken : good;
      },
    });
    await expect(call(rec).finish()).rejects.toMatchObject({ reason: 'unknown', message: /cannot open/ });
    mode = 'reject';
    await expect(call(rec).finish()).rejects.toMatchObject({ reason: 'auth' });
    mode = 'broken';
    await expect(call(rec).finish()).rejects.toMatchObject({ reason: 'connection-refused' });
    mode = 'good';
    const c = call(rec);
    await c.finish();
    expect(await visible(good, c.id)).toBe(true);
    expect(calls).toBe(4);
    // A healthy store is kept.
    await call(rec).finish();
    expect(calls).toBe(4);
    await good.close();
  });

  it('close() flushes, then refuses new rows per policy', async () => {
    const store = await pglite().open();
    const rec = createRecorder({ store: () => store, env: {}, onStoreError: 'closed' });
    const inFlight = [call(rec).finish(), call(rec).finish(), call(rec).finish()];
    await rec.close();
    await Promise.all(inFlight);
    expect(rec.stats()).toMatchObject({ recorded: 3, pending: 0 });
    await expect(call(rec).finish()).rejects.toMatchObject({ reason: 'closed' });
    const open = createRecorder({ store: () => store, env: {}, onStoreError: 'open' });
    await open.close();
    await expect(call(open).finish()).resolves.toBeUndefined();
    expect(open.stats().dropped).toBe(1);
    await store.close();
  });

  it('refuses invalid policy values', () => {
    const store = () => {
      throw new Error('unused');
    };
    expect(() => createRecorder({ store, env: { PROVABLY_ON_STORE_ERROR: 'sometimes' } })).toThrow(
      ProvablyConfigError,
    );
    expect(() => createRecorder({ store, env: {}, onStoreError: 'ajar' as 'open' })).toThrow(
      ProvablyConfigError,
    );
  });
});
