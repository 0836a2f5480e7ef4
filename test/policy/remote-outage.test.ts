// Remote mode when the REAL gateway goes away and comes back, on both stores: a caller waiting
// on an escalation survives the gateway being killed and restarted (and gets the decision made
// after the restart); while it is down, closed mode refuses and never runs a guarded body, open
// mode allows with a local record; once it is back the fail-open decisions are pushed and
// visible in GET /v1/audit; a revoked key fails closed even in open mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/index.js';
import { type ExecutionResult, ProvablyGateway } from '../../src/policy/index.js';
import { type TestBackend, testBackends, useTestStore } from '../helpers/backends.js';
import { PAYMENTS_POLICY, until } from './helpers.js';
import { pendingEscalation, useRemoteGateway } from './remote-gateway.js';

const FAIL_OPEN = 'gateway unreachable (fail-open)';

for (const backend of testBackends()) {
  describe(`remote mode, gateway down and back [${backend.name}]`, () => {
    const gw = useRemoteGateway(backend.name, PAYMENTS_POLICY);
    const local = useTestStore(backend as TestBackend); // the agent's own store (fail-open records)
    let closed: ProvablyGateway;
    let open: ProvablyGateway;
    beforeAll(() => {
      const common = {
        gatewayUrl: gw().url,
        apiKey: gw().keys.agent,
        agentId: 'billing-agent',
        timeoutMs: 5_000,
      };
      closed = new ProvablyGateway(common);
      open = new ProvablyGateway({
        ...common,
        onGatewayError: 'open',
        store: local(),
        tenant: 'agent-local',
      });
    });
    afterAll(async () => {
      await closed?.close();
      await open?.close();
    });

    let waiting: Promise<ExecutionResult | unknown>;
    let escalationId: string;
    const ran: string[] = [];

    it('an escalation is pending; the gateway is killed', async () => {
      // The caller holds the ESCALATE answer before the kill (with a plain waiting execute, the
      // kill could land before the answer did: a lost answer is a GatewayError, fail closed),
      // then waits; the kill cuts its long-poll.
      const pending = await closed.execute(
        'payments.initiate',
        { amount: 190, currency: 'GBP' },
        { wait: false },
      );
      expect(pending.decision).toBe('ESCALATE');
      waiting = closed.awaitEscalation(pending.escalationId as string).catch((x: unknown) => x);
      escalationId = await pendingEscalation(gw(), 'payments.initiate', { amount: 190 });
      expect(escalationId).toBe(pending.escalationId);
      await gw().kill();
      expect(gw().running).toBe(false);
    });

    it('down, closed mode: GatewayError, the guarded body never runs', async () => {
      const pay = closed.guard('payments.initiate', (amount: number) => {
        ran.push(`closed ${amount}`);
      });
      const e = await pay(5).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).message).toMatch(/unreachable/);
      expect(ran).toEqual([]);
    });

    it('down, open mode: ALLOW with the fail-open reason, recorded in the agent’s local store', async () => {
      const r = await open.execute('payments.initiate', { amount: 6, currency: 'GBP' });
      expect(r).toMatchObject({ decision: 'ALLOW', reason: FAIL_OPEN });
      const pay = open.guard('payments.initiate', (amount: number) => {
        ran.push(`open ${amount}`);
        return amount;
      });
      expect(await pay(7)).toBe(7);
      expect(ran).toEqual(['open 7']);
      await open.flush();
      const rows = await local().query<{ reason: string; event_type: string }>(
        `SELECT reason, event_type FROM provably_decisions WHERE org_id = 'agent-local' ORDER BY created_at`,
      );
      expect(rows.rows).toEqual([
        { reason: FAIL_OPEN, event_type: 'decision' },
        { reason: FAIL_OPEN, event_type: 'decision' },
        { reason: 'completed', event_type: 'outcome' },
      ]);
      // README limit: the push queue is in memory. Closed while the gateway is still away, this
      // one keeps its decision only in the local store.
      const lost = new ProvablyGateway({
        gatewayUrl: gw().url,
        apiKey: gw().keys.agent,
        agentId: 'billing-agent',
        onGatewayError: 'open',
        store: local(),
        tenant: 'agent-local-lost',
      });
      expect(await lost.execute('payments.initiate', { amount: 66 })).toMatchObject({ reason: FAIL_OPEN });
      await lost.close();
    });

    it('restarted (a key revoked meanwhile): the waiting caller gets the approval made after the restart', async () => {
      const revoked = await gw().cli(['apikeys', 'revoke', gw().keys.sparePrefix]);
      expect(revoked.code, revoked.stderr).toBe(0);
      await gw().start();
      const approve = await gw().call('POST', `/v1/escalations/${escalationId}/approve`, {
        key: gw().keys.reviewer,
        body: { reason: 'approved after the restart' },
      });
      expect(approve.status, JSON.stringify(approve.body)).toBe(200);
      const r = await waiting;
      expect(r).toMatchObject({ decision: 'ALLOW', escalationId, actorHumanId: 'alice' });
    }, 60_000);

    it('back: the fail-open decisions are pushed and visible in GET /v1/audit', async () => {
      // Any successful request starts the push (a timer would, within 5 s, too).
      await open.execute('payments.initiate', { amount: 8, currency: 'GBP' });
      const pushed = await until(async () => {
        const r = await gw().call<{ events: Record<string, unknown>[] }>(
          'GET',
          '/v1/audit?agent=billing-agent&limit=200',
          {
            key: gw().keys.reviewer,
          },
        );
        const hits = r.body.events.filter((e) => e.reason === FAIL_OPEN);
        return hits.length >= 2 ? hits : undefined;
      }, 'the fail-open decisions at the gateway');
      expect(
        pushed.map((e) => e.params).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ).toEqual([{ amount: 6, currency: 'GBP' }, { amount: 7 }]);
      for (const e of pushed) expect(e).toMatchObject({ decision: 'ALLOW', action: 'payments.initiate' });
      // The decision of the gateway object closed while the gateway was away: local only.
      const lostRows = await local().query(
        `SELECT reason FROM provably_decisions WHERE org_id = 'agent-local-lost' AND event_type = 'decision'`,
      );
      expect(lostRows.rows).toEqual([{ reason: FAIL_OPEN }]);
    });

    it('a revoked key (401) fails closed even in open mode: GatewayError, no body, no local record', async () => {
      const revokedGateway = new ProvablyGateway({
        gatewayUrl: gw().url,
        apiKey: gw().keys.spare,
        agentId: 'billing-agent',
        onGatewayError: 'open',
        store: local(),
        tenant: 'revoked-local',
      });
      const pay = revokedGateway.guard('payments.initiate', (amount: number) => {
        ran.push(`revoked ${amount}`);
      });
      const e = (await pay(9).catch((x: unknown) => x)) as GatewayError;
      expect(e).toBeInstanceOf(GatewayError);
      expect(e.status).toBe(401);
      expect(ran).toEqual(['open 7']);
      const rows = await local().query(`SELECT 1 FROM provably_decisions WHERE org_id = 'revoked-local'`);
      expect(rows.rows).toHaveLength(0);
      await revokedGateway.close();
    });
  });
}
