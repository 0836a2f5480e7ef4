/**
 * Escalations: an ESCALATE decision held as a `pending` row with an expiry, decided once by a
 * human (approve / reject, before it expires) or expired (from its expiry on). Every change is
 * one transaction: the status UPDATE guarded by `WHERE status = 'pending'` (so of two racing
 * decisions exactly one applies; the other gets EscalationError `conflict`) and the audit
 * event (with its ledger leaf) that records it. Times are the DATABASE's clock, so processes
 * with skewed clocks agree on what has expired.
 */
import { randomUUID } from 'node:crypto';
import { checkOrgId } from '../config/index.js';
import { EscalationError } from '../errors/index.js';
import type { Queryable, Store } from '../store/types.js';
import { type DecisionEvent, type EscalationStatus, insertDecisionEvent, UUID } from './audit.js';
import type { Params } from './params.js';

export interface Escalation {
  id: string;
  orgId: string;
  /** The ESCALATE decision event. */
  eventId: string;
  agentId: string;
  actionName: string;
  sessionId: string | null;
  params: Params;
  /** What an approval is bound to: SHA-256 of the canonical params (before redaction). */
  paramsSha256: string;
  reason: string;
  policyVersion: string;
  policyIds: string[];
  traceId: string | null;
  spanId: string | null;
  status: EscalationStatus;
  createdAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
  reviewer: string | null;
  decisionReason: string | null;
  /** The event that recorded the approval, rejection or expiry. */
  decisionEventId: string | null;
  /** Milliseconds until expiry by the database clock (≤ 0: due). */
  remainingMs: number;
}

const SELECT = `SELECT *, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::float8 AS remaining_ms
  FROM provably_escalations`;

export interface NewEscalation {
  id?: string;
  orgId: string;
  eventId: string;
  agentId: string;
  actionName: string;
  sessionId: string | null;
  params: Params;
  paramsSha256: string;
  reason: string;
  policyVersion: string;
  policyIds: string[];
  traceId: string | null;
  spanId: string | null;
  holdSeconds: number;
}

/** Inserts a pending escalation (in the caller's transaction, beside its ESCALATE event). */
export async function insertEscalation(tx: Queryable, e: NewEscalation): Promise<Escalation> {
  const res = await tx.query<Record<string, unknown>>(
    `WITH ins AS (
       INSERT INTO provably_escalations (id, org_id, event_id, agent_id, action_name, session_id, params,
         params_sha256, reason, policy_version, policy_ids, trace_id, span_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11::jsonb, $12, $13,
         date_trunc('milliseconds', now()) + make_interval(secs => $14::int))
       RETURNING *)
     SELECT *, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::float8 AS remaining_ms FROM ins`,
    [
      e.id ?? randomUUID(),
      e.orgId,
      e.eventId,
      e.agentId,
      e.actionName,
      e.sessionId,
      JSON.stringify(e.params),
      e.paramsSha256,
      e.reason,
      e.policyVersion,
      JSON.stringify(e.policyIds),
      e.traceId,
      e.spanId,
      e.holdSeconds,
    ],
  );
  return toEscalation(res.rows[0] as Record<string, unknown>);
}

/** One escalation, or null when the id is unknown (or not a UUID). */
export async function getEscalation(q: Queryable, id: string): Promise<Escalation | null> {
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  const res = await q.query<Record<string, unknown>>(`${SELECT} WHERE id = $1`, [id]);
  return res.rows[0] ? toEscalation(res.rows[0]) : null;
}

export interface ListEscalationsOptions {
  orgId: string;
  status?: EscalationStatus;
  /** Only this agent's. */
  agentId?: string;
  /** Only those listed after this one (an escalation id: a page cursor). */
  afterId?: string;
  limit?: number;
}

