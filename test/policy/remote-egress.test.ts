// Remote mode in an agent started with the real preload (`node --import provably/register`),
// against the real gateway child. The gateway is NOT in the agent's trusted set: its requests
// are provably's own (selfEgress), so execute called inside a scope and a guarded call still
// reach it, and none of them is recorded as an intercept. The guarded body's own fetch is
// governed as usual: recorded under the guard's scope, in the decision's trace.
import { expect, it } from 'vitest';
import { runAgent, type Settled, useAgentServers } from '../e2e/child.js';
import { describeE2E, useE2EStores } from '../e2e/stores.js';
import { PAYMENTS_POLICY } from './helpers.js';
import { useRemoteGateway } from './remote-gateway.js';

interface RemoteGuardedResult {
  inScope: Settled<{ decision: string; eventId: string }>;
  untrusted: Settled;
  pay: Settled<{ status: number }>;
  forbidden: Settled;
  blockedRan: boolean;
}

const servers = useAgentServers();

describeE2E('remote mode under the preload', (backend) => {
  const gw = useRemoteGateway(backend, PAYMENTS_POLICY);
  const stores = useE2EStores(backend);

  it('the gateway’s own requests are neither refused in a scope nor recorded; the guarded fetch is, in the decision’s trace', async () => {
    const agentStore = await stores.fresh();
    await agentStore.trust(`${servers.trusted.url}/json`);
    const trustedBefore = servers.trusted.log.length;
    const run = await runAgent<RemoteGuardedResult>('remote-guarded.mjs', {
      env: agentStore.env({ ...servers.env, GATEWAY_URL: gw().url, API_KEY: gw().keys.agent }),
    });
    const r = run.result;
    expect(r.inScope, JSON.stringify(r.inScope)).toMatchObject({ ok: true, value: { decision: 'ALLOW' } });
    expect(r.untrusted.ok).toBe(false); // the preload governs: an untrusted scoped call is refused
    expect(r.pay, JSON.stringify(r.pay)).toMatchObject({ ok: true, value: { status: 200 } });
    expect(r.forbidden.ok ? undefined : r.forbidden.error.code).toBe('PROVABLY_POLICY_BLOCKED');
    expect(r.blockedRan).toBe(false);
    expect(servers.trusted.log.slice(trustedBefore).map((l) => l.path)).toEqual([
      '/json?amount=7&currency=GBP',
    ]);

    // Recorded: exactly the guarded body's fetch — no request to the gateway.
    const rows = await agentStore.rows();
    expect(rows.map((x) => x.url)).toEqual([`${servers.trusted.url}/json?amount=7&currency=GBP`]);
    expect(rows.some((x) => x.url.startsWith(gw().url))).toBe(false);
    const call = rows[0];
    expect(call).toMatchObject({ agentId: 'billing-agent', actionName: 'payments.initiate', status: 200 });

    // The decision at the gateway carries the same trace as the recorded call, and its outcome.
    const audit = await gw().call<{ events: Record<string, unknown>[] }>(
      'GET',
      '/v1/audit?action=payments.initiate&limit=100',
      { key: gw().keys.reviewer },
    );
    const decision = audit.body.events.find(
      (e) => e.eventType === 'decision' && (e.params as { amount?: number }).amount === 7,
    );
    expect(decision).toMatchObject({ decision: 'ALLOW' });
    expect(call?.traceId).toBeTruthy();
    expect(decision?.traceId).toBe(call?.traceId);
    const detail = await gw().call<{ outcomes: Record<string, unknown>[] }>(
      'GET',
      `/v1/audit/${decision?.id}`,
      {
        key: gw().keys.reviewer,
      },
    );
    expect(detail.body.outcomes).toMatchObject([{ eventType: 'outcome', outcome: { status: 'ok' } }]);
  });
});
