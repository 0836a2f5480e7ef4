// 100 escalations at once, each waited on by its own long-poll: a third approved, a third
// rejected, a third left to expire. Every caller must get exactly its own outcome — never
// another's approval — and nobody's expiry may be recorded as a human rejection. Then the
// expiry sweep: an escalation nobody waits on still ends as `expired`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E, type E2EStore, useE2EStores } from '../e2e/stores.js';
import { type GatewayChild, type Json, startGateway } from './child.js';
import { setUpTenant, type TenantKeys } from './fixtures.js';

const POLICY = `
@id("approve-or-reject")
@escalate("a human decides")
@hold("120")
permit(principal, action == Action::"job.decide", resource);

@id("expire")
@escalate("left to expire")
@hold("3")
permit(principal, action == Action::"job.expire", resource);
`;

const N = 100;

describeE2E('gateway concurrency', (backend) => {
  const stores = useE2EStores(backend);
  let store: E2EStore;
  let gw: GatewayChild;
  let t: TenantKeys;

  beforeAll(async () => {
    store = await stores.fresh();
    await store.withStore(async (s) => {
      t = await setUpTenant(s, `tc-${backend}`, POLICY);
    });
    gw = await startGateway(store.env());
  }, 120_000);
  afterAll(async () => {
    if (process.env.GW_DEBUG_LOG)
      (await import('node:fs')).writeFileSync(`${process.env.GW_DEBUG_LOG}-${backend}`, gw?.stderr() ?? '');
    const errors = gw
      ?.stderr()
      .split('\n')
      .filter((l) => !l.includes('"level":"info"') && l.trim() !== '');
    if (errors?.length) console.error(`gateway stderr (not info): ${errors.slice(0, 20).join('\n')}`);
    if (gw && (gw.proc.exitCode !== null || gw.proc.signalCode !== null)) {
      console.error(
        `the gateway ended early (${gw.proc.exitCode ?? gw.proc.signalCode}): ${gw.stderr().slice(-3000)}`,
      );
    }
    if (gw) expect(await gw.stop()).toBe(0);
  });

  it(`${N} concurrent escalations (approve / reject / expire): each waiter gets its own outcome`, async () => {
    const fate = (n: number) => (['approve', 'reject', 'expire'] as const)[n % 3];
    let resets = 0;
    // The executes go out 20 at a time (see the report: a PGlite gateway under a loaded test run
    // dropped some of 100 simultaneous fresh connections); then all 100 escalations are pending
    // together and every waiter long-polls its own at once, as the remote SDK does, re-polling
    // after a lost connection.
    const held: Json[] = [];
    for (let from = 0; from < N; from += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, N - from) }, (_, i) => {
          const n = from + i;
          return gw.call<Json>('POST', '/v1/execute', {
            key: t.anyAgent,
            body: {
              agentId: `agent-${n}`,
              action: fate(n) === 'expire' ? 'job.expire' : 'job.decide',
              params: { n },
            },
          });
        }),
      );
      held.push(...batch.map((r) => r.body));
    }
    expect(held.every((h) => h.decision === 'ESCALATE')).toBe(true);
    const waiters = held.map(async (first) => {
      let body = first;
      for (let i = 0; i < 20 && body.decision === 'ESCALATE'; i++) {
        let e: Json;
        try {
          e = (
            await gw.call<Json>('GET', `/v1/escalations/${body.escalationId}?wait=20`, { key: t.anyAgent })
          ).body;
        } catch {
          resets++;
          continue;
        }
        if (e.status === 'pending') continue;
        body = {
          ...body,
          escalationStatus: e.status,
          decision: e.status === 'approved' ? 'ALLOW' : 'BLOCK',
          reason:
            e.status === 'expired'
              ? 'escalation timed out'
              : `${e.status} by ${e.reviewer}: ${e.decisionReason}`,
        };
      }
      return { status: 200, body };
    });
    // Find the held ones to decide (by their params), then decide them all at once.
    const toDecide = new Map<number, string>();
    const end = Date.now() + 90_000;
    const want = Array.from({ length: N }, (_, n) => n).filter((n) => fate(n) !== 'expire').length;
    while (toDecide.size < want && Date.now() < end) {
      const r = await gw.call<Json>('GET', '/v1/escalations?status=pending&limit=1000', { key: t.reviewer });
      for (const e of r.body.escalations as Json[]) {
        if (e.action === 'job.decide') toDecide.set(e.params.n as number, e.id as string);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const decisions = await Promise.all(
      [...toDecide].map(([n, id]) =>
        gw.call<Json>('POST', `/v1/escalations/${id}/${fate(n)}`, {
          key: t.reviewer,
          body: { reason: `decided ${n}` },
        }),
      ),
    );
    expect(decisions.every((d) => d.status === 200)).toBe(true);
    const answers = await Promise.all(waiters);
    if (resets > 0) console.log(`long-polls re-sent after a lost connection: ${resets}`);
    for (const [n, a] of answers.entries()) {
      expect(a.status).toBe(200);
      const expected =
        fate(n) === 'approve'
          ? {
              decision: 'ALLOW',
              escalationStatus: 'approved',
              reason: `approved by reviewer-${t.id}: decided ${n}`,
            }
          : fate(n) === 'reject'
            ? {
                decision: 'BLOCK',
                escalationStatus: 'rejected',
                reason: `rejected by reviewer-${t.id}: decided ${n}`,
              }
            : { decision: 'BLOCK', escalationStatus: 'expired', reason: 'escalation timed out' };
      expect({ n, ...a.body }).toMatchObject({ n, ...expected });
    }
    // Each answer names a distinct escalation, and it is the one holding its own params.
    expect(new Set(answers.map((a) => a.body.escalationId)).size).toBe(N);
    for (const [n, a] of answers.entries()) {
      const row = await gw.call<Json>('GET', `/v1/escalations/${a.body.escalationId}`, { key: t.reviewer });
      expect(row.body.params).toEqual({ n });
      expect(row.body.agentId).toBe(`agent-${n}`);
    }
  }, 300_000);

  it('the sweep expires an escalation nobody waits on (recorded as expired, not rejected)', async () => {
    const r = await gw.call<Json>('POST', '/v1/execute', {
      key: t.anyAgent,
      body: { agentId: 'sweep-agent', action: 'job.expire', params: {} },
    });
    expect(r.body.decision).toBe('ESCALATE');
    // Read only the audit trail (reading the escalation itself would expire it on read).
    const end = Date.now() + 20_000;
    let ended: Json | undefined;
    while (ended === undefined && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 250));
      const audit = await gw.call<Json>('GET', '/v1/audit?agent=sweep-agent&limit=10', { key: t.reviewer });
      ended = (audit.body.events as Json[]).find((e) => e.eventType === 'escalation');
    }
    expect(ended).toMatchObject({
      decision: 'BLOCK',
      escalationStatus: 'expired',
      reviewer: null,
      reason: 'escalation timed out',
      escalationId: r.body.escalationId,
    });
  }, 30_000);
});
