// Remote mode against the REAL gateway (`provably gateway` child process) on both stores: the
// four decision paths, approvals and rejections made over REST by a reviewer key, expiry, the
// wait:false path, guard on sync / async / throwing bodies with their outcome events, sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EscalationError,
  EscalationTimeoutError,
  GatewayError,
  PolicyBlockedError,
} from '../../src/errors/index.js';
import { ProvablyGateway } from '../../src/policy/index.js';
import { e2eBackends } from '../e2e/stores.js';
import { PAYMENTS_POLICY } from './helpers.js';
import { pendingEscalation, useRemoteGateway } from './remote-gateway.js';

interface AuditDetail {
  event: Record<string, unknown>;
  escalation: Record<string, unknown> | null;
  outcomes: Record<string, unknown>[];
}

for (const backend of e2eBackends()) {
  describe(`remote ProvablyGateway against the real gateway [${backend}]`, () => {
    const gw = useRemoteGateway(backend, PAYMENTS_POLICY);
    let gateway: ProvablyGateway;
    beforeAll(() => {
      gateway = new ProvablyGateway({
        gatewayUrl: gw().url,
        apiKey: gw().keys.agent,
        agentId: 'billing-agent',
      });
    });
    afterAll(async () => {
      await gateway?.close();
    });
    const audit = async (eventId: string) => {
      const r = await gw().call<AuditDetail>('GET', `/v1/audit/${eventId}`, { key: gw().keys.reviewer });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    const decide = (id: string, how: 'approve' | 'reject', reason: string) =>
      gw().call('POST', `/v1/escalations/${id}/${how}`, { key: gw().keys.reviewer, body: { reason } });

    it('ALLOW: the decision is the gateway’s, recorded there with the caller’s trace fields', async () => {
      const r = await gateway.execute('payments.initiate', { amount: 50, currency: 'GBP' });
      expect(r).toMatchObject({ decision: 'ALLOW', reason: 'small payments are fine', allowed: true });
      const { event } = await audit(r.eventId);
      expect(event).toMatchObject({
        decision: 'ALLOW',
        agentId: 'billing-agent',
        action: 'payments.initiate',
        params: { amount: 50, currency: 'GBP' },
        policyVersion: r.policyVersion,
      });
    });

    it('BLOCK: PolicyBlockedError with the gateway’s event id; throwOnBlock:false returns it', async () => {
      const e = await gateway
        .execute('payments.initiate', { amount: 5, currency: 'BTC' })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PolicyBlockedError);
      const blocked = e as PolicyBlockedError;
      expect(blocked.reason).toBe('crypto recipients are forbidden');
      expect((await audit(blocked.eventId)).event).toMatchObject({ decision: 'BLOCK' });
      const r = await gateway.execute(
        'payments.initiate',
        { amount: 5, currency: 'BTC' },
        { throwOnBlock: false },
      );
      expect(r).toMatchObject({ decision: 'BLOCK', blocked: true });
      // Default deny: an action no policy permits.
      await expect(gateway.execute('payments.unknown', {})).rejects.toBeInstanceOf(PolicyBlockedError);
    });

    it('ESCALATE approved over REST by a reviewer key: ALLOW with actorHumanId and escalationId', async () => {
      const pending = gateway.execute('payments.initiate', { amount: 150, currency: 'GBP' });
      const id = await pendingEscalation(gw(), 'payments.initiate', { amount: 150 });
      expect((await decide(id, 'approve', 'known supplier')).status).toBe(200);
      const r = await pending;
      expect(r).toMatchObject({ decision: 'ALLOW', escalationId: id, actorHumanId: 'alice' });
      expect(r.reason).toMatch(/approved by alice: known supplier/);
      const { event } = await audit(r.eventId);
      expect(event).toMatchObject({
        eventType: 'escalation',
        escalationStatus: 'approved',
        reviewer: 'alice',
      });
    });

    it('ESCALATE rejected: PolicyBlockedError with the reviewer’s reason', async () => {
      const pending = gateway
        .execute('payments.initiate', { amount: 160, currency: 'GBP' })
        .catch((x: unknown) => x);
      const id = await pendingEscalation(gw(), 'payments.initiate', { amount: 160 });
      expect((await decide(id, 'reject', 'unknown payee')).status).toBe(200);
      const e = (await pending) as PolicyBlockedError;
      expect(e).toBeInstanceOf(PolicyBlockedError);
      expect(e).toMatchObject({ escalationId: id });
      expect(e.reason).toMatch(/rejected by alice: unknown payee/);
    });

    it('ESCALATE expired: EscalationTimeoutError, the escalation recorded as expired (not rejected)', async () => {
      const e = (await gateway
        .execute('payments.expiring', {})
        .catch((x: unknown) => x)) as EscalationTimeoutError;
      expect(e).toBeInstanceOf(EscalationTimeoutError);
      const esc = await gw().call<Record<string, unknown>>('GET', `/v1/escalations/${e.escalationId}`, {
        key: gw().keys.reviewer,
      });
      expect(esc.body).toMatchObject({ status: 'expired', reviewer: null });
      expect((await audit(e.eventId)).event).toMatchObject({
        decision: 'BLOCK',
        reason: 'escalation timed out',
      });
    });

    it('wait:false → ESCALATE at once; escalationResult while pending → EscalationError; awaitEscalation → the outcome', async () => {
      const r = await gateway.execute('payments.initiate', { amount: 170, currency: 'GBP' }, { wait: false });
      expect(r).toMatchObject({ decision: 'ESCALATE', escalated: true });
      const id = r.escalationId as string;
      const early = await gateway.escalationResult(id).catch((x: unknown) => x);
      expect(early).toBeInstanceOf(EscalationError);
      expect((early as EscalationError).reason).toBe('pending');
      const waiting = gateway.awaitEscalation(id);
      expect((await decide(id, 'approve', 'fine')).status).toBe(200);
      expect(await waiting).toMatchObject({ decision: 'ALLOW', actorHumanId: 'alice', escalationId: id });
      expect(await gateway.escalationResult(id)).toMatchObject({ decision: 'ALLOW' });
      // An id this key may not see (or that does not exist) is not-found, not a hang.
      const unknown = await gateway
        .escalationResult('00000000-0000-4000-8000-000000000000')
        .catch((x: unknown) => x);
      expect(unknown).toMatchObject({ reason: 'not-found' });
    });

    it('guard: sync, async and throwing bodies run after ALLOW; each leaves an outcome event at the gateway', async () => {
      const calls: string[] = [];
      const sync = gateway.guard('tool.sync', (a: number, b: number) => {
        calls.push('sync');
        return a + b;
      });
      const asyncFn = gateway.guard('tool.async', async (name: string) => {
        calls.push('async');
        return { hello: name };
      });
      const throws = gateway.guard('tool.throws', () => {
        calls.push('throws');
        throw new Error('tool broke');
      });
      const blocked = gateway.guard('payments.initiate', (amount: number, currency: string) => {
        calls.push(`pay ${amount} ${currency}`);
      });
      expect(await sync(2, 3)).toBe(5);
      expect(await asyncFn('ada')).toEqual({ hello: 'ada' });
      await expect(throws()).rejects.toThrow('tool broke');
      await expect(blocked(5, 'BTC')).rejects.toBeInstanceOf(PolicyBlockedError);
      expect(calls).toEqual(['sync', 'async', 'throws']);
      await gateway.flush();

      const r = await gw().call<{ events: Record<string, unknown>[] }>('GET', '/v1/audit?limit=100', {
        key: gw().keys.reviewer,
      });
      const events = r.body.events;
      for (const [action, status] of [
        ['tool.sync', 'ok'],
        ['tool.async', 'ok'],
        ['tool.throws', 'error'],
      ] as const) {
        const decision = events.find((e) => e.action === action && e.eventType === 'decision');
        expect(decision, action).toMatchObject({ decision: 'ALLOW' });
        const { outcomes } = await audit(decision?.id as string);
        expect(outcomes, action).toHaveLength(1);
        expect(outcomes[0]).toMatchObject({ eventType: 'outcome', outcome: { status } });
        expect(outcomes[0]?.traceId).toBe(decision?.traceId);
      }
      expect(events.find((e) => e.action === 'tool.sync' && e.eventType === 'decision')?.params).toEqual({
        a: 2,
        b: 3,
      });
    });

    it('sessions: counts and results in the session; the session id reaches the gateway', async () => {
      const sid = `sess_${backend}_${Date.now()}`;
      await gateway.session(sid, async (s) => {
        await s.execute('payments.initiate', { amount: 10, currency: 'GBP' });
        await s.execute('payments.initiate', { amount: 10, currency: 'BTC' }).catch(() => {});
        const esc = await s.execute('payments.initiate', { amount: 180, currency: 'GBP' }, { wait: false });
        expect(esc.decision).toBe('ESCALATE');
        expect([s.allowedCount, s.blockedCount, s.escalatedCount]).toEqual([1, 1, 1]);
        expect(s.results.map((x) => x.decision)).toEqual(['ALLOW', 'BLOCK', 'ESCALATE']);
      });
      const r = await gw().call<{ events: Record<string, unknown>[] }>(
        'GET',
        `/v1/audit?session=${sid}&limit=100`,
        { key: gw().keys.reviewer },
      );
      expect(r.body.events.map((e) => e.decision).sort()).toEqual(['ALLOW', 'BLOCK', 'ESCALATE']);
    });

    it('another agent id with a bound key is refused (403) and fails closed', async () => {
      const other = new ProvablyGateway({
        gatewayUrl: gw().url,
        apiKey: gw().keys.agent,
        agentId: 'someone-else',
        onGatewayError: 'open',
      });
      const e = (await other
        .execute('payments.initiate', { amount: 1 })
        .catch((x: unknown) => x)) as GatewayError;
      expect(e).toBeInstanceOf(GatewayError);
      expect(e.status).toBe(403);
      await other.close();
    });
  });
}