/** Escalations newest first (ties by id, so a page cursor never skips or repeats a row). */
export async function listEscalations(q: Queryable, o: ListEscalationsOptions): Promise<Escalation[]> {
  checkOrgId(o.orgId, 'orgId');
  const limit = Math.min(Math.max(1, Math.trunc(o.limit ?? 100)), 1000);
  const where = ['org_id = $1'];
  const params: unknown[] = [o.orgId];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replaceAll('?', `$${params.length}`));
  };
  if (o.status !== undefined) add('status = ?', o.status);
  if (o.agentId !== undefined) add('agent_id = ?', o.agentId);
  if (o.afterId !== undefined) {
    // The cursor row's exact stored time (microseconds), not a JS Date's milliseconds.
    add('(created_at, id) < (SELECT created_at, id FROM provably_escalations WHERE id = ?::uuid)', o.afterId);
  }
  params.push(limit);
  const res = await q.query<Record<string, unknown>>(
    `${SELECT} WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return res.rows.map(toEscalation);
}

/** The escalation an ESCALATE decision event holds, or null. */
export async function escalationOfEvent(q: Queryable, eventId: string): Promise<Escalation | null> {
  if (typeof eventId !== 'string' || !UUID.test(eventId)) return null;
  const res = await q.query<Record<string, unknown>>(`${SELECT} WHERE event_id = $1`, [eventId]);
  return res.rows[0] ? toEscalation(res.rows[0]) : null;
}

export interface DecideEscalationInput {
  id: string;
  decision: 'approve' | 'reject';
  /** Who decided (actorHumanId). */
  reviewer: string;
  reason: string;
  /** The params hash the reviewer was shown: refused (`params-mismatch`) unless it is the held one. */
  paramsSha256?: string;
  /** Refuse (`not-found`) an escalation of another org. */
  orgId?: string;
}

export interface EscalationChange {
  escalation: Escalation;
  event: DecisionEvent;
}

/**
 * Approves or rejects a pending, unexpired escalation: one transaction writes the status and
 * the audit event. Throws EscalationError: `not-found`, `conflict` (already decided or
 * expired: the second of two racing decisions lands here and changes nothing),
 * `params-mismatch`, `invalid`.
 */
export async function decideEscalation(
  store: Store,
  input: DecideEscalationInput,
): Promise<EscalationChange> {
  const id = String(input?.id ?? '');
  if (input?.decision !== 'approve' && input?.decision !== 'reject') {
    throw new EscalationError(
      id,
      'invalid',
      `decision must be "approve" or "reject", got ${JSON.stringify(input?.decision)}`,
    );
  }
  const reviewer = typeof input.reviewer === 'string' ? input.reviewer.trim() : '';
  if (reviewer === '') throw new EscalationError(id, 'invalid', 'a reviewer is required');
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason === '') throw new EscalationError(id, 'invalid', 'a reason is required');
  const status: EscalationStatus = input.decision === 'approve' ? 'approved' : 'rejected';
  return change(store, id, input.orgId, {
    status,
    reviewer,
    reason,
    paramsSha256: input.paramsSha256,
    expired: false,
  });
}

/**
 * Marks a pending escalation whose expiry has passed (database clock) as `expired`, recording
 * a BLOCK event with reason `escalation timed out`. Returns null when it is not due yet;
 * throws EscalationError `conflict` when it was decided first.
 */
export async function expireEscalation(store: Store, id: string): Promise<EscalationChange | null> {
  try {
    return await change(store, id, undefined, {
      status: 'expired',
      reviewer: null,
      reason: 'escalation timed out',
      expired: true,
    });
  } catch (err) {
    if (err instanceof EscalationError && err.reason === 'pending') return null;
    throw err;
  }
}

interface Change {
  status: EscalationStatus;
  reviewer: string | null;
  reason: string;
  paramsSha256?: string;
  expired: boolean;
}

async function change(
  store: Store,
  id: string,
  orgId: string | undefined,
  c: Change,
): Promise<EscalationChange> {
  if (!UUID.test(id)) throw new EscalationError(id, 'not-found', 'no such escalation');
  const eventId = randomUUID();
  return store.transaction(async (tx) => {
    const timing = c.expired ? 'expires_at <= now()' : 'expires_at > now()';
    const updated = await tx.query<Record<string, unknown>>(
      `UPDATE provably_escalations
       SET status = $2, decided_at = date_trunc('milliseconds', now()), reviewer = $3, decision_reason = $4,
           decision_event_id = $5
       WHERE id = $1 AND status = 'pending' AND ${timing}
         AND ($6::text IS NULL OR org_id = $6) AND ($7::text IS NULL OR params_sha256 = $7)
       RETURNING *, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::float8 AS remaining_ms`,
      [id, c.status, c.reviewer, c.reason, eventId, orgId ?? null, c.paramsSha256 ?? null],
    );
    const row = updated.rows[0];
    if (row === undefined) throw await whyNot(tx, id, orgId, c);
    const escalation = toEscalation(row);
    const event = await insertDecisionEvent(tx, {
      id: eventId,
      orgId: escalation.orgId,
      eventType: 'escalation',
      decision: c.status === 'approved' ? 'ALLOW' : 'BLOCK',
      mode: 'enforce',
      reason:
        c.status === 'approved'
          ? `approved by ${c.reviewer}: ${c.reason}`
          : c.status === 'rejected'
            ? `rejected by ${c.reviewer}: ${c.reason}`
            : c.reason,
      agentId: escalation.agentId,
      actionName: escalation.actionName,
      sessionId: escalation.sessionId,
      params: escalation.params,
      paramsSha256: escalation.paramsSha256,
      policyVersion: escalation.policyVersion,
      policyIds: escalation.policyIds,
      escalationId: escalation.id,
      escalationStatus: c.status,
      reviewer: c.reviewer,
      parentId: escalation.eventId,
      traceId: escalation.traceId,
      spanId: escalation.spanId,
      outcome: null,
      decidedAt: escalation.decidedAt as Date,
      durationMs: (escalation.decidedAt as Date).getTime() - escalation.createdAt.getTime(),
    });
    return { escalation, event };
  });
}

async function whyNot(
  tx: Queryable,
  id: string,
  orgId: string | undefined,
  c: Change,
): Promise<EscalationError> {
  const found = await getEscalation(tx, id);
  if (found === null || (orgId !== undefined && found.orgId !== orgId)) {
    return new EscalationError(id, 'not-found', 'no such escalation');
  }
  if (found.status !== 'pending') {
    return new EscalationError(
      id,
      'conflict',
      `already ${found.status}${found.reviewer ? ` by ${found.reviewer}` : ''}`,
    );
  }
  if (c.expired) return new EscalationError(id, 'pending', 'not due to expire yet');
  if (found.remainingMs <= 0) return new EscalationError(id, 'conflict', 'it has expired');
  if (c.paramsSha256 !== undefined && c.paramsSha256 !== found.paramsSha256) {
    return new EscalationError(
      id,
      'params-mismatch',
      `the approval names params ${c.paramsSha256.slice(0, 12)}… but the held call has ${found.paramsSha256.slice(0, 12)}…`,
    );
  }
  return new EscalationError(id, 'conflict', 'it changed while being decided');
}

/** An escalation row as the store returns it (with remaining_ms) → Escalation. */
export function toEscalation(r: Record<string, unknown>): Escalation {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    eventId: String(r.event_id),
    agentId: String(r.agent_id),
    actionName: String(r.action_name),
    sessionId: str(r.session_id),
    params: r.params as Params,
    paramsSha256: String(r.params_sha256),
    reason: String(r.reason),
    policyVersion: String(r.policy_version),
    policyIds: (r.policy_ids ?? []) as string[],
    traceId: str(r.trace_id),
    spanId: str(r.span_id),
    status: r.status as EscalationStatus,
    createdAt: r.created_at as Date,
    expiresAt: r.expires_at as Date,
    decidedAt: (r.decided_at ?? null) as Date | null,
    reviewer: str(r.reviewer),
    decisionReason: str(r.decision_reason),
    decisionEventId: str(r.decision_event_id),
    remainingMs: Number(r.remaining_ms),
  };
}
