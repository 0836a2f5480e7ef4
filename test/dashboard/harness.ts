/**
 * The dashboard under test: its app mounted at /ui of a real HTTP server on 127.0.0.1 over a
 * real store, a real headless Chromium driven by playwright-core, and an API key resolver over
 * a fixed table of keys (the gateway's resolveApiKey takes its place once merged: the dashboard
 * only sees the resolver's answers).
 */
import { existsSync } from 'node:fs';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type Browser, chromium } from 'playwright-core';
import {
  createDashboardApp,
  type DashboardOptions,
  type DashboardPrincipal,
} from '../../src/dashboard/index.js';

export const CHROMIUM = process.env.PROVABLY_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests can run; throws when CI requires them and the browser is missing. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.PROVABLY_REQUIRE_CHROMIUM === '1') {
    throw new Error(`PROVABLY_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing: apt-get install chromium`);
  }
  console.warn(`dashboard browser tests SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return false;
}

/** A headless Chromium; playwright gives every launch a fresh temporary profile. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface TestKey {
  key: string;
  principal: DashboardPrincipal;
}

export function testKey(
  prefix: string,
  principal: Partial<DashboardPrincipal> & { tenant: string },
): TestKey {
  const secret = Buffer.from(`${prefix}-secret-${Math.random()}`).toString('base64url').padEnd(43, 'x');
  return {
    key: `pvk_${prefix}_${secret}`,
    principal: { role: 'reviewer', keyId: `id-${prefix}`, keyName: null, agentId: null, ...principal },
  };
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(
  options: Omit<DashboardOptions, 'resolveApiKey'>,
  keys: readonly TestKey[],
): Promise<RunningDashboard> {
  const table = new Map(keys.map((k) => [k.key, k.principal]));
  const app = new Hono();
  app.route(
    '/ui',
    createDashboardApp({ ...options, resolveApiKey: async (_store, key) => table.get(key) ?? null }),
  );
  let server: ServerType | undefined;
  const url = await new Promise<string>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
  });
  return {
    url,
    close: () => new Promise<void>((done) => (server ? server.close(() => done()) : done())),
  };
}
