// The per-tenant engine cache (src/gateway/engines.ts) on both stores: a version read that was
// in flight when the tenant's policy changed must not be trusted afterwards (the race an
// invalidation can lose), the refresh bound of 0 reads every time, and the session's counts
// are read only when the serving set can read context.session.
import { expect, it } from 'vitest';
import { createTenant, putPolicySet, TenantEngines } from '../../src/gateway/index.js';
import type { Queryable } from '../../src/store/types.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

const V1 = `@id("v1") permit(principal, action == Action::"a", resource);\n`;
const V2 = `@id("v2") permit(principal, action == Action::"b", resource);\n`;
const CAP = `@id("cap") permit(principal, action, resource) when { context.session.allowed < 1 };\n`;

/** The store, counting statements, with the answer of the next statement held until released. */
function holdingStore(q: Queryable) {
  let hold: Promise<void> | undefined;
  let statements = 0;
  const wrapped: Queryable = {
    async query(sql, params) {
      statements++;
      const answer = await q.query(sql, params); // read NOW: the snapshot is taken here
      const h = hold;
      hold = undefined;
      if (h) await h; // …but answered later
      return answer as never;
    },
  };
  return {
    q: wrapped,
    holdNext(): () => void {
      let release = () => {};
      hold = new Promise((r) => {
        release = r;
      });
      return release;
    },
    statements: () => statements,
  };
}

describeEachBackend('gateway engine cache', (backend) => {
  const store = useTestStore(backend);
  const decide = (e: Awaited<ReturnType<TenantEngines['setup']>>, tenant: string, action: string) =>
    e.evaluator.evaluate({ agentId: 'x', action, tenant, params: {}, session: e.session });

  it('a read in flight when the policy changed is not trusted after the invalidation', async () => {
    const tenant = `eng-race-${backend.name}`;
    await createTenant(store(), { name: tenant, id: tenant });
    await putPolicySet(store(), { tenant, text: V1, createdBy: 't' });
    const engines = new TenantEngines({ mode: 'enforce', refreshMs: 600_000 });
    const s = holdingStore(store());
    const release = s.holdNext();
    const stale = engines.setup(s.q, tenant, null); // reads v1, answer held
    await new Promise((r) => setTimeout(r, 50));
    await putPolicySet(store(), { tenant, text: V2, createdBy: 't' });
    engines.invalidate(tenant); // what a PUT through this gateway, or a NOTIFY, does
    release();
    const old = await stale;
    expect(old.version).toBe(1); // that call decided with what was serving when it read
    const next = await engines.setup(s.q, tenant, null);
    expect(next.version).toBe(2);
    expect(decide(next, tenant, 'b').decision).toBe('ALLOW');
    // And from then on the entry is trusted: no statement per call.
    const before = s.statements();
    for (let i = 0; i < 5; i++) expect((await engines.setup(s.q, tenant, null)).version).toBe(2);
    expect(s.statements()).toBe(before);
  });

  it('invalidateAll (a listener that reconnected) makes every tenant read again', async () => {
    const tenant = `eng-all-${backend.name}`;
    await createTenant(store(), { name: tenant, id: tenant });
    await putPolicySet(store(), { tenant, text: V1, createdBy: 't' });
    const engines = new TenantEngines({ mode: 'enforce', refreshMs: 600_000 });
    expect((await engines.setup(store(), tenant, null)).version).toBe(1);
    await putPolicySet(store(), { tenant, text: V2, createdBy: 't' });
    // No notice: the 10-minute bound keeps v1 (the documented limit)…
    expect((await engines.setup(store(), tenant, null)).version).toBe(1);
    engines.invalidateAll();
    expect((await engines.setup(store(), tenant, null)).version).toBe(2);
  });

  it('refreshMs 0 reads the serving version on every call', async () => {
    const tenant = `eng-zero-${backend.name}`;
    await createTenant(store(), { name: tenant, id: tenant });
    await putPolicySet(store(), { tenant, text: V1, createdBy: 't' });
    const engines = new TenantEngines({ mode: 'enforce', refreshMs: 0 });
    expect((await engines.setup(store(), tenant, null)).version).toBe(1);
    await putPolicySet(store(), { tenant, text: V2, createdBy: 't' });
    expect((await engines.setup(store(), tenant, null)).version).toBe(2);
  });

  it("reads a session's counts only when the serving set reads context.session", async () => {
    const tenant = `eng-session-${backend.name}`;
    await createTenant(store(), { name: tenant, id: tenant });
    await putPolicySet(store(), { tenant, text: V1, createdBy: 't' });
    const engines = new TenantEngines({ mode: 'enforce', refreshMs: 600_000 });
    const s = holdingStore(store());
    await engines.setup(s.q, tenant, 'sess');
    let before = s.statements();
    await engines.setup(s.q, tenant, 'sess');
    expect(s.statements()).toBe(before); // V1 never reads the session: nothing to count
    await putPolicySet(store(), { tenant, text: CAP, createdBy: 't' });
    engines.invalidate(tenant);
    const first = await engines.setup(s.q, tenant, 'sess');
    expect(decide(first, tenant, 'any').decision).toBe('ALLOW');
    // One decision of this session recorded as ALLOW: the cap policy must now see it.
    await store().query(
      `INSERT INTO provably_decisions (id, org_id, event_type, decision, mode, reason, agent_id, action_name,
         session_id, params, params_sha256, policy_version, policy_ids, decided_at)
       VALUES (gen_random_uuid(), $1, 'decision', 'ALLOW', 'enforce', 'r', 'x', 'any', 'sess', '{}'::jsonb,
         'h', 'v', '[]'::jsonb, now())`,
      [tenant],
    );
    before = s.statements();
    const second = await engines.setup(s.q, tenant, 'sess');
    expect(s.statements()).toBe(before + 1); // the counts, read per call
    expect(second.session).toMatchObject({ id: 'sess', allowed: 1 });
    expect(decide(second, tenant, 'any').decision).toBe('BLOCK');
  });
});
