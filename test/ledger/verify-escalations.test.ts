/**
 * verifyLog over escalations: the rows are not leaves, so verify checks each against the
 * decision leaves that recorded it (src/ledger/verify-escalations.ts). Each superuser edit
 * below is named (escalation-mismatch, with the escalation's id); the residual limits —
 * expires_at within its bounds, a pending escalation's expires_at, created_at and id — are
 * pinned: verify still says OK.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKeyPem, signerFromPem, trustedKeysOf, verifyLog } from '../../src/ledger/index.js';
import { decideEscalation, ProvablyGateway } from '../../src/policy/index.js';
import { describeEachBackend, type TestStore } from '../helpers/backends.js';

const ORG = 'org-escalations';
const POLICY = '@escalate("big") permit (principal, action == Action::"pay", resource);';
const keys = trustedKeysOf(signerFromPem(generateSigningKeyPem()));

describeEachBackend('verify: escalations against their decision leaves', (backend) => {
  let store: TestStore;
  let approved: string;
  let pending: string;

  beforeAll(async () => {
    store = await backend.open();
    await store.raw.query(`
CREATE OR REPLACE FUNCTION p8_exec(stmt text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM set_config('session_replication_role', 'replica', true);
  EXECUTE stmt;
  PERFORM set_config('session_replication_role', 'origin', true);
END $fn$`);
    const gw = new ProvablyGateway({ agentId: 'agent-e', policy: POLICY, store, tenant: ORG, watch: false });
    try {
      approved = (await gw.execute('pay', { amount: 1 }, { wait: false })).escalationId as string;
      await decideEscalation(store, { id: approved, decision: 'approve', reviewer: 'alice', reason: 'ok' });
      pending = (await gw.execute('pay', { amount: 2 }, { wait: false })).escalationId as string;
    } finally {
      await gw.close();
    }
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  /** verify after `stmt` (run as a superuser with the triggers off), then the edit is undone. */
  async function verifyAfter(stmt: string) {
    let report: Awaited<ReturnType<typeof verifyLog>> | undefined;
    await store
      .transaction(async (tx) => {
        await tx.query('SELECT p8_exec($1)', [stmt]);
        report = await verifyLog(tx, ORG, { trustedKeys: keys });
        throw new Error('rollback');
      })
      .catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      });
    return report as Awaited<ReturnType<typeof verifyLog>>;
  }

  it('the pristine log verifies (unsigned: no checkpoint yet)', async () => {
    expect(await verifyLog(store, ORG, { trustedKeys: keys })).toMatchObject({ ok: true, problemCount: 0 });
  });

  const named: [string, () => string][] = [
    [
      'approved → rejected',
      () => `UPDATE provably_escalations SET status = 'rejected' WHERE id = '${approved}'`,
    ],
    ['the reviewer', () => `UPDATE provably_escalations SET reviewer = 'mallory' WHERE id = '${approved}'`],
    [
      'the decision reason',
      () => `UPDATE provably_escalations SET decision_reason = 'x' WHERE id = '${approved}'`,
    ],
    [
      'the params',
      () => `UPDATE provably_escalations SET params = '{"amount": 1000}' WHERE id = '${pending}'`,
    ],
    [
      'pending → approved',
      () => `UPDATE provably_escalations SET status = 'approved' WHERE id = '${pending}'`,
    ],
    [
      'decided back to pending',
      () =>
        `UPDATE provably_escalations SET status = 'pending', decided_at = NULL, reviewer = NULL, decision_reason = NULL, decision_event_id = NULL WHERE id = '${approved}'`,
    ],
    [
      'approved after its expiry',
      () =>
        `UPDATE provably_escalations SET expires_at = decided_at - interval '1 second' WHERE id = '${approved}'`,
    ],
  ];
  for (const [what, stmt] of named) {
    it(`names an edit of ${what}`, async () => {
      const report = await verifyAfter(stmt());
      expect(report.ok).toBe(false);
      const problem = report.problems.find((p) => p.kind === 'escalation-mismatch');
      expect(problem, JSON.stringify(report.problems)).toBeDefined();
      expect(problem?.detail).toMatch(/escalation/);
      expect([approved, pending].some((id) => problem?.detail.includes(id))).toBe(true);
    });
  }

  it('names a deleted escalation by the ESCALATE decision left without it', async () => {
    const report = await verifyAfter(`DELETE FROM provably_escalations WHERE id = '${pending}'`);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        kind: 'escalation-mismatch',
        detail: expect.stringMatching(/the enforced ESCALATE decision \S+ has no escalation row/),
      }),
    );
  });

  const limits: [string, () => string][] = [
    [
      "a decided escalation's expires_at moved within its bounds",
      () =>
        `UPDATE provably_escalations SET expires_at = expires_at + interval '1 hour' WHERE id = '${approved}'`,
    ],
    [
      "a pending escalation's expires_at",
      () =>
        `UPDATE provably_escalations SET expires_at = expires_at + interval '1 day' WHERE id = '${pending}'`,
    ],
    [
      "a pending escalation's created_at",
      () =>
        `UPDATE provably_escalations SET created_at = created_at - interval '1 hour' WHERE id = '${pending}'`,
    ],
    [
      "a pending escalation's id",
      () => `UPDATE provably_escalations SET id = gen_random_uuid() WHERE id = '${pending}'`,
    ],
  ];
  for (const [what, stmt] of limits) {
    it(`residual limit: ${what} is bound by no leaf — verify still says OK`, async () => {
      expect(await verifyAfter(stmt())).toMatchObject({ ok: true, problemCount: 0 });
    });
  }
});
