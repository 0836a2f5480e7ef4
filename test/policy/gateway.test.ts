// ProvablyGateway in local mode on both stores: the four decision paths, each one a durable,
// append-only audit event and a leaf of the org's Merkle log.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  EscalationError,
  EscalationTimeoutError,
  GatewayError,
  PolicyBlockedError,
  ProvablyStoreError,
} from '../../src/errors/index.js';
import {
  decisionLeafHash,
  generateSigningKeyPem,
  inclusionProof,
  issueCheckpoint,
  signerFromPem,
  trustedKeysOf,
  verifyInclusion,
  verifyLog,
} from '../../src/ledger/index.js';
import {
  decideEscalation,
  getEscalation,
  listDecisionEvents,
  ProvablyGateway,
  paramsSha256,
} from '../../src/policy/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { decisionRows, PAYMENTS_POLICY, until } from './helpers.js';

describeEachBackend('ProvablyGateway (local)', (backend) => {
  const store = useTestStore(backend);
  let gateway: ProvablyGateway;
  const org = 'gw-org';
  beforeAll(() => {
    gateway = new ProvablyGateway({
      agentId: 'billing-agent',
      policy: PAYMENTS_POLICY,
      store: store(),
      tenant: org,
      mode: 'enforce',
      redactParams: ['cardNumber'],
      pollMs: 200,
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const pendingOf = (action: string) =>
    until(async () => {
      const rows = await store().query<{ id: string }>(
        `SELECT id FROM provably_escalations WHERE org_id = $1 AND action_name = $2 AND status = 'pending'`,
        [org, action],
      );
      return rows.rows[0]?.id;
    }, 'a pending escalation');

  it('ALLOW: returns the result and records a decision event that is a leaf', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 50, currency: 'GBP' });
    expect(r).toMatchObject({
      decision: 'ALLOW',
      reason: 'small payments are fine',
      action: 'payments.initiate',
    });
    expect(r.allowed).toBe(true);
    expect(r.blocked || r.escalated).toBe(false);
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    expect(row).toMatchObject({
      org_id: org,
      event_type: 'decision',
      decision: 'ALLOW',
      agent_id: 'billing-agent',
      action_name: 'payments.initiate',
      policy_version: gateway.engine?.version,
      policy_ids: ['small-payments'],
      mode: 'enforce',
    });
    expect(row?.leaf_index).toEqual(expect.any(Number));
    expect(row?.leaf_kind).toBe('decision');
    // The stored leaf is the canonical decision row at its index.
    const expected = decisionLeafHash(row as never, Number(row?.leaf_index));
    expect(Buffer.from(row?.leaf_hash as Uint8Array).toString('hex')).toBe(
      Buffer.from(expected).toString('hex'),
    );
  });

  it('BLOCK: throws PolicyBlockedError with the event id; throwOnBlock:false returns it', async () => {
    const err = await gateway
      .execute('payments.initiate', { amount: 5, currency: 'BTC' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyBlockedError);
    const blocked = err as PolicyBlockedError;
    expect(blocked.reason).toBe('crypto recipients are forbidden');
    const [row] = await decisionRows(store(), 'd.id = $1', [blocked.eventId]);
    expect(row).toMatchObject({ decision: 'BLOCK', policy_ids: ['no-crypto'] });
    const r = await gateway.execute(
      'payments.initiate',
      { amount: 5, currency: 'BTC' },
      { throwOnBlock: false },
    );
    expect(r.blocked).toBe(true);
    const deny = await gateway.execute('emails.send', {}, { throwOnBlock: false });
    expect(deny).toMatchObject({ decision: 'BLOCK', reason: 'no policy permits this action (default deny)' });
  });

  it('a Cedar evaluation error is a recorded BLOCK', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 'lots' }, { throwOnBlock: false });
    expect(r.decision).toBe('BLOCK');
    expect(r.reason).toMatch(/fail closed/);
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    expect(row?.decision).toBe('BLOCK');
  });

  it('ESCALATE approved: the waiter wakes with ALLOW, actorHumanId and the escalation id', async () => {
    const waiting = gateway.execute('payments.initiate', { amount: 500, currency: 'GBP' });
    const id = await pendingOf('payments.initiate');
    const held = await getEscalation(store(), id);
    expect(held).toMatchObject({ status: 'pending', reason: 'payments over 100 need a human' });
    expect(held?.paramsSha256).toBe(paramsSha256({ amount: 500, currency: 'GBP' }));
    const change = await decideEscalation(store(), {
      id,
      decision: 'approve',
      reviewer: 'alice',
      reason: 'known supplier',
      paramsSha256: held?.paramsSha256,
    });
    const r = await waiting;
    expect(r).toMatchObject({
      decision: 'ALLOW',
      actorHumanId: 'alice',
      escalationId: id,
      eventId: change.event.id,
    });
    const events = await decisionRows(store(), 'd.escalation_id = $1 OR d.id = $2', [id, held?.eventId]);
    expect(events.map((e) => [e.event_type, e.decision, e.escalation_status])).toEqual([
      ['decision', 'ESCALATE', null],
      ['escalation', 'ALLOW', 'approved'],
    ]);
    expect(events[1]?.parent_id).toBe(held?.eventId);
    expect(events.every((e) => typeof e.leaf_index === 'number')).toBe(true);
  });

  it('the waiter is woken by the notification, not by its periodic re-check', async () => {
    const slowPoll = new ProvablyGateway({
      agentId: 'billing-agent',
      policy: PAYMENTS_POLICY,
      store: store(),
      tenant: org,
      mode: 'enforce',
      pollMs: 60_000,
    });
    try {
      const waiting = slowPoll.execute('payments.initiate', { amount: 555, currency: 'GBP' });
      const id = await pendingOf('payments.initiate');
      // Whenever this lands, the waiter either reads it on its first read (made after its LISTEN
      // is active) or is notified: it never has to wait for the 60 s re-check.
      const started = Date.now();
      await decideEscalation(store(), { id, decision: 'approve', reviewer: 'nina', reason: 'ok' });
      await expect(waiting).resolves.toMatchObject({ decision: 'ALLOW', actorHumanId: 'nina' });
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await slowPoll.close();
    }
  });

  it('ESCALATE rejected: PolicyBlockedError with the reviewer reason', async () => {
    const waiting = gateway
      .execute('payments.initiate', { amount: 600, currency: 'GBP' })
      .catch((e: unknown) => e);
    const id = await pendingOf('payments.initiate');
    await decideEscalation(store(), { id, decision: 'reject', reviewer: 'bob', reason: 'unknown payee' });
    const err = await waiting;
    expect(err).toBeInstanceOf(PolicyBlockedError);
    expect((err as PolicyBlockedError).reason).toBe('rejected by bob: unknown payee');
    expect((err as PolicyBlockedError).escalationId).toBe(id);
  });

  it('ESCALATE expiring: EscalationTimeoutError, status expired (not a rejection), BLOCK "escalation timed out"', async () => {
    const err = await gateway.execute('payments.expiring', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EscalationTimeoutError);
    const timeout = err as EscalationTimeoutError;
    const row = await getEscalation(store(), timeout.escalationId);
    expect(row).toMatchObject({ status: 'expired', reviewer: null });
    const [event] = await decisionRows(store(), 'd.id = $1', [timeout.eventId]);
    expect(event).toMatchObject({
      decision: 'BLOCK',
      reason: 'escalation timed out',
      escalation_status: 'expired',
    });
    // Too late to approve now.
    const late = await decideEscalation(store(), {
      id: timeout.escalationId,
      decision: 'approve',
      reviewer: 'carol',
      reason: 'sorry, late',
    }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(EscalationError);
    expect((late as EscalationError).reason).toBe('conflict');
  });

  it('wait:false returns ESCALATE at once; reading it while pending throws; awaitEscalation gets the outcome', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 700, currency: 'EUR' }, { wait: false });
    expect(r.escalated).toBe(true);
    const id = r.escalationId as string;
    const early = await gateway.escalationResult(id).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(EscalationError);
    expect((early as EscalationError).reason).toBe('pending');
    const waiting = gateway.awaitEscalation(id);
    await decideEscalation(store(), { id, decision: 'approve', reviewer: 'dave', reason: 'ok' });
    expect(await waiting).toMatchObject({ decision: 'ALLOW', actorHumanId: 'dave' });
    expect(await gateway.escalationResult(id)).toMatchObject({ decision: 'ALLOW' });
  });

  it('racing decisions: exactly one applies, the other gets a conflict and changes nothing', async () => {
    for (let round = 0; round < 5; round++) {
      const r = await gateway.execute('payments.initiate', { amount: 800, currency: 'EUR' }, { wait: false });
      const id = r.escalationId as string;
      const results = await Promise.allSettled([
        decideEscalation(store(), { id, decision: 'approve', reviewer: 'r1', reason: 'yes' }),
        decideEscalation(store(), { id, decision: 'reject', reviewer: 'r2', reason: 'no' }),
      ]);
      const won = results.filter((x) => x.status === 'fulfilled');
      const lost = results.filter((x) => x.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(EscalationError);
      expect(((lost[0] as PromiseRejectedResult).reason as EscalationError).reason).toBe('conflict');
      const winner = (won[0] as PromiseFulfilledResult<{ escalation: { status: string; reviewer: string } }>)
        .value;
      const row = await getEscalation(store(), id);
      expect(row?.status).toBe(winner.escalation.status);
      expect(row?.reviewer).toBe(winner.escalation.reviewer);
      const ends = await decisionRows(store(), "d.escalation_id = $1 AND d.event_type = 'escalation'", [id]);
      expect(ends).toHaveLength(1);
    }
  });

  it('an approval naming other params than the held ones is refused', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 900, currency: 'EUR' }, { wait: false });
    const err = await decideEscalation(store(), {
      id: r.escalationId as string,
      decision: 'approve',
      reviewer: 'eve',
      reason: 'looks fine',
      paramsSha256: paramsSha256({ amount: 9, currency: 'EUR' }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EscalationError);
    expect((err as EscalationError).reason).toBe('params-mismatch');
    expect((await getEscalation(store(), r.escalationId as string))?.status).toBe('pending');
  });

  it('redacts PROVABLY_REDACT_PARAMS keys in stored params and keeps the hash of the real ones', async () => {
    const params = { amount: 20, currency: 'GBP', card: { cardNumber: '4111111111111111', cvc: 'x' } };
    const r = await gateway.execute('payments.initiate', params);
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    expect(row?.params).toEqual({
      amount: 20,
      currency: 'GBP',
      card: { cardNumber: '[REDACTED]', cvc: 'x' },
    });
    expect(row?.params_sha256).toBe(paramsSha256(params));
    const all = JSON.stringify(await store().raw.query('SELECT * FROM provably_decisions'));
    expect(all).not.toContain('4111111111111111');
  });

  it('the database refuses UPDATE, DELETE and TRUNCATE of decisions, and any second change of an escalation', async () => {
    const r = await gateway.execute('payments.initiate', { amount: 1, currency: 'GBP' });
    for (const sql of [
      `UPDATE provably_decisions SET decision = 'BLOCK' WHERE id = '${r.eventId}'`,
      `DELETE FROM provably_decisions WHERE id = '${r.eventId}'`,
      'TRUNCATE provably_decisions',
    ]) {
      const err = await store()
        .raw.query(sql)
        .catch((e: unknown) => e);
      expect(err, sql).toBeInstanceOf(ProvablyStoreError);
      expect((err as ProvablyStoreError).reason).toBe('append-only');
    }
    const e = await gateway.execute('payments.initiate', { amount: 300, currency: 'GBP' }, { wait: false });
    const id = e.escalationId as string;
    for (const sql of [
      `UPDATE provably_escalations SET params = '{"amount":1}' WHERE id = '${id}'`,
      `UPDATE provably_escalations SET status = 'expired', decided_at = now(), decision_event_id = gen_random_uuid() WHERE id = '${id}'`,
      `DELETE FROM provably_escalations WHERE id = '${id}'`,
    ]) {
      const err = await store()
        .raw.query(sql)
        .catch((x: unknown) => x);
      expect(err, sql).toBeInstanceOf(ProvablyStoreError);
      expect((err as ProvablyStoreError).reason).toBe('append-only');
    }
    await decideEscalation(store(), { id, decision: 'approve', reviewer: 'f', reason: 'ok' });
    const back = await store()
      .raw.query(`UPDATE provably_escalations SET status = 'pending' WHERE id = '${id}'`)
      .catch((x: unknown) => x);
    expect((back as ProvablyStoreError).reason).toBe('append-only');
  });

  it('decisions are covered by checkpoints, have inclusion proofs, and verifyLog names an edited one', async () => {
    const signer = signerFromPem(generateSigningKeyPem());
    const r = await gateway.execute('payments.initiate', { amount: 2, currency: 'GBP' });
    const cp = await issueCheckpoint(store(), org, signer);
    const proof = await inclusionProof(store(), org, r.eventId);
    const [row] = await decisionRows(store(), 'd.id = $1', [r.eventId]);
    const check = verifyInclusion({
      leafIndex: proof.leafIndex,
      treeSize: proof.treeSize,
      leafHash: decisionLeafHash(row as never, proof.leafIndex),
      proof: proof.proof.map((h) => Buffer.from(h, 'hex')),
      rootHash: Buffer.from(cp.root_hash, 'hex'),
    });
    expect(check).toEqual({ ok: true });
    const clean = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(clean.ok).toBe(true);
    expect(clean.problemCount).toBe(0);

    // A superuser who disables the guard and rewrites a decision is named by verifyLog.
    await store().raw.query('ALTER TABLE provably_decisions DISABLE TRIGGER provably_decisions_append_only');
    await store().raw.query(
      `UPDATE provably_decisions SET decision = 'ALLOW', reason = 'edited' WHERE id = $1`,
      [r.eventId],
    );
    await store().raw.query('ALTER TABLE provably_decisions ENABLE TRIGGER provably_decisions_append_only');
    const broken = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(broken.ok).toBe(false);
    expect(broken.firstBroken).toMatchObject({
      leafIndex: proof.leafIndex,
      recordId: r.eventId,
      kind: 'record-mismatch',
    });

    // A decision deleted behind the guard's back is named too (its leaf has no row).
    const other = await gateway.execute('payments.initiate', { amount: 3, currency: 'GBP' });
    await issueCheckpoint(store(), org, signer);
    await store().raw.query('ALTER TABLE provably_decisions DISABLE TRIGGER provably_decisions_append_only');
    await store().raw.query('DELETE FROM provably_decisions WHERE id = $1', [other.eventId]);
    await store().raw.query('ALTER TABLE provably_decisions ENABLE TRIGGER provably_decisions_append_only');
    const gone = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(gone.ok).toBe(false);
    expect(gone.problems.some((p) => p.recordId === other.eventId && p.kind === 'record-missing')).toBe(true);
  });

  it('audit listing filters by decision and agent', async () => {
    const blocked = await listDecisionEvents(store(), { orgId: org, decision: 'BLOCK' });
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.every((e) => e.decision === 'BLOCK' && typeof e.leafIndex === 'number')).toBe(true);
    expect(await listDecisionEvents(store(), { orgId: org, agentId: 'nobody' })).toEqual([]);
  });

  it('a decision that cannot be recorded is a GatewayError and nothing runs', async () => {
    const s = await backend.open();
    const g = new ProvablyGateway({
      agentId: 'billing-agent',
      policy: PAYMENTS_POLICY,
      store: s,
      tenant: org,
      mode: 'enforce',
    });
    await s.close();
    let ran = false;
    const guarded = g.guard('tool.sync', () => {
      ran = true;
    });
    await expect(g.execute('payments.initiate', { amount: 1 })).rejects.toBeInstanceOf(GatewayError);
    await expect(guarded()).rejects.toBeInstanceOf(GatewayError);
    expect(ran).toBe(false);
    await g.close();
  });
});
