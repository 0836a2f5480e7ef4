/**
 * The dashboard under test: its app mounted at /ui of a real HTTP server on 127.0.0.1 over a
 * real store, a real headless Chromium driven by playwright-core, and an API key resolver over
 * a fixed table of keys (the gateway's resolveApiKey takes its place once merged: the dashboard
 * only sees the resolver's answers).
 */
import { existsSync } from 'node:fs';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type Browser, chromium, type Locator } from 'playwright-core';
import { describe } from 'vitest';
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
let available: boolean | undefined;
export function chromiumAvailable(): boolean {
  if (available !== undefined) return available;
  const present = existsSync(CHROMIUM);
  if (!present && process.env.PROVABLY_REQUIRE_CHROMIUM === '1') {
    throw new Error(`PROVABLY_REQUIRE_CHROMIUM=1 but ${CHROMIUM} is missing: apt-get install chromium`);
  }
  if (!present)
    console.warn(`dashboard browser tests SKIPPED: ${CHROMIUM} is not installed (apt-get install chromium)`);
  available = present;
  return present;
}

/**
 * `describeFn` when Chromium is installed, else the suite is reported as skipped. Why a skip and
 * not a failure: the browser is a Debian package (no download), absent on a bare developer
 * machine; CI sets PROVABLY_REQUIRE_CHROMIUM=1, where chromiumAvailable() throws instead, so
 * the browser tests can never be skipped there.
 */
export function withChromium<F extends (name: string, ...rest: never[]) => void>(describeFn: F): F {
  if (chromiumAvailable()) return describeFn;
  return ((name: string) => describe.skip(name, () => {})) as unknown as F;
}

/** Waits until `loc`'s visible text contains `text` (the page updates itself by polling). */
export async function seeText(loc: Locator, text: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = (await loc.allInnerTexts()).join('\n');
    if (got.includes(text)) return;
    if (Date.now() > end)
      throw new Error(
        `expected text ${JSON.stringify(text)} in ${loc}, got ${JSON.stringify(got.slice(0, 400))}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
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
