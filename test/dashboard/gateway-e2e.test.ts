/**
 * End to end, as an operator runs it: `provably gateway` (the built CLI) in its own process,
 * keys and policy made with the library, an agent calling POST /v1/execute with `wait`, and a
 * reviewer deciding in a real headless Chromium at <gateway>/ui.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent } from '../e2e/child.js';
import { describeE2E, type E2EStore, useE2EStores } from '../e2e/stores.js';
import { type GatewayChild, type Json, startGateway } from '../gateway/child.js';
import { setUpTenant, type TenantKeys } from '../gateway/fixtures.js';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { launchBrowser, seeText as seeTextWithin, withChromium } from './harness.js';

const seeText = (loc: Locator, text: string) => seeTextWithin(loc, text, 15_000);

withChromium(describeE2E)('dashboard on the gateway child', (backend) => {
  const stores = useE2EStores(backend);
  let store: E2EStore;
  let gw: GatewayChild;
  let keys: TenantKeys;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    store = await stores.fresh();
    await store.withStore(async (s) => {
      keys = await setUpTenant(s, `ui-${backend}`);
    });
    gw = await startGateway(store.env());
    browser = await launchBrowser();
    ctx = await browser.newContext();
    page = await ctx.newPage();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (gw) expect(await gw.stop()).toBe(0);
  });

  const execute = (body: Json) => gw.call<Json>('POST', '/v1/execute', { key: keys.agent, body });
  const signIn = async (p: Page, key: string) => {
    await p.goto(`${gw.url}/ui/login`);
    await p.getByLabel('Reviewer or admin API key').fill(key);
    await Promise.all([p.waitForNavigation(), p.getByRole('button', { name: 'Sign in' }).click()]);
  };

  it('an agent key cannot sign in; a reviewer key can', async () => {
    await signIn(page, keys.agent);
    await seeText(page.locator('.notice'), 'Agent keys cannot sign in');
    await signIn(page, keys.reviewer);
    expect(new URL(page.url()).pathname).toBe('/ui');
    await seeText(page.locator('header .who'), `reviewer-ui-${backend}`);
  });

  it("the agent's waiting call escalates, shows up without a reload, and returns ALLOW with the reviewer's id once approved in the browser", async () => {
    await page.goto(`${gw.url}/ui`);
    const waiting = execute({
      action: 'payments.initiate',
      params: { amount: 900, currency: 'GBP' },
      wait: 40,
    });
    const card = page.locator('.esc-card', { hasText: 'payments.initiate' }).first();
    await card.waitFor({ timeout: 15_000 });
    await card.getByLabel('Reason').fill('known supplier');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    const r = await waiting;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      decision: 'ALLOW',
      actorHumanId: `reviewer-ui-${backend}`,
      escalationStatus: 'approved',
    });

    // Its audit detail verifies under the gateway's signed checkpoint.
    await page.goto(`${gw.url}/ui/audit/${r.body.eventId}`);
    await page.getByRole('button', { name: 'Verify the event and its records' }).click();
    await seeText(page.locator('.verify-result'), 'Verified');
  });

  it("an agent PROCESS's guarded call (remote mode, under the preload) waits; approved in the browser, its body runs and the session's result carries the reviewer's id", async () => {
    const server: CountingServer = await startCountingServer();
    try {
      // The agent has its own store (on PGlite the gateway holds its data dir).
      const agentStore = await stores.fresh();
      await agentStore.trust(`${server.url}/json`);
      const agent = startAgent<{
        value: { ok: boolean; value?: { status: number } };
        decision: string;
        actorHumanId: string;
        escalationId: string;
      }>('remote-escalated.mjs', {
        env: agentStore.env({ TRUSTED: server.url, GATEWAY_URL: gw.url, API_KEY: keys.agent }),
      });
      await agent.next('calling', 60_000);
      await page.goto(`${gw.url}/ui`);
      const card = page.locator('.esc-card', { hasText: '950' }).first();
      await card.waitFor({ timeout: 30_000 });
      expect(server.log.filter((l) => l.path.startsWith('/json'))).toEqual([]); // nothing ran yet
      await card.getByLabel('Reason').fill('invoice checked');
      await card.getByRole('button', { name: 'Approve', exact: true }).click();
      const run = await agent.done;
      expect(run.result).toMatchObject({
        value: { ok: true, value: { status: 200 } },
        decision: 'ALLOW',
        actorHumanId: `reviewer-ui-${backend}`,
      });
      // The body ran once, after the approval, and its call is recorded in the agent's store.
      expect(server.log.filter((l) => l.path.startsWith('/json')).map((l) => l.path)).toEqual([
        '/json?amount=950&currency=GBP',
      ]);
      const rows = await agentStore.rows();
      expect(rows.map((r) => [r.actionName, r.status])).toEqual([['payments.initiate', 200]]);
    } finally {
      await server.close();
    }
  });

  it('a decision made through the REST API while the page is open is shown there', async () => {
    await page.goto(`${gw.url}/ui`);
    const r = await execute({ action: 'payments.initiate', params: { amount: 901, currency: 'GBP' } });
    expect(r.body.decision).toBe('ESCALATE');
    const card = page.locator(`.esc-card[data-id="${r.body.escalationId}"]`);
    await card.waitFor({ timeout: 15_000 });
    const api = await gw.call<Json>('POST', `/v1/escalations/${r.body.escalationId}/reject`, {
      key: keys.admin,
      body: { reason: 'not today' },
    });
    expect(api.status).toBe(200);
    await seeText(card.locator('.esc-status'), `Decided elsewhere: rejected by admin-ui-${backend}`);
  });

  it('policies: an invalid edit is refused with policy id, line and column while the old set keeps serving; a valid one becomes the next version', async () => {
    const admin = await browser.newContext();
    const p = await admin.newPage();
    await signIn(p, keys.admin);
    await p.goto(`${gw.url}/ui/policies`);
    await seeText(p.locator('main'), 'Serving: version 1');
    const broken = `@id("ok")\npermit(principal, action, resource);\n\n@id("bad-one")\nforbid(principal, action, resource) when { context.params.amount > };\n`;
    await p.getByLabel('Cedar policy set (validated on save)').fill(broken);
    await Promise.all([
      p.waitForNavigation(),
      p.getByRole('button', { name: 'Save as a new version' }).click(),
    ]);
    await seeText(p.locator('[role=alert]'), 'serving version is unchanged');
    await seeText(p.locator('.problems'), 'bad-one');
    await seeText(p.locator('.problems'), 'line 5');
    // The refused text stays in the editor for fixing; the old set still decides.
    expect(await p.getByLabel('Cedar policy set (validated on save)').inputValue()).toBe(broken);
    const still = await execute({ action: 'refunds.create', params: { amount: 50 } });
    expect(still.body.decision).toBe('BLOCK');

    const next = `${broken.split('\n\n')[0]}\n`;
    await p.getByLabel('Cedar policy set (validated on save)').fill(next);
    await Promise.all([
      p.waitForNavigation(),
      p.getByRole('button', { name: 'Save as a new version' }).click(),
    ]);
    await seeText(p.locator('.notice'), 'version 2 now serves');
    const now = await execute({ action: 'refunds.create', params: { amount: 50 } });
    expect(now.body.decision).toBe('ALLOW');

    // A reviewer reads the set but gets no editor, and cannot post one.
    await page.goto(`${gw.url}/ui/policies`);
    await seeText(page.locator('main'), 'Serving: version 2');
    expect(await page.locator('#policy-text').count()).toBe(0);
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const post = await page.request.post(`${gw.url}/ui/policies`, { form: { csrf, text: next } });
    expect(post.status()).toBe(403);
    await admin.close();
  });
});
