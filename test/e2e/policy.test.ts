/**
 * End to end: what an agent sees when its store fails, with the real preload.
 *
 * - Store unreachable from the start (nothing listens at PROVABLY_DATABASE_URL; on the embedded
 *   store: the data dir held by another process). The trusted set cannot be loaded, so a scoped
 *   call cannot be checked: it FAILS CLOSED with the ProvablyStoreError (as fetch's TypeError
 *   cause, or axios' code) under BOTH policies — PROVABLY_ON_STORE_ERROR=open only concerns
 *   writing the row of a call already allowed, it never lets an unchecked call out. Nothing is
 *   sent, nothing hangs, unscoped calls work.
 * - Store lost while running (PostgreSQL behind a TCP proxy the test cuts; the trusted set is
 *   already loaded): `closed` → the caller's body read fails with the ProvablyStoreError; `open`
 *   → the caller gets its body, the process logs a warning, the row is counted as dropped.
 *   Unscoped calls work either way, and recording resumes when the store is back.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { startTcpProxy } from '../record/tcp-proxy.js';
import { type ErrorShape, errorChain, runAgent, type Settled, startAgent } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface UnreachableResult {
  scopedFetch: Settled<string>;
  scopedAxios: Settled;
  unscoped: Settled;
  ms: number;
  status: { blocked: number; recorded: number; gateErrors: number; storeErrors: number; dropped: number };
}

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The ProvablyStoreError itself in the chain (wrappers such as AxiosError copy only its code). */
function storeError(e: ErrorShape | undefined): ErrorShape | undefined {
  return errorChain(e).find((c) => c.ctor === 'ProvablyStoreError' && c.code === 'PROVABLY_STORE_ERROR');
}

/** The common expectations when the trusted set cannot be loaded. */
function expectFailedClosed(r: UnreachableResult, reason: string, paths: string[]): void {
  expect(r.scopedFetch.ok, JSON.stringify(r.scopedFetch)).toBe(false);
  expect(r.scopedAxios.ok, JSON.stringify(r.scopedAxios)).toBe(false);
  if (r.scopedFetch.ok || r.scopedAxios.ok) return;
  // fetch: TypeError('fetch failed') whose cause is the ProvablyStoreError.
  expect(r.scopedFetch.error).toMatchObject({ typeError: true, message: 'fetch failed' });
  expect(r.scopedFetch.error.cause).toMatchObject({
    ctor: 'ProvablyStoreError',
    code: 'PROVABLY_STORE_ERROR',
    reason,
  });
  // axios: its AxiosError keeps the code, the store error is its cause.
  expect(r.scopedAxios.error).toMatchObject({ ctor: 'AxiosError', code: 'PROVABLY_STORE_ERROR' });
  expect(storeError(r.scopedAxios.error)?.reason).toBe(reason);
  // Unscoped calls do not need the store.
  expect(r.unscoped).toEqual({ ok: true, value: { hello: 'world', list: [1, 2, 3] } });
  // Counted as gate failures, not as blocks; nothing recorded.
  expect(r.status).toMatchObject({ blocked: 0, recorded: 0, gateErrors: 2 });
  // Only the unscoped call reached the server.
  expect(paths).toEqual(['/json?unscoped=1']);
}

