/**
 * End to end: a policy-guarded tool in an agent started with the real preload. The ALLOWED
 * body's HTTP call is trust-checked and recorded under the guard's scope (agent, action = the
 * guarded action, the decision's trace); an untrusted call from an allowed body is still refused;
 * a BLOCKED body never runs, so nothing reaches the server.
 */
import { expect, it } from 'vitest';
import { listDecisionEvents } from '../../src/policy/index.js';
import { openStore } from '../../src/store/index.js';
import { errorChain, runAgent, type Settled, useAgentServers } from './child.js';
import { describeE2E, useE2EStores } from './stores.js';

interface GuardedResult {
  lookup: Settled<{ status: number; body: unknown }>;
  leak: Settled;
  remove: Settled;
  deleteRan: boolean;
}

const servers = useAgentServers();

describeE2E('policy-guarded tools with the real preload', (backend) => {
  const stores = useE2EStores(backend);

  it('allowed body: its fetch is recorded with the agent, the action and the decision trace; blocked body never runs', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const trustedBefore = servers.trusted.log.length;
    const untrustedBefore = servers.untrusted.log.length;
    const run = await runAgent<GuardedResult>('guarded.mjs', { env: store.env(servers.env) });
    const r = run.result;

    expect(r.lookup).toMatchObject({ ok: true, value: { status: 200 } });
    expect(r.leak.ok).toBe(false);
    expect(errorChain(r.leak.ok ? undefined : r.leak.error).some((e) => e.code === 'PROVABLY_BLOCKED')).toBe(
      true,
    );
    expect(r.remove.ok).toBe(false);
    expect(r.remove.ok ? undefined : r.remove.error.code).toBe('PROVABLY_POLICY_BLOCKED');
    expect(r.deleteRan).toBe(false);
    expect(servers.trusted.log.slice(trustedBefore).map((l) => l.path)).toEqual(['/json?customer=42']);
    expect(servers.untrusted.log.length - untrustedBefore).toBe(0);

    const rows = await store.rows();
    expect(rows).toHaveLength(1);
    const call = rows[0];
    expect(call).toMatchObject({ agentId: 'billing-agent', actionName: 'crm.lookup', status: 200 });

    const db = openStore({ env: store.env() });
    try {
      const events = await listDecisionEvents(db, { orgId: store.orgId, limit: 100 });
      const lookupDecision = events.find(
        (e) => e.eventType === 'decision' && e.actionName === 'crm.lookup' && e.params.customerId === 42,
      );
      expect(lookupDecision).toMatchObject({ decision: 'ALLOW', reason: 'lookups are fine' });
      // One trace: the decision, the recorded call and the outcome.
      expect(call?.traceId).toBe(lookupDecision?.traceId);
      const outcome = events.find((e) => e.eventType === 'outcome' && e.parentId === lookupDecision?.id);
      expect(outcome).toMatchObject({ reason: 'completed', traceId: call?.traceId });
      expect(events.filter((e) => e.actionName === 'crm.delete').map((e) => e.decision)).toEqual(['BLOCK']);
      expect(events.every((e) => typeof e.leafIndex === 'number')).toBe(true);
    } finally {
      await db.close();
    }
  });
});
