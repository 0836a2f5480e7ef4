// Renders the reviewer dashboard's escalations queue and an audit detail into docs/ as PNGs,
// from demo-like data: a fresh embedded store, a tenant with the demo's billing policy, an agent
// whose calls are allowed, blocked and escalated through `provably gateway`, and a reviewer
// signed in with a real headless Chromium (playwright-core, /usr/bin/chromium or
// PROVABLY_CHROMIUM). Run after `npm run build`:  node scripts/screenshots.mjs
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'provably-shots-'));
const env = {
  ...process.env,
  PROVABLY_DATA_DIR: join(work, '.provably'),
  PROVABLY_REDACT_PARAMS: 'cardNumber',
};
delete env.PROVABLY_DATABASE_URL;
delete env.NODE_OPTIONS;

const POLICY = `@id("small-payments")
@reason("small payments are fine")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount <= 100 };

@id("large-payments")
@escalate("payments over 100 need a human")
@hold("900")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount > 100 && context.params.amount < 10000 };

@id("no-crypto")
@reason("crypto recipients are forbidden")
forbid(principal, action == Action::"payments.initiate", resource)
  when { context.params has currency && context.params.currency == "BTC" };
`;

function cliSync(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`provably ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

cliSync(['tenants', 'create', 'Demo Co', '--id', 'demo']);
const key = (role, extra = []) =>
  JSON.parse(cliSync(['apikeys', 'create', '--tenant', 'demo', '--role', role, ...extra, '--json'])).key;
const agentKey = key('agent', ['--agent', 'billing-agent']);
const reviewerKey = key('reviewer', ['--name', 'alice']);
writeFileSync(join(work, 'policy.cedar'), POLICY);
cliSync(['policy', 'push', join(work, 'policy.cedar'), '--tenant', 'demo', '--by', 'admin']);

const gw = spawn(process.execPath, [cli, 'gateway', '--port', '0'], { env, cwd: root });
let out = '';
gw.stdout.setEncoding('utf8').on('data', (d) => {
  out += d;
});
gw.stderr.resume();
const url = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('the gateway printed no URL in 60 s')), 60_000);
  const poll = setInterval(() => {
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) {
      clearTimeout(t);
      clearInterval(poll);
      resolve(m[1]);
    }
  }, 20);
});

const execute = async (action, params, sessionId) => {
  const res = await fetch(`${url}/v1/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-provably-api-key': agentKey },
    body: JSON.stringify({ action, params, sessionId }),
  });
  return res.json();
};

let browser;
try {
  const session = 'checkout-7f3a';
  await execute('payments.initiate', { amount: 40, currency: 'GBP', recipientId: 'rec_coffee' }, session);
  await execute('payments.initiate', { amount: 90, currency: 'BTC', recipientId: 'rec_wallet' }, session);
  const allowed = await execute(
    'payments.initiate',
    { amount: 75, currency: 'GBP', recipientId: 'rec_books' },
    session,
  );
  await execute(
    'payments.initiate',
    {
      amount: 2400,
      currency: 'GBP',
      recipientId: 'rec_supplier_42',
      cardNumber: '4111111111111111',
      memo: 'Q3 hardware order',
    },
    session,
  );
  await execute(
    'payments.initiate',
    { amount: 640, currency: 'EUR', recipientId: 'rec_travel', memo: 'conference' },
    null,
  );

  browser = await chromium.launch({
    executablePath: process.env.PROVABLY_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(`${url}/ui/login`);
  await page.getByLabel('Reviewer or admin API key').fill(reviewerKey);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.locator('.esc-card').first().waitFor();
  await page
    .locator('.esc-card details')
    .first()
    .evaluate((d) => {
      d.open = true;
    });
  await page.screenshot({ path: join(root, 'docs/dashboard-queue.png'), fullPage: true });

  await page.goto(`${url}/ui/audit/${allowed.eventId}`);
  await page.getByRole('button', { name: 'Verify the event and its records' }).click();
  await page.locator('.verify-result').waitFor();
  await page.screenshot({ path: join(root, 'docs/dashboard-audit-detail.png'), fullPage: true });
  process.stdout.write('wrote docs/dashboard-queue.png and docs/dashboard-audit-detail.png\n');
} finally {
  await browser?.close();
  gw.kill('SIGTERM');
  await new Promise((r) => gw.once('close', r));
  rmSync(work, { recursive: true, force: true });
}
