/**
 * End to end, with the real preload: proxies from the environment (HTTP_PROXY read by axios,
 * undici's EnvHttpProxyAgent and Node's NODE_USE_ENV_PROXY=1) are egress like any other. Declared
 * in PROVABLY_EGRESS_PROXIES: scoped calls to a trusted target go through it and are recorded
 * under the target URL; to an untrusted target they are refused. Not declared: every scoped call
 * through it is refused before connecting to it. A raw socket to an untrusted server is refused
 * either way. The untrusted server never sees a connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { type CountingListener, startProxy } from '../intercept/egress-kit.js';
import { findCode, runAgent, type Settled } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface EgressResult {
  calls: Record<string, Settled>;
  status: { blocked: number; connectionsBlocked: number; recorded: number; internalErrors: number };
}

const CLIENTS = ['axios', 'undici EnvHttpProxyAgent', 'http.get (NODE_USE_ENV_PROXY)'];

let trusted: CountingServer;
let trustedTls: CountingServer;
let untrusted: CountingServer;
let proxy: CountingListener;
let caFile: string;
beforeAll(async () => {
  [trusted, trustedTls, untrusted, proxy] = await Promise.all([
    startCountingServer(),
    startCountingServer({ tls: true }),
    startCountingServer(),
    startProxy(),
  ]);
  caFile = join(mkdtempSync(join(tmpdir(), 'provably-e2e-egress-')), 'ca.pem');
  writeFileSync(caFile, trustedTls.ca ?? '');
});
afterAll(async () => {
  await Promise.all([trusted.close(), trustedTls.close(), untrusted.close(), proxy.close()]);
  rmSync(join(caFile, '..'), { recursive: true, force: true });
});

function proxyEnv(declared: boolean): Record<string, string> {
  return {
    TRUSTED: trusted.url,
    TRUSTED_TLS: trustedTls.url,
    CA_FILE: caFile,
    UNTRUSTED: untrusted.url,
    HTTP_PROXY: proxy.url,
    http_proxy: proxy.url,
    HTTPS_PROXY: proxy.url,
    https_proxy: proxy.url,
    NO_PROXY: '',
    no_proxy: '',
    NODE_USE_ENV_PROXY: '1',
    NODE_NO_WARNINGS: '1',
    ...(declared ? { PROVABLY_EGRESS_PROXIES: proxy.url } : {}),
  };
}

describeE2E('proxies from the environment with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('declared proxy: trusted targets recorded through it, untrusted refused; raw socket refused', async () => {
    const store = await stores.fresh();
    await store.trust(`${trusted.url}/json`, `${trustedTls.url}/json`);
    const proxyBefore = proxy.connections;
    const run = await runAgent<EgressResult>('egress.mjs', { env: store.env(proxyEnv(true)) });
    const { calls, status } = run.result;
    for (const client of CLIENTS) {
      const ok = calls[`${client} → trusted`];
      expect(ok?.ok, `${client}: ${JSON.stringify(ok)}`).toBe(true);
      const refused = calls[`${client} → untrusted`];
      expect(refused?.ok, `${client} reached the untrusted server`).toBe(false);
      if (refused && !refused.ok) expect(findCode(refused.error, 'PROVABLY_BLOCKED')).toBeDefined();
    }
    // Node's own https proxying: TLS verified for the target inside a tunnel provably did not see.
    const viaTunnel = calls['https.get (NODE_USE_ENV_PROXY) → trusted tls'];
    expect(viaTunnel?.ok, JSON.stringify(viaTunnel)).toBe(true);
    const raw = calls['net.connect → untrusted'];
    expect(raw?.ok).toBe(false);
    if (raw && !raw.ok) expect(findCode(raw.error, 'PROVABLY_BLOCKED')).toBeDefined();
    expect(proxy.connections).toBeGreaterThan(proxyBefore);
    await untrusted.settle();
    expect(untrusted.connections).toBe(0);
    expect(untrusted.bytesReceived).toBe(0);
    const rows = await store.rows();
    expect(rows.map((r) => r.url).sort()).toEqual(
      [
        ...['axios', 'undici-env', 'http'].map((c) => `${trusted.url}/json?client=${c}`),
        `${trustedTls.url}/json?client=https`,
      ].sort(),
    );
    expect(rows.every((r) => r.status === 200)).toBe(true);
    expect(status.recorded).toBe(4);
    expect(status.internalErrors).toBe(0);
    // The raw net.connect was refused by the connection guard, and provablyStatus() says so.
    expect(status.connectionsBlocked).toBeGreaterThanOrEqual(1);
    expect(status.blocked).toBeGreaterThanOrEqual(status.connectionsBlocked);
  });

  it('undeclared proxy: every scoped call through it is refused before connecting to it', async () => {
    const store = await stores.fresh();
    await store.trust(`${trusted.url}/json`, `${trustedTls.url}/json`);
    const proxyBefore = proxy.connections;
    const trustedBefore = trusted.requests;
    const run = await runAgent<EgressResult>('egress.mjs', { env: store.env(proxyEnv(false)) });
    for (const [name, settled] of Object.entries(run.result.calls)) {
      expect(settled.ok, `${name} went through`).toBe(false);
      if (!settled.ok) expect(findCode(settled.error, 'PROVABLY_BLOCKED'), name).toBeDefined();
    }
    expect(proxy.connections).toBe(proxyBefore);
    expect(trusted.requests).toBe(trustedBefore);
    await untrusted.settle();
    expect(untrusted.connections).toBe(0);
    expect(await store.rows()).toEqual([]);
  });
});