describeE2E('store failure policy with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  for (const policy of ['closed', 'open'] as const) {
    it(`store unreachable from the start, PROVABLY_ON_STORE_ERROR=${policy}: scoped calls fail closed with ProvablyStoreError, unscoped calls work`, async () => {
      const store = await stores.fresh();
      await store.trust(`${server.url}/json`);
      const before = server.log.length;
      const extra = { TRUSTED: server.url, PROVABLY_ON_STORE_ERROR: policy };
      let run: Awaited<ReturnType<typeof runAgent<UnreachableResult>>>;
      let reason: string;
      if (backend === 'postgres') {
        // Same settings as a working agent, but nothing listens at the database's address.
        const dead = new URL(store.settings.PROVABLY_DATABASE_URL as string);
        dead.port = String(await closedPort());
        run = await runAgent<UnreachableResult>('policy-unreachable.mjs', {
          env: store.env({ ...extra, PROVABLY_DATABASE_URL: dead.toString() }),
        });
        reason = 'connection-refused';
      } else {
        // The embedded data dir is held by another process (this one) for the whole run.
        run = await store.withStore(async (db) => {
          await db.query('SELECT 1');
          return runAgent<UnreachableResult>('policy-unreachable.mjs', { env: store.env(extra) });
        });
        reason = 'locked';
      }
      expectFailedClosed(
        run.result,
        reason,
        server.log.slice(before).map((l) => l.path),
      );
      const cause = run.result.scopedFetch.ok ? undefined : run.result.scopedFetch.error.cause;
      if (backend === 'pglite') expect(cause?.message).toContain(`in use: process ${process.pid} `);
      // The user is told once, on stderr, why scoped calls fail.
      expect(run.stderr).toMatch(
        /provably error: trust gate failed; scoped calls fail closed until it recovers/,
      );
      expect(run.stderr.match(/trust gate failed/g)).toHaveLength(1);
      expect(run.stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/); // one-line diagnostics, no stack traces
      expect(await store.rows()).toEqual([]);
    });
  }

  if (backend === 'postgres') {
    for (const policy of ['closed', 'open'] as const) {
      it(`store lost while running, PROVABLY_ON_STORE_ERROR=${policy}`, async () => {
        const store = await stores.fresh();
        await store.trust(`${server.url}/json`);
        const real = new URL(store.settings.PROVABLY_DATABASE_URL as string);
        const proxy = await startTcpProxy(real.hostname, Number(real.port));
        try {
          const viaProxy = new URL(real);
          viaProxy.port = String(proxy.port);
          const before = server.log.length;
          const agent = startAgent('policy-outage.mjs', {
            env: store.env({
              TRUSTED: server.url,
              PROVABLY_ON_STORE_ERROR: policy,
              PROVABLY_DATABASE_URL: viaProxy.toString(),
            }),
            stdin: true,
          });
          const ready = await agent.next('ready');
          expect(ready.before).toMatchObject({ ok: true });
          await proxy.cut();
          agent.send('go');
          const outage = await agent.next('outage-done');
          const fetchDuring = outage.fetchDuring as Settled<string>;
          const httpDuring = outage.httpDuring as Settled<string>;
          expect(outage.unscoped).toMatchObject({ ok: true });

          if (policy === 'closed') {
            for (const [name, settled] of [
              ['fetch', fetchDuring],
              ['node:http', httpDuring],
            ] as const) {
              expect(settled.ok, `${name}: ${JSON.stringify(settled)}`).toBe(false);
              if (settled.ok) continue;
              const own = storeError(settled.error);
              expect(own, `${name}: ${JSON.stringify(settled.error)}`).toBeDefined();
              expect(own?.ctor).toBe('ProvablyStoreError');
              expect(own?.reason).toBe('connection-refused');
              expect(own?.message).toContain("the call's intercept row was not stored");
            }
            expect(outage.status).toMatchObject({ recorded: 1, dropped: 0 });
            expect(agent.output()).toContain(
              'PROVABLY_ON_STORE_ERROR=closed fails those calls until the store is back',
            );
          } else {
            expect(fetchDuring).toEqual({
              ok: true,
              value: JSON.stringify({ hello: 'world', list: [1, 2, 3] }),
            });
            expect(httpDuring).toEqual({
              ok: true,
              value: JSON.stringify({ hello: 'world', list: [1, 2, 3] }),
            });
            expect(outage.status).toMatchObject({ recorded: 1, dropped: 2 });
            expect(agent.output()).toContain(
              'provably warn: cannot write intercept rows; PROVABLY_ON_STORE_ERROR=open lets calls through unrecorded until the store is back',
            );
          }
          // The calls during the outage were sent (the trusted set was loaded): the server saw them.
          expect(server.log.slice(before).map((l) => l.path)).toEqual([
            '/json?phase=before',
            '/json?phase=during-fetch',
            '/json?phase=during-http',
            '/json?phase=unscoped',
          ]);

          await proxy.restore();
          agent.send('again');
          const run = await agent.done;
          expect((run.result as { after: Settled }).after).toMatchObject({ ok: true });
          expect((run.result as { status: { recorded: number } }).status.recorded).toBe(2);
          const rows = await store.rows();
          expect(rows.map((r) => r.actionName)).toEqual(['before outage', 'after outage']);
          // Never a stack trace in the agent's log.
          expect(run.stderr).not.toMatch(/at .*\(.*:\d+:\d+\)/);
        } finally {
          await proxy.close();
        }
      });
    }
  }
});
