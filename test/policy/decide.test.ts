// recordDecision, the decide-and-record core shared by the local gateway and the gateway server:
// what the policy sees, what is stored, and that the event and its escalation land together or
// not at all.
import { expect, it } from 'vitest';
import {
  type DecisionRequest,
  getEscalation,
  type PolicyDecision,
  PolicyEngine,
  paramsSha256,
  recordDecision,
} from '../../src/policy/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { decisionRows, PAYMENTS_POLICY } from './helpers.js';

const base = {
  agentId: 'billing-agent',
  sessionId: 'sess-1',
  session: { id: 'sess-1', allowed: 3, blocked: 1, escalated: 2 },
  trace: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) },
  redact: ['cardNumber'],
};

/** An evaluator answering `answer`, remembering what it was asked. */
function fixed(answer: Partial<PolicyDecision>) {
  const seen: DecisionRequest[] = [];
  return {
    seen,
    evaluate(r: DecisionRequest): PolicyDecision {
      seen.push(r);
      return {
        decision: 'ALLOW',
        reason: 'fixed',
        policyIds: ['p'],
        policyVersion: 'sha256:fixed',
        holdSeconds: undefined,
        mode: 'enforce',
        ...answer,
      };
    },
  };
}

describeEachBackend('recordDecision', (backend) => {
  const store = useTestStore(backend);

  it('ESCALATE: the decision event and the pending escalation, same params hash, redacted copy stored', async () => {
    const engine = new PolicyEngine({ policy: PAYMENTS_POLICY, mode: 'enforce', watch: false });
    const params = { amount: 500, currency: 'GBP', cardNumber: '4111111111111111' };
    const r = await recordDecision(store(), engine, {
      ...base,
      tenant: 'decide-org',
      action: 'payments.initiate',
      params,
    });
    expect(r.decision).toMatchObject({ decision: 'ESCALATE', holdSeconds: 600, mode: 'enforce' });
    expect(r.escalation?.status).toBe('pending');
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    expect(row).toMatchObject({
      org_id: 'decide-org',
      decision: 'ESCALATE',
      session_id: 'sess-1',
      trace_id: base.trace.traceId,
      params_sha256: paramsSha256(params),
      params: { amount: 500, currency: 'GBP', cardNumber: '[REDACTED]' },
    });
    expect(row?.leaf_index).toEqual(expect.any(Number));
    const held = await getEscalation(store(), r.escalation?.id as string);
    expect(held).toMatchObject({
      eventId: r.eventId,
      orgId: 'decide-org',
      paramsSha256: paramsSha256(params),
    });
    expect(JSON.stringify(held?.params)).not.toContain('4111');
    engine.close();
  });

  it('passes the given session counts and tenant to the policy', async () => {
    const ev = fixed({});
    await recordDecision(store(), ev, { ...base, tenant: 'decide-org', action: 'a.b', params: {} });
    expect(ev.seen[0]).toMatchObject({
      tenant: 'decide-org',
      session: base.session,
      agentId: 'billing-agent',
    });
  });

  it('a log_only ESCALATE is recorded but never held', async () => {
    const r = await recordDecision(
      store(),
      fixed({ decision: 'ESCALATE', mode: 'log_only', holdSeconds: 5 }),
      {
        ...base,
        tenant: 'decide-org',
        action: 'shadow.escalate',
        params: {},
      },
    );
    expect(r.escalation).toBeUndefined();
    const held = await store().query(`SELECT 1 FROM provably_escalations WHERE event_id = $1`, [r.eventId]);
    expect(held.rows).toHaveLength(0);
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    expect(row).toMatchObject({ decision: 'ESCALATE', mode: 'log_only' });
  });

  it('atomic: when the escalation cannot be inserted, the decision event is not left behind', async () => {
    // A hold beyond int range makes the escalation INSERT fail after the event INSERT.
    const eventId = '0b6f3c1e-93a4-4c1e-9a4f-2d1f6a7b8c9d';
    await expect(
      recordDecision(store(), fixed({ decision: 'ESCALATE', holdSeconds: 2 ** 40 }), {
        ...base,
        tenant: 'decide-org',
        action: 'atomic.escalate',
        params: {},
        eventId,
      }),
    ).rejects.toThrow();
    expect(await decisionRows(store(), 'd.id = $1', [eventId])).toHaveLength(0);
    const leaves = await store().query(`SELECT 1 FROM provably_ledger_leaves WHERE record_id = $1`, [
      eventId,
    ]);
    expect(leaves.rows).toHaveLength(0);
  });
});
