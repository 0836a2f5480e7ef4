/**
 * End to end: inside a scope, a trusted URL that redirects to an untrusted one is refused AT THE
 * HOP — the untrusted server sees nothing — whichever way the client follows redirects. The 302
 * exchange with the trusted server really happened and is recorded; the refused hop is not.
 */
import { expect, it } from 'vitest';
import { errorChain, findCode, runAgent, type Settled, useAgentServers } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface RedirectResult {
  calls: Record<string, Settled & { start: string }>;
  status: { blocked: number; recorded: number };
}

const FOLLOWERS = ['fetch', 'axios', 'got', 'node-fetch', 'undici 8 fetch', 'undici 7 redirect interceptor'];

const servers = useAgentServers();

describeE2E('redirects with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('trusted → untrusted: blocked at the hop for every client, the untrusted server sees nothing', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/redirect`);
    const before = servers.trusted.log.length;

    const run = await runAgent<RedirectResult>('redirect.mjs', {
      env: store.env(servers.env),
    });
    const { calls, status } = run.result;

    expect(Object.keys(calls)).toEqual(FOLLOWERS);
    for (const [name, settled] of Object.entries(calls)) {
      expect(settled.ok, `${name} followed the redirect: ${JSON.stringify(settled)}`).toBe(false);
      if (settled.ok) continue;
      expect(
        findCode(settled.error, 'PROVABLY_BLOCKED'),
        `${name}: ${JSON.stringify(settled.error)}`,
      ).toBeDefined();
      // The refusal names the HOP's URL, not the trusted start.
      const text = errorChain(settled.error)
        .map((e) => e.message)
        .join(' | ');
      expect(text).toContain(`BLOCKED: ${servers.untrusted.url}/json?from=${encodeURIComponent(name)}`);
    }

    await servers.untrusted.settle();
    expect(servers.untrusted.connections).toBe(0);
    expect(servers.untrusted.bytesReceived).toBe(0);
    // The trusted server answered each first hop.
    expect(servers.trusted.log.slice(before).map((l) => l.path)).toEqual(
      FOLLOWERS.map(
        (name) => new URL(calls[name]?.start ?? '').pathname + new URL(calls[name]?.start ?? '').search,
      ),
    );
    expect(status.blocked).toBe(FOLLOWERS.length);
    // (status.recorded is not checked here: a 302 whose body the client never reads is committed
    // asynchronously, possibly after the agent reported. The rows below are what counts.)

    // (Commit order is not call order: a client that never reads the 302's body ends it later.)
    const rows = (await store.rows()).sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
    expect(rows.map((r) => [r.actionName, r.status, r.url])).toEqual(
      FOLLOWERS.map((name) => [`follow ${name}`, 302, calls[name]?.start]),
    );
    expect(rows.every((r) => r.agentId === 'agent-redirect' && r.error === null)).toBe(true);
    for (const r of rows) expect(r.responseHeaders?.location).toBe(new URL(r.url).searchParams.get('to'));
  });
});
