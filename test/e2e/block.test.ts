/**
 * End to end: a scoped call to an untrusted URL is refused before any connection, whatever client
 * the agent uses, with that client's normal error shape carrying PROVABLY_BLOCKED; the untrusted
 * server sees nothing at all; no row is written; provablyStatus() counts every refusal.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { type ErrorShape, errorChain, findCode, runAgent, type Settled } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface BlockResult {
  calls: Record<string, Settled>;
  status: { started: boolean; blocked: number; recorded: number; gateErrors: number; internalErrors: number };
}

/** How each client reports a refusal: its usual error type, with the provably error reachable. */
const EXPECTED_TOP: Record<string, Partial<ErrorShape>> = {
  // fetch: TypeError('fetch failed') with the ProvablyBlockedError as cause.
  fetch: { name: 'TypeError', typeError: true, message: 'fetch failed' },
  'fetch https': { name: 'TypeError', typeError: true, message: 'fetch failed' },
  'undici 8 fetch': { name: 'TypeError', typeError: true, message: 'fetch failed' },
  'undici 7 fetch': { name: 'TypeError', typeError: true, message: 'fetch failed' },
  // node:http(s) and undici.request: the ProvablyBlockedError itself.
  'node:http': { name: 'ProvablyBlockedError', code: 'PROVABLY_BLOCKED' },
  'node:https': { name: 'ProvablyBlockedError', code: 'PROVABLY_BLOCKED' },
  'undici 8 request': { name: 'ProvablyBlockedError', code: 'PROVABLY_BLOCKED' },
  'undici 7 request': { name: 'ProvablyBlockedError', code: 'PROVABLY_BLOCKED' },
  // Wrapping clients keep `code` (axios also copies the name onto its AxiosError).
  axios: { ctor: 'AxiosError', code: 'PROVABLY_BLOCKED' },
  'axios https': { ctor: 'AxiosError', code: 'PROVABLY_BLOCKED' },
  got: { ctor: 'RequestError', name: 'RequestError', code: 'PROVABLY_BLOCKED' },
  // node-fetch 3 keeps no cause: only `code` and the reason in its message.
  'node-fetch': { ctor: 'FetchError', name: 'FetchError', code: 'PROVABLY_BLOCKED' },
};

let plain: CountingServer;
let tls: CountingServer;
let caFile: string;
beforeAll(async () => {
  [plain, tls] = await Promise.all([startCountingServer(), startCountingServer({ tls: true })]);
  caFile = join(mkdtempSync(join(tmpdir(), 'provably-e2e-ca-')), 'ca.pem');
  writeFileSync(caFile, tls.ca ?? '');
});
afterAll(async () => {
  await Promise.all([plain?.close(), tls?.close()]);
  rmSync(join(caFile, '..'), { recursive: true, force: true });
});

describeE2E('blocked calls with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('every client: refused before any connection, its own error shape with PROVABLY_BLOCKED, no row, counted', async () => {
    const store = await stores.fresh();
    // Something else is trusted: the org has a registry, these servers are just not in it.
    await store.trust('https://api.example.com/customers/{id}');
    const before = { plain: plain.connections, tls: tls.connections };

    const run = await runAgent<BlockResult>('block.mjs', {
      env: store.env({ UNTRUSTED_HTTP: plain.url, UNTRUSTED_HTTPS: tls.url, CA_FILE: caFile }),
    });
    const { calls, status } = run.result;

    expect(Object.keys(calls).sort()).toEqual(Object.keys(EXPECTED_TOP).sort());
    for (const [client, settled] of Object.entries(calls)) {
      expect(settled.ok, `${client} went through: ${JSON.stringify(settled)}`).toBe(false);
      if (settled.ok) continue;
      const top = settled.error;
      expect(top, client).toMatchObject(EXPECTED_TOP[client] as object);
      const blocked = findCode(top, 'PROVABLY_BLOCKED');
      expect(blocked, `${client}: no PROVABLY_BLOCKED in ${JSON.stringify(top)}`).toBeDefined();
      if (client === 'node-fetch') {
        expect(top.message).toMatch(
          /^request to http:\/\/127\.0\.0\.1:\d+\/json\?client=node-fetch failed, reason: BLOCKED: /,
        );
        continue;
      }
      // Everywhere else the provably error itself is reachable, and complete.
      const own = errorChain(top).find((e) => e.ctor === 'ProvablyBlockedError');
      expect(own, `${client}: ProvablyBlockedError not reachable from ${JSON.stringify(top)}`).toBeDefined();
      expect(own).toMatchObject({ agentId: 'agent-blocked', actionName: `call ${client}` });
      expect(own?.message).toMatch(/^BLOCKED: https?:\/\/127\.0\.0\.1:\d+\/json\?client=/);
      expect(own?.message).toContain('not a trusted endpoint');
      expect(own?.message).toContain(`agent "agent-blocked", action "call ${client}"`);
    }

    // Nothing reached either server: not a TCP connection, not a byte (not even a TLS hello).
    await Promise.all([plain.settle(), tls.settle()]);
    expect(plain.connections - before.plain).toBe(0);
    expect(tls.connections - before.tls).toBe(0);
    expect(plain.bytesReceived).toBe(0);
    expect(tls.bytesReceived).toBe(0);

    expect(status).toMatchObject({ started: true, blocked: Object.keys(EXPECTED_TOP).length, recorded: 0 });
    expect(status.gateErrors).toBe(0);
    expect(status.internalErrors).toBe(0);
    expect(await store.rows()).toEqual([]);
    // The refusal is logged (once per origin at warn) on the agent's stderr.
    expect(run.stderr).toContain(`provably warn: BLOCKED: ${plain.url}/json`);
  });

  it('cold start: a burst of first scoped calls waits for the trusted set — trusted ones recorded, untrusted refused unsent', async () => {
    const store = await stores.fresh();
    const trusted = await startCountingServer();
    try {
      await store.trust(`${trusted.url}/json`);
      const n = 200;
      const before = plain.connections;
      const run = await runAgent<{
        wrong: unknown[];
        okCount: number;
        blockedCodes: string[];
        status: { blocked: number; recorded: number; gateErrors: number };
      }>('burst.mjs', { env: store.env({ TRUSTED: trusted.url, UNTRUSTED: plain.url, N: String(n) }) });
      const r = run.result;
      const untrustedCount = Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 === 3).length;
      expect(r.wrong).toEqual([]);
      expect(r.okCount).toBe(n - untrustedCount);
      expect(r.blockedCodes).toEqual(['PROVABLY_BLOCKED']);
      expect(r.status).toMatchObject({
        blocked: untrustedCount,
        recorded: n - untrustedCount,
        gateErrors: 0,
      });
      expect(trusted.requests).toBe(n - untrustedCount);
      await plain.settle();
      expect(plain.connections - before).toBe(0);
      expect(plain.bytesReceived).toBe(0);
      const rows = await store.rows();
      expect(rows).toHaveLength(n - untrustedCount);
      expect(new Set(rows.map((row) => row.actionName)).size).toBe(n - untrustedCount);
      for (const row of rows)
        expect(row.url).toBe(`${trusted.url}/json?i=${row.actionName.slice('burst '.length)}`);
    } finally {
      await trusted.close();
    }
  });
});
