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
import { createDashboardApp, type DashboardOptions } from '../../src/dashboard/index.js';
import {
  createApiKey,
  createTenant,
  getTenant,
  isApiKeyActive,
  resolveApiKey,
} from '../../src/gateway/index.js';
import type { Store } from '../../src/store/types.js';

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

export interface TestKeySpec {
  tenant: string;
  role: 'agent' | 'reviewer' | 'admin';
  name?: string;
  agentId?: string;
}

/** Real gateway API keys (src/gateway/auth.ts) in the store; the tenants are created as needed. */
export async function makeKeys<K extends string>(
  store: Store,
  specs: Record<K, TestKeySpec>,
): Promise<Record<K, string>> {
  const out = {} as Record<K, string>;
  for (const [label, spec] of Object.entries(specs) as [K, TestKeySpec][]) {
    if ((await getTenant(store, spec.tenant)) === null)
      await createTenant(store, { name: spec.tenant, id: spec.tenant });
    out[label] = (await createApiKey(store, spec)).key;
  }
  return out;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/** The dashboard mounted at /ui as the gateway mounts it: the gateway's key resolver and revocation check. */
export async function startDashboard(
  options: Omit<DashboardOptions, 'resolveApiKey' | 'isKeyActive'>,
): Promise<RunningDashboard> {
  const app = new Hono();
  app.route('/ui', createDashboardApp({ ...options, resolveApiKey, isKeyActive: isApiKeyActive }));
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
