/**
 * The reviewer dashboard in a real headless Chromium over a real store (PGlite, and PostgreSQL
 * when PROVABLY_TEST_DATABASE_URL is set): sign-in, the live queue, approve / reject / batch,
 * expiry, a decision made elsewhere, audit filters and verify (and a superuser's edit shown as
 * broken), CSRF, XSS, tenant isolation, sign-out.
 */

import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PolicyBlockedError } from '../../src/errors/index.js';
import { revokeApiKey } from '../../src/gateway/index.js';
import {
  appendLeavesByOrg,
  generateSigningKeyPem,
  issueCheckpoint,
  signerFromPem,
} from '../../src/ledger/index.js';
import {
  decideEscalation,
  getEscalation,
  PolicyEngine,
  ProvablyGateway,
  recordDecision,
} from '../../src/policy/index.js';
import { createRecorder } from '../../src/record/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { PAYMENTS_POLICY, until } from '../policy/helpers.js';
import {
  chromiumAvailable,
  launchBrowser,
  makeKeys,
  type RunningDashboard,
  seeText,
  startDashboard,
  withChromium,
} from './harness.js';

const hasChromium = chromiumAvailable();

/** Waits (bounded) until the locator's text contains `text`. */
async function seeDisabled(loc: Locator, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await loc.isDisabled())) {
    if (Date.now() > end) throw new Error(`expected ${loc} to be disabled`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const ORG = 'acme';

let browser: Browser;
beforeAll(async () => {
  if (hasChromium) browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

withChromium(describeEachBackend)('reviewer dashboard', (backend) => {
  const store = useTestStore(backend);
  const signer = signerFromPem(generateSigningKeyPem());
  let dash: RunningDashboard;
  let keys: Record<'reviewer' | 'admin' | 'agent' | 'outsider' | 'revoked', string>;
  let secrets: string[] = [];
  let gateway: ProvablyGateway;
  let ctx: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const pagesSeen: string[] = [];

  beforeAll(async () => {
    keys = await makeKeys(store(), {
      reviewer: { tenant: ORG, role: 'reviewer', name: 'alice' },
      admin: { tenant: ORG, role: 'admin' },
      agent: { tenant: ORG, role: 'agent', agentId: 'billing-agent' },
      outsider: { tenant: 'other-co', role: 'reviewer', name: 'mallory' },
      revoked: { tenant: ORG, role: 'reviewer', name: 'carol' },
    });
    secrets = Object.values<string>(keys).map((k) => k.slice('pvk_12345678_'.length));
    dash = await startDashboard({ store: store(), signer, pollSeconds: 0.3, auditPageSize: 4 });
    gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      policy: PAYMENTS_POLICY,
      store: store(),
      tenant: ORG,
      mode: 'enforce',
      redactParams: ['cardNumber'],
      pollMs: 200,
    });
    ctx = await browser.newContext();
    page = await ctx.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('load', () => {
      void page.content().then(
        (html) => pagesSeen.push(html),
        () => undefined,
      );
    });
  });
  afterAll(async () => {
    await ctx?.close();
    await gateway?.close();
    await dash?.close();
  });
  afterEach(() => {
    // Nothing a page rendered may carry a key's secret part.
    for (const html of pagesSeen) for (const s of secrets) expect(html).not.toContain(s);
  });

  const signIn = async (p: Page, key: string) => {
    await p.goto(`${dash.url}/ui/login`);
    await p.getByLabel('Reviewer or admin API key').fill(key);
    await Promise.all([p.waitForNavigation(), p.getByRole('button', { name: 'Sign in' }).click()]);
  };
  const pendingId = (action: string) =>
    until(async () => {
      const r = await store().query<{ id: string }>(
        `SELECT id FROM provably_escalations WHERE org_id = $1 AND action_name = $2 AND status = 'pending'
         ORDER BY created_at DESC LIMIT 1`,
        [ORG, action],
      );
      return r.rows[0]?.id;
    }, `a pending ${action}`);

  it('refuses agent and unknown keys; a page needs a session', async () => {
    const p = await ctx.newPage();
    await p.goto(`${dash.url}/ui`);
    expect(new URL(p.url()).pathname).toBe('/ui/login');
    await signIn(p, keys.agent);
    await seeText(p.locator('.notice'), 'Agent keys cannot sign in');
    await signIn(p, `${keys.reviewer}x`);
    await seeText(p.locator('.notice'), 'Unknown or revoked API key');
    expect((await ctx.cookies()).filter((c) => c.name === 'provably_ui_session')).toEqual([]);
    const html = await p.content();
    for (const s of secrets) expect(html).not.toContain(s);
    await p.close();
  });

  it('signs in: an HttpOnly SameSite=Strict cookie, stored only as a hash; a CSP without inline scripts', async () => {
    const res = await page.goto(`${dash.url}/ui/login`);
    const csp = res?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await signIn(page, keys.reviewer);
    expect(new URL(page.url()).pathname).toBe('/ui');
    await seeText(page.locator('h1'), 'Escalations');
    await seeText(page.locator('header .who'), 'alice');
    const cookie = (await ctx.cookies()).find((c) => c.name === 'provably_ui_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    const rows = await store().query<{ token_sha256: string; reviewer: string }>(
      'SELECT token_sha256, reviewer FROM provably_ui_sessions',
    );
    expect(rows.rows.some((r) => r.token_sha256 === cookie?.value)).toBe(false);
    expect(rows.rows.map((r) => r.reviewer)).toContain('alice');
  });

  it('shows a new escalation without a reload, params as text (no script runs), redacted marked; approve → the waiting call gets ALLOW by alice', async () => {
    await page.goto(`${dash.url}/ui`);
    await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
    });
    const evil = '<script>window.xss = 1; alert("xss")</script><img src=x onerror="alert(2)">';
    const waiting = gateway.execute('payments.initiate', {
      amount: 500,
      currency: 'GBP',
      recipient: evil,
      cardNumber: '4111111111111111',
    });
    const id = await pendingId('payments.initiate');
    const card = page.locator(`.esc-card[data-id="${id}"]`);
    await card.waitFor({ timeout: 10_000 });
    // Same document: the card arrived by polling, not a reload.
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await seeText(card.locator('pre.json'), JSON.stringify(evil));
    await seeText(card.locator('.redacted'), 'redacted');
    expect(await page.content()).not.toContain('4111111111111111');
    await seeText(card, 'large-payments');
    await seeText(card, 'payments over 100 need a human');
    await seeText(card.locator('.countdown'), 'left');
    expect(await page.evaluate(() => (globalThis as unknown as { xss?: number }).xss)).toBeUndefined();
    expect(dialogs).toEqual([]);

    await card.getByLabel('Reason').fill('known supplier');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    const result = await waiting;
    expect(result.decision).toBe('ALLOW');
    expect(result.actorHumanId).toBe('alice');
    expect(result.escalationId).toBe(id);
    await seeText(page.locator('.notice'), 'approved');
    expect((await getEscalation(store(), id))?.decisionReason).toBe('known supplier');
  });

  it('reject: the waiting call gets PolicyBlockedError with the reviewer reason', async () => {
    await page.goto(`${dash.url}/ui`);
    const waiting = gateway
      .execute('payments.initiate', { amount: 300, currency: 'EUR' })
      .catch((e: unknown) => e);
    const id = await pendingId('payments.initiate');
    const card = page.locator(`.esc-card[data-id="${id}"]`);
    await card.waitFor({ timeout: 10_000 });
    await card.getByLabel('Reason').fill('unknown payee');
    await card.getByRole('button', { name: 'Reject', exact: true }).click();
    const err = await waiting;
    expect(err).toBeInstanceOf(PolicyBlockedError);
    expect((err as PolicyBlockedError).reason).toContain('unknown payee');
    expect((await getEscalation(store(), id))?.status).toBe('rejected');
  });

  it('batch: several escalations decided together', async () => {
    const a = await gateway.execute('payments.initiate', { amount: 201, currency: 'GBP' }, { wait: false });
    const b = await gateway.execute('payments.initiate', { amount: 202, currency: 'GBP' }, { wait: false });
    await page.goto(`${dash.url}/ui`);
    for (const r of [a, b]) {
      await page.locator(`.esc-card[data-id="${r.escalationId}"] input[name=ids]`).check();
    }
    await page.getByLabel('Reason (recorded with each decision)').fill('quarterly batch');
    await page.getByRole('button', { name: 'Approve selected' }).click();
    await seeText(page.locator('.notice'), '2 approved');
    for (const r of [a, b]) {
      const e = await getEscalation(store(), r.escalationId as string);
      expect([e?.status, e?.reviewer, e?.decisionReason]).toEqual(['approved', 'alice', 'quarterly batch']);
    }
  });

  it('a decision made elsewhere first: the open page says so, and a stale form applies nothing', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 250, currency: 'GBP' }, { wait: false });
    const id = r.escalationId as string;
    await page.goto(`${dash.url}/ui`);
    // A second reviewer window with JavaScript off (the read-only pages and forms work without it).
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    await noJs.addCookies(await ctx.cookies());
    const stale = await noJs.newPage();
    await stale.goto(`${dash.url}/ui/escalations/${id}`);
    await seeText(stale.locator('.esc-card'), 'pending');

    await decideEscalation(store(), {
      id,
      decision: 'approve',
      reviewer: 'bob',
      reason: 'via the API',
      orgId: ORG,
    });
    const card = page.locator(`.esc-card[data-id="${id}"]`);
    await seeText(card.locator('.esc-status'), 'Decided elsewhere: approved by bob');
    await seeDisabled(card.getByRole('button', { name: 'Approve', exact: true }));

    await stale.getByLabel('Reason').fill('late');
    await stale.getByRole('button', { name: 'Reject', exact: true }).click();
    await seeText(stale.locator('.notice'), 'was not applied');
    await seeText(stale.locator('.notice'), 'already approved by bob');
    const rows = await store().query(
      'SELECT id FROM provably_decisions WHERE escalation_id = $1 AND event_type = $2',
      [id, 'escalation'],
    );
    expect(rows.rowCount).toBe(1);
    await noJs.close();
  });

  it('expiry is shown live and no decision is offered', async () => {
    await page.goto(`${dash.url}/ui`);
    const r = await gateway.execute('payments.expiring', {}, { wait: false });
    const card = page.locator(`.esc-card[data-id="${r.escalationId}"]`);
    await card.waitFor({ timeout: 10_000 });
    await seeText(card.locator('.esc-status'), 'Expired');
    await seeDisabled(card.getByRole('button', { name: 'Approve', exact: true }));
    // A reload renders it expired on the server side too.
    await page.reload();
    const again = page.locator(`.esc-card[data-id="${r.escalationId}"]`);
    await seeText(again.locator('.badge'), 'expired');
    expect(await again.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
  });

  it('CSRF: a POST without or with a wrong token is refused (403) and changes nothing', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 260, currency: 'GBP' }, { wait: false });
    const id = r.escalationId as string;
    const url = `${dash.url}/ui/escalations/${id}/decide`;
    const form = { decision: 'approve', reason: 'forged' };
    const none = await page.request.post(url, { form });
    expect(none.status()).toBe(403);
    const wrong = await page.request.post(url, { form: { ...form, csrf: 'a'.repeat(64) } });
    expect(wrong.status()).toBe(403);
    // A cross-site form post (another Origin) is refused even with the right token.
    await page.goto(`${dash.url}/ui`);
    const token = await page.locator('#batch-form input[name=csrf]').inputValue();
    const cross = await page.request.post(url, {
      form: { ...form, csrf: token },
      headers: { origin: 'http://evil.example' },
    });
    expect(cross.status()).toBe(403);
    expect((await getEscalation(store(), id))?.status).toBe('pending');
    // The right token from the page works.
    const ok = await page.request.post(url, { form: { ...form, csrf: token }, maxRedirects: 0 });
    expect(ok.status()).toBe(303);
    expect((await getEscalation(store(), id))?.status).toBe('approved');
  });

  it("another tenant's escalations and events are not found", async () => {
    const r = await gateway.execute('payments.initiate', { amount: 270, currency: 'GBP' }, { wait: false });
    const other = await browser.newContext();
    const p = await other.newPage();
    await signIn(p, keys.outsider);
    await seeText(p.locator('header .who'), 'tenant other-co');
    expect(await p.locator('#queue .esc-card').count()).toBe(0);
    for (const path of [
      `/ui/escalations/${r.escalationId}/card`,
      `/ui/escalations/${r.escalationId}`,
      `/ui/audit/${r.eventId}`,
    ]) {
      const res = await p.goto(`${dash.url}${path}`);
      expect(res?.status(), path).toBe(404);
    }
    const token = await p.locator('input[name=csrf]').first().inputValue();
    const post = await p.request.post(`${dash.url}/ui/escalations/${r.escalationId}/decide`, {
      form: { decision: 'approve', reason: 'not mine', csrf: token },
      maxRedirects: 0,
    });
    expect(post.status()).toBe(404);
    expect((await getEscalation(store(), r.escalationId as string))?.status).toBe('pending');
    await other.close();
  });

  it('audit: filters, detail, verify; a superuser edit of the event shows as broken', async () => {
    const allowed = await gateway.execute(
      'payments.initiate',
      { amount: 7, currency: 'GBP' },
      { sessionId: 'sess-audit' },
    );
    await page.goto(`${dash.url}/ui/audit?decision=ALLOW&agent=billing-agent`);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThan(0);
    for (const text of await rows.locator('td:nth-child(3)').allTextContents())
      expect(text).toContain('ALLOW');
    await page.goto(`${dash.url}/ui/audit?decision=BLOCK`);
    for (const text of await page.locator('tbody tr td:nth-child(3)').allTextContents())
      expect(text).toContain('BLOCK');
    const bad = await page.goto(`${dash.url}/ui/audit?since=yesterday`);
    expect(bad?.status()).toBe(400);

    await page.goto(`${dash.url}/ui/audit/${allowed.eventId}`);
    await seeText(page.locator('main'), allowed.policyVersion);
    await page.getByRole('button', { name: 'Verify the event and its records' }).click();
    await seeText(page.locator('.verify-result'), 'Verified');

    await store().raw.query('ALTER TABLE provably_decisions DISABLE TRIGGER provably_decisions_append_only');
    await store().raw.query(`UPDATE provably_decisions SET reason = 'edited' WHERE id = $1`, [
      allowed.eventId,
    ]);
    await store().raw.query('ALTER TABLE provably_decisions ENABLE TRIGGER provably_decisions_append_only');
    await page.goto(`${dash.url}/ui/audit/${allowed.eventId}`);
    await page.getByRole('button', { name: 'Verify the event and its records' }).click();
    await seeText(page.locator('.verify-result'), 'BROKEN');
    await seeText(page.locator('.verify-result'), 'no longer matches its leaf');
  });

  it('audit pagination: the cursor walks every event once', async () => {
    for (let i = 0; i < 3; i += 1)
      await gateway.execute('payments.initiate', { amount: 1 + i, currency: 'GBP' });
    await issueCheckpoint(store(), ORG, signer);
    const total = Number(
      (
        await store().query<{ n: number }>(
          'SELECT count(*)::int AS n FROM provably_decisions WHERE org_id = $1',
          [ORG],
        )
      ).rows[0]?.n,
    );
    const seen: string[] = [];
    let next: string | null = `${dash.url}/ui/audit`;
    for (let guard = 0; next !== null && guard < 50; guard += 1) {
      await page.goto(next);
      for (const href of await page
        .locator('tbody tr td:first-child a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href'))))
        seen.push(String(href));
      const more = page.locator('a[rel=next]');
      next =
        (await more.count()) > 0
          ? new URL(String(await more.getAttribute('href')), dash.url).toString()
          : null;
    }
    expect(total).toBeGreaterThan(8);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('records: filters, detail with redacted headers marked and the decoded body as text, verify; evaluations per claim', async () => {
    const recorder = createRecorder({
      store: () => store(),
      env: {},
      withinBatch: (tx, rows) => appendLeavesByOrg(tx, rows),
    });
    const rec = recorder.start(
      {
        orgId: ORG,
        agentId: 'billing-agent',
        actionName: 'crm.lookup',
        interceptIndex: 0,
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
      },
      {
        method: 'GET',
        url: 'https://crm.example.test/customers/42',
        headers: { authorization: 'Bearer sk-live-123', accept: 'application/json' },
        startedAt: new Date(),
      },
    );
    rec.response(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    rec.chunk(gzipSync(JSON.stringify({ name: '<script>alert("r")</script>', tier: 'gold' })));
    await rec.finish();
    await recorder.close();

    // A decision in the same trace: its audit page lists the call, and verify covers both.
    const decided = await recordDecision(
      store(),
      new PolicyEngine({ policy: PAYMENTS_POLICY, mode: 'enforce', watch: false }),
      {
        tenant: ORG,
        agentId: 'billing-agent',
        action: 'payments.initiate',
        params: { amount: 9, currency: 'GBP' },
        sessionId: 'sess-trace',
        session: { id: 'sess-trace', allowed: 0, blocked: 0, escalated: 0 },
        trace: { traceId: 'a'.repeat(32), spanId: 'c'.repeat(16) },
        redact: [],
      },
    );
    await page.goto(`${dash.url}/ui/audit/${decided.eventId}`);
    await seeText(page.locator('main'), 'HTTP calls in this trace (1)');
    await seeText(page.locator('.call'), 'https://crm.example.test/customers/42');
    await seeText(page.locator('.call pre.body'), '"tier":"gold"');
    await page.getByRole('button', { name: 'Verify the event and its records' }).click();
    await seeText(page.locator('.verify-result'), 'Verified');
    expect(await page.locator('.verify-result li').count()).toBe(2);
    // A superuser's edit of the recorded call shows as broken on the event's page.
    await store().raw.query(
      'ALTER TABLE provably_intercepts DISABLE TRIGGER provably_intercepts_append_only',
    );
    await store().raw.query('UPDATE provably_intercepts SET status = 201 WHERE id = $1', [rec.id]);
    await store().raw.query('ALTER TABLE provably_intercepts ENABLE TRIGGER provably_intercepts_append_only');
    await page.goto(`${dash.url}/ui/audit/${decided.eventId}`);
    await page.getByRole('button', { name: 'Verify the event and its records' }).click();
    await seeText(page.locator('.verify-result'), 'BROKEN');
    await seeText(page.locator('.verify-result li', { hasText: rec.id }), 'broken');
    await seeText(page.locator('.verify-result li', { hasText: decided.eventId }), 'verified');

    await page.goto(`${dash.url}/ui/records?action=crm.lookup`);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.goto(`${dash.url}/ui/records?action=nothing.like.this`);
    expect(await page.locator('tbody tr').count()).toBe(0);
    await page.goto(`${dash.url}/ui/records/${rec.id}`);
    await seeText(page.locator('main'), 'https://crm.example.test/customers/42');
    await seeText(page.locator('dl.kv .redacted'), 'redacted');
    expect(await page.content()).not.toContain('sk-live-123');
    await seeText(page.locator('pre.body'), '"name":"<script>alert(\\"r\\")</script>"');
    await page.getByRole('button', { name: 'Verify this record' }).click();
    await seeText(page.locator('.verify-result'), 'BROKEN');
    expect(dialogs).toEqual([]);

    const evaluation = await store().query<{ id: string }>(
      `INSERT INTO provably_evaluations (org_id, run_id, task, outcome, claim_count, payload_sha256, result)
       VALUES ($1, 'run-1', 'check the CRM', 'CAUGHT', 1, $2, $3) RETURNING id`,
      [
        ORG,
        'c'.repeat(64),
        JSON.stringify({
          outcome: 'CAUGHT',
          per_claim: [
            {
              index: 0,
              action_name: 'crm.lookup',
              query_record_id: rec.id,
              mode: 'exact',
              json_path: '$.tier',
              verdict: 'CAUGHT',
              check: 'value',
              reason: 'the claim says platinum, the record gold',
              claimed_value: '"platinum"',
              indexed_value: '"gold"',
            },
          ],
          errors: [],
        }),
      ],
    );
    await page.goto(`${dash.url}/ui/evaluations`);
    await seeText(page.locator('tbody'), 'CAUGHT');
    await page.goto(`${dash.url}/ui/evaluations/${evaluation.rows[0]?.id}`);
    await seeText(page.locator('tbody'), 'the claim says platinum, the record gold');
    // Another tenant's record is not found.
    const other = await browser.newContext();
    const p = await other.newPage();
    await signIn(p, keys.outsider);
    expect((await p.goto(`${dash.url}/ui/records/${rec.id}`))?.status()).toBe(404);
    expect((await p.goto(`${dash.url}/ui/evaluations/${evaluation.rows[0]?.id}`))?.status()).toBe(404);
    await other.close();
  });

  it('at 360 px wide nothing overflows sideways, and every visible control has a label; a stale params hash applies nothing', async () => {
    const r = await gateway.execute(
      'payments.initiate',
      { amount: 280, currency: 'GBP', note: 'x'.repeat(300) },
      { wait: false },
    );
    const narrow = await ctx.newPage();
    await narrow.setViewportSize({ width: 360, height: 800 });
    for (const path of ['/ui', '/ui/audit', '/ui/records', `/ui/audit/${r.eventId}`]) {
      const res = await narrow.goto(`${dash.url}${path}`);
      expect(res?.headers()['cache-control'], path).toBe('no-store');
      const width = await narrow.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth,
      );
      expect(width, path).toBeLessThanOrEqual(360);
      const unlabelled = await narrow
        .locator('input:not([type=hidden]), select, textarea, button')
        .evaluateAll((els) =>
          els
            .filter((el) => {
              const e = el as unknown as {
                labels?: ArrayLike<unknown> | null;
                getAttribute(n: string): string | null;
                textContent: string | null;
                tagName: string;
              };
              if (e.tagName === 'BUTTON') return (e.textContent ?? '').trim() === '';
              return (e.labels?.length ?? 0) === 0 && !e.getAttribute('aria-label');
            })
            .map((el) => (el as unknown as { outerHTML: string }).outerHTML),
        );
      expect(unlabelled, path).toEqual([]);
    }
    // The approval is bound to the params the reviewer saw.
    await narrow.goto(`${dash.url}/ui`);
    const token = await narrow.locator('#batch-form input[name=csrf]').inputValue();
    const res = await narrow.request.post(`${dash.url}/ui/escalations/${r.escalationId}/decide`, {
      form: { csrf: token, decision: 'approve', reason: 'ok', paramsSha256: 'f'.repeat(64) },
    });
    expect(res.status()).toBe(200);
    expect(await res.text()).toContain('other params than the ones you saw');
    expect((await getEscalation(store(), r.escalationId as string))?.status).toBe('pending');
    await narrow.close();
  });

  it('revoking the key ends its sessions at once', async () => {
    const p = await ctx.browser()?.newContext();
    if (!p) throw new Error('no browser');
    const tab = await p.newPage();
    await signIn(tab, keys.revoked);
    await seeText(tab.locator('header .who'), 'carol');
    await revokeApiKey(store(), (/^pvk_([a-z0-9]{8})_/.exec(keys.revoked) as RegExpExecArray)[1] as string);
    await tab.goto(`${dash.url}/ui/audit`);
    expect(new URL(tab.url()).pathname).toBe('/ui/login');
    const left = await store().query('SELECT 1 FROM provably_ui_sessions WHERE reviewer = $1', ['carol']);
    expect(left.rowCount).toBe(0);
    await p.close();
  });

  it('signs out: the session row is gone and pages need a new sign-in', async () => {
    await page.goto(`${dash.url}/ui`);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out' }).click()]);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    const rows = await store().query('SELECT 1 FROM provably_ui_sessions WHERE reviewer = $1', ['alice']);
    expect(rows.rowCount).toBe(0);
    await page.goto(`${dash.url}/ui/audit`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
  });
});
