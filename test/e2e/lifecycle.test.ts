/**
 * End to end: an agent's life ends cleanly. A short agent that made governed calls exits ON ITS
 * OWN as soon as its work is done (a preload must never keep the event loop alive), releases the
 * embedded data dir, and an abrupt process.exit() right after the last body read loses no row
 * (each row was committed before its read resolved). A misconfigured preload stops the process
 * before the application runs (it must never run half-governed).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { runAgent } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

/**
 * Until the 'exit' event (the event loop drained): far more than finishing the last rows takes,
 * far less than the 10 s timers PostgreSQL arms (inside PGlite) after a write.
 */
const EXIT_GRACE_MS = 5_000;

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

describe('a misconfigured preload refuses to start', () => {
  for (const [name, value, expected] of [
    ['PROVABLY_ON_STORE_ERROR', 'maybe', 'expected "closed" or "open"'],
    ['PROVABLY_ENABLED', 'perhaps', 'expected 1/0, true/false, yes/no or on/off'],
    ['PROVABLY_TRUST_REFRESH_MS', '-5', 'expected a positive integer'],
    ['PROVABLY_CHECKPOINT_EVERY', '0', 'expected a positive integer'],
    ['PROVABLY_CHECKPOINT_INTERVAL_MS', 'soon', 'expected a positive integer'],
    ['PROVABLY_ALLOW_UDP', '127.0.0.1', '"127.0.0.1" has no port (host:port)'],
    ['PROVABLY_ALLOW_DNS_SERVERS', 'dns.example', '"dns.example": a DNS server is an IP address'],
  ] as const) {
    it(`${name}=${value}: the process stops with ProvablyConfigError naming the setting; the app never runs`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'provably-e2e-misconfig-'));
      const run = await runAgent('hello.mjs', {
        env: cleanEnv({ PROVABLY_DATA_DIR: join(dir, '.provably'), [name]: value }),
        allowFailure: true,
      }).finally(() => rmSync(dir, { recursive: true, force: true }));
      expect(run.result).toBeUndefined();
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`ProvablyConfigError: ${name}: ${expected}`);
    });
  }
});

describeE2E('agent lifecycle with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it(`exits by itself within ${EXIT_GRACE_MS} ms of finishing its work, and releases the store`, async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    const run = await runAgent('lifecycle.mjs', {
      env: store.env({ TRUSTED: server.url }),
      exitGraceMs: EXIT_GRACE_MS,
    });
    console.log(
      `[e2e lifecycle ${backend}] work ${run.workMs} ms; 'exit' ${run.exitMs} ms after the result, process gone ${run.teardownMs} ms later`,
    );
    expect(run.code).toBe(0);
    if (backend === 'pglite') {
      // The embedded data dir's lock is gone: the next process can open it at once.
      expect(existsSync(join(store.settings.PROVABLY_DATA_DIR as string, 'store.lock'))).toBe(false);
    }
    const list = await runCli(['intercepts', 'list', '--json'], store.env());
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((r: { action_name: string }) => r.action_name)).toEqual([
      'step 3',
      'step 2',
      'step 1',
    ]);
  });

  it('process.exit() right after the last body read loses no row', async () => {
    const store = await stores.fresh();
    await store.trust(`${server.url}/json`);
    const run = await runAgent('lifecycle.mjs', { env: store.env({ TRUSTED: server.url }), args: ['exit'] });
    expect(run.result).toEqual({ bodies: 3 });
    expect((await store.rows()).map((r) => r.actionName)).toEqual(['step 1', 'step 2', 'step 3']);
  });
});
