/**
 * End to end: a running agent picks up changes to the trusted endpoints without a restart, within
 * the refresh interval (PROVABLY_TRUST_REFRESH_MS, default 5 s).
 * - PostgreSQL: the change is made by the CLI in ANOTHER process.
 * - Embedded store (single process): the change is made through the public API inside the agent.
 * The agent is polled over stdin; the time from the change to the first call that sees it is
 * printed. A refused poll never reaches the server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { type Agent, since, startAgent } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

const REFRESH_MS = 5_000; // the default, deliberately not overridden
/** How long past one refresh interval a change may take to show (store round trip, polling). */
const SLACK_MS = 3_000;
const POLL_MS = 100;

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server?.close();
});

async function call(agent: Agent, url: string): Promise<{ ok: boolean; code?: string; status?: number }> {
  agent.send(`call ${url}`);
  const e = await agent.next('called');
  return e as unknown as { ok: boolean; code?: string; status?: number };
}

/** Calls until the outcome's `ok` equals `want`; returns the milliseconds it took. */
async function pollUntil(agent: Agent, url: string, want: boolean): Promise<number> {
  const start = performance.now();
  for (;;) {
    const outcome = await call(agent, url);
    // A refusal is always the trust gate's, never some other failure.
    if (!outcome.ok) expect(outcome.code).toBe('PROVABLY_BLOCKED');
    if (outcome.ok === want) return since(start);
    if (since(start) > REFRESH_MS + SLACK_MS) {
      throw new Error(`the change did not reach the running agent within ${REFRESH_MS + SLACK_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

describeE2E('trusted-endpoint refresh in a running agent', (backend) => {
  const stores = useE2EStores(backend);

  it(`an endpoint added (then removed) ${backend === 'postgres' ? 'by the CLI in another process' : 'through the API'} takes effect within the refresh interval`, {
    timeout: 60_000,
  }, async () => {
    const store = await stores.fresh();
    await store.trust('https://api.example.com/unrelated');
    const url = `${server.url}/json?refresh=1`;
    const entry = `${server.url}/json`;
    const before = server.log.length;
    const agent = startAgent('refresh.mjs', { env: store.env(), stdin: true });

    // Not trusted yet (this also loads the org's trusted set and starts the refresh timer).
    expect(await call(agent, url)).toEqual(expect.objectContaining({ ok: false, code: 'PROVABLY_BLOCKED' }));

    if (backend === 'postgres') {
      const added = await runCli(['endpoints', 'add', entry], store.env());
      expect(added.code, added.stderr).toBe(0);
    } else {
      agent.send(`add ${entry}`);
      expect(await agent.next('added')).toMatchObject({ created: true });
    }
    const addMs = await pollUntil(agent, url, true);

    if (backend === 'postgres') {
      const removed = await runCli(['endpoints', 'remove', entry], store.env());
      expect(removed.code, removed.stderr).toBe(0);
    } else {
      agent.send(`remove ${entry}`);
      expect(await agent.next('removed')).toMatchObject({ removed: true });
    }
    const removeMs = await pollUntil(agent, url, false);
    console.log(`[e2e refresh ${backend}] add seen after ${addMs} ms, removal after ${removeMs} ms`);

    agent.send('exit');
    const run = await agent.done;
    expect(addMs).toBeLessThanOrEqual(REFRESH_MS + SLACK_MS);
    expect(removeMs).toBeLessThanOrEqual(REFRESH_MS + SLACK_MS);

    // Exactly the calls made while trusted reached the server and were recorded.
    const rows = await store.rows();
    const okCalls = run.events.filter((e) => e.event === 'called' && e.ok === true).length;
    expect(okCalls).toBeGreaterThanOrEqual(1);
    expect(rows).toHaveLength(okCalls);
    expect(server.log.slice(before).filter((l) => l.path === '/json?refresh=1')).toHaveLength(okCalls);
    expect(server.log.length - before).toBe(okCalls);
    expect((run.result as { status: { blocked: number } }).status.blocked).toBe(
      run.events.filter((e) => e.event === 'called' && e.ok === false).length,
    );
  });
});
