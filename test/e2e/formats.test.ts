/**
 * End to end: the ways an agent gets started and loads provably.
 * - ESM app, preload by flag and by NODE_OPTIONS='--import provably/register';
 * - a dependency that makes scoped requests while being imported (top-level await);
 * - a CommonJS app: `require('provably')` (the CJS build) next to the ESM preload must control the
 *   same running instance (scopes, disable()/enable(), status).
 */
import { expect, it } from 'vitest';
import { listTrustedEndpoints } from '../../src/trust/index.js';
import { JSON_BODY } from '../helpers/counting-server.js';
import { findCode, type Preload, runAgent, type Settled, useAgentServers } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

const JSON_TEXT = JSON.stringify(JSON_BODY);
const OK = { ok: true, value: { status: 200, body: JSON_TEXT } };

const servers = useAgentServers();

describeE2E('module formats and startup paths', (backend) => {
  const stores = useE2EStores(backend);

  for (const preload of ['flag', 'node-options'] as Preload[]) {
    it(`ESM app (${preload === 'flag' ? '--import provably/register' : "NODE_OPTIONS='--import provably/register'"}) with a dependency that calls at import time`, async () => {
      const store = await stores.fresh();
      await store.trust(`${servers.trusted.url}/json`);
      const before = servers.untrusted.log.length;
      const run = await runAgent('app-esm.mjs', {
        env: store.env(servers.env),
        preload,
      });
      const r = run.result as Record<string, unknown>;
      expect(r.atImport).toEqual({ status: 200, body: JSON_TEXT });
      expect(r.blockedAtImport).toBe('PROVABLY_BLOCKED');
      expect(r.own).toEqual({ status: 200, body: JSON_TEXT });
      if (preload === 'node-options') {
        expect(r.nodeOptions).toBe('--import provably/register');
        expect(r.execArgv).toEqual([]);
      } else {
        expect(r.execArgv).toEqual(['--import', 'provably/register']);
      }
      expect(r.status).toMatchObject({ started: true, blocked: 1, recorded: 2 });
      expect(servers.untrusted.log.length - before).toBe(0);
      const rows = await store.rows();
      expect(rows.map((row) => [row.agentId, row.actionName, row.url])).toEqual([
        ['agent-dep', 'dep at import', `${servers.trusted.url}/json?dep=import`],
        ['agent-app', 'app call', `${servers.trusted.url}/json?app=1`],
      ]);
    });
  }

  it("CommonJS app: require('provably') controls the preload's running instance", async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const before = servers.untrusted.log.length;
    const run = await runAgent('app.cjs', {
      env: store.env(servers.env),
    });
    const r = run.result as Record<string, unknown>;
    // The CJS copy sees the controller the preload installed.
    expect(r.statusAtStart).toMatchObject({ started: true, enabled: true });
    // A scope entered through the CJS copy is governed by the preload's interception…
    expect(r.trusted).toEqual(OK);
    const blocked = r.untrusted as Settled;
    expect(blocked.ok).toBe(false);
    if (!blocked.ok) expect(findCode(blocked.error, 'PROVABLY_BLOCKED')).toBeDefined();
    // …and disable()/enable() through the CJS copy switch it.
    expect(r.enabledAfterDisable).toBe(false);
    expect(r.untrustedWhileDisabled).toEqual(OK);
    const again = r.untrustedAfterEnable as Settled;
    expect(again.ok).toBe(false);
    expect(r.status).toMatchObject({ started: true, enabled: true, blocked: 2, recorded: 1 });
    expect(servers.untrusted.log.slice(before).map((l) => l.path)).toEqual(['/json?cjs=disabled']);
    const rows = await store.rows();
    expect(rows.map((row) => [row.agentId, row.actionName])).toEqual([['agent-cjs', 'cjs trusted']]);
  });

  it("CommonJS app: the store behind require('provably') is the preload's — what either copy writes, both see and nothing is lost", async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const run = await runAgent('app-store.cjs', { env: store.env({ TRUSTED: servers.trusted.url }) });
    expect(run.result).toEqual({
      afterFirst: ['first'],
      added: true,
      afterSecond: ['first', 'second'],
      trustedNow: true,
    });
    // After the agent is gone, the store holds everything either copy wrote.
    expect((await store.rows()).map((row) => row.actionName)).toEqual(['first', 'second']);
    const endpoints = await store.withStore((db) => listTrustedEndpoints({ orgId: store.orgId, store: db }));
    expect(endpoints.map((e) => e.normalizedUrl).sort()).toEqual(
      ['https://added-by-cjs.example.com/v1', `${servers.trusted.url}/json`].sort(),
    );
  });

  it("CommonJS app: a second openStore() through require('provably') never opens the preload's embedded data dir twice", async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const run = await runAgent('app-open.cjs', { env: store.env({ TRUSTED: servers.trusted.url }) });
    const r = run.result as Record<string, unknown>;
    expect(r.call).toEqual({ ok: true, value: 200 });
    const second = r.secondStore as Settled;
    if (backend === 'pglite') {
      // Refused like the same call through the ESM copy: one embedded data dir, one instance.
      expect(second.ok, JSON.stringify(second)).toBe(false);
      // (As a CommonJS user sees it: the error keeps its class name in the CJS build too.)
      if (!second.ok) {
        expect(second.error).toMatchObject({
          name: 'ProvablyStoreError',
          ctor: 'ProvablyStoreError',
          reason: 'locked',
        });
      }
    } else {
      expect(second).toEqual({ ok: true, value: { one: 1 } });
    }
    expect(r.after).toEqual({ ok: true, value: 200 });
    expect(r.rows).toEqual(['first', 'after']);
    expect((await store.rows()).map((row) => row.actionName)).toEqual(['first', 'after']);
  });
});
