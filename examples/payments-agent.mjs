// The gateway demo's agent (remote mode): a payments tool guarded by the gateway's policy.
// Run under the preload: `node --import provably/register examples/payments-agent.mjs` with
// PROVABLY_GATEWAY_URL, PROVABLY_API_KEY and PROVABLY_AGENT_ID set (see examples/demo.mjs).
//   - 50 GBP  → ALLOW: the tool's POST to the payments API runs in a provably scope, recorded
//   - 20 BTC  → BLOCK by a forbid: the body never runs
//   - 500 GBP → ESCALATE: waits until a reviewer approves it over REST, then runs
//   - a refund → ESCALATE with a 3 s hold nobody decides → EscalationTimeoutError
//   - with DEMO_BROWSER_REVIEW=1: 750 GBP → ESCALATE that waits for a human in the dashboard
import { EscalationTimeoutError, PolicyBlockedError, ProvablyGateway } from 'provably';

const PAYMENTS_URL = process.env.PAYMENTS_URL;
const gateway = new ProvablyGateway(); // everything from the environment

const pay = gateway.guard('payments.initiate', async (amount, currency, recipientId) => {
  const res = await fetch(`${PAYMENTS_URL}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ amount, currency, recipientId }),
  });
  return res.json();
});
const refund = gateway.guard('payments.refund', async (paymentId) => ({ refunded: paymentId }));

const line = (s) => process.stdout.write(`${s}\n`);
async function attempt(label, fn) {
  try {
    const value = await fn();
    line(`${label.padEnd(22)} ALLOW    → ${JSON.stringify(value)}`);
  } catch (err) {
    if (err instanceof PolicyBlockedError)
      line(`${label.padEnd(22)} BLOCK    → ${err.reason} (event ${err.eventId})`);
    else if (err instanceof EscalationTimeoutError)
      line(`${label.padEnd(22)} TIMEOUT  → EscalationTimeoutError: escalation ${err.escalationId} expired`);
    else line(`${label.padEnd(22)} ERROR    → ${err?.name}: ${err?.message}`);
  }
}

await gateway.session('sess_checkout', async () => {
  await attempt('pay 50 GBP', () => pay(50, 'GBP', 'rec_abc123'));
  await attempt('pay 20 BTC', () => pay(20, 'BTC', 'rec_crypto'));
  line('pay 500 GBP            ESCALATE → waiting for a reviewer…');
  await attempt('pay 500 GBP', () => pay(500, 'GBP', 'rec_abc123'));
  line('refund pay_1           ESCALATE → waiting (3 s hold, nobody will decide)…');
  await attempt('refund pay_1', () => refund('pay_1'));
  if (process.env.DEMO_BROWSER_REVIEW === '1') {
    // `npm run demo -- --review-in-browser`: this one waits for YOU, in the dashboard.
    line('pay 750 GBP (browser)  ESCALATE → waiting for you in the reviewer dashboard…');
    await attempt('pay 750 GBP (browser)', () => pay(750, 'GBP', 'rec_abc123'));
  }
});
await gateway.close();
