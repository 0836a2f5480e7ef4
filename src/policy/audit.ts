/**
 * The audit trail: provably_decisions rows (migration 6), each written with its ledger leaf in
 * one statement (migration 8), and read back for `provably audit`.
 */
import { randomUUID } from 'node:crypto';
import { checkOrgId } from '../config/index.js';
import { appendDecisions, DECISION_LEAF_COLUMNS, type DecisionLeafRow } from '../ledger/index.js';
import type { Queryable } from '../store/types.js';
import type { Decision, PolicyMode } from './engine.js';
import type { JsonValue, Params } from './params.js';

export type DecisionEventType = 'decision' | 'escalation' | 'outcome';
export type EscalationStatus = 'pending' | 'approved' | 'rejected' | 'expired';

/** One audit event as stored. */
export interface DecisionEvent {
  /** The event id (`eventId` of results and errors). */
  id: string;
  orgId: string;
  eventType: DecisionEventType;
  /** null for `outcome` events. */
  decision: Decision | null;
  mode: PolicyMode;
  reason: string;
  agentId: string;
  actionName: string;
  sessionId: string | null;
  /** The params as stored (PROVABLY_REDACT_PARAMS keys replaced). */
  params: Params;
  /** SHA-256 of the canonical params before redaction. */
  paramsSha256: string;
  policyVersion: string;
  policyIds: string[];
  escalationId: string | null;
  escalationStatus: EscalationStatus | null;
  reviewer: string | null;
  /** The event this one follows: an escalation's first decision, or the decision an outcome ran under. */
  parentId: string | null;
  traceId: string | null;
  spanId: string | null;
  /** `outcome` events: { status: 'ok' | 'error', result_sha256?, error? }. */
  outcome: { [key: string]: JsonValue } | null;
  decidedAt: Date;
  durationMs: number | null;
  createdAt?: Date;
  /** Its position in the org's Merkle log. */
  leafIndex?: number;
}

export type NewDecisionEvent = Omit<DecisionEvent, 'id' | 'createdAt' | 'leafIndex'> & { id?: string };

/**
 * The row an event is stored as, in the leaf's terms (decision-leaf.ts). Throws ProvablyConfigError
 * for a bad org id. decided_at keeps milliseconds only (a Date has no finer digits).
 */
export function decisionRow(e: NewDecisionEvent & { id: string }): DecisionLeafRow {
  checkOrgId(e.orgId, 'orgId');
  return {
    id: e.id,
    org_id: e.orgId,
    event_type: e.eventType,
    decision: e.decision,
    mode: e.mode,
    reason: e.reason,
    agent_id: e.agentId,
    action_name: e.actionName,
    session_id: e.sessionId,
    params: e.params,
    params_sha256: e.paramsSha256,
    policy_version: e.policyVersion,
    policy_ids: e.policyIds,
    escalation_id: e.escalationId,
    escalation_status: e.escalationStatus,
    reviewer: e.reviewer,
    parent_id: e.parentId,
    trace_id: e.traceId,
    span_id: e.spanId,
    outcome: e.outcome,
    decided_at: new Date(e.decidedAt.getTime()),
    duration_ms: e.durationMs,
  };
}

/**
 * Inserts the event and its leaf with one statement on `q` (a transaction handle, or a store:
 * then it autocommits). Returns the stored event (without createdAt, the database's clock).
 * Concurrent callers outside a transaction should go through the DecisionWriter instead, which
 * shares one statement among them (decision-writer.ts).
 */
export async function insertDecisionEvent(q: Queryable, e: NewDecisionEvent): Promise<DecisionEvent> {
  const id = e.id ?? randomUUID();
  const row = decisionRow({ ...e, id });
  const indexes = await appendDecisions(q, [row]);
  return { ...e, id, decidedAt: row.decided_at as Date, leafIndex: indexes.get(id) as number };
}

export interface ListDecisionsOptions {
  orgId: string;
  agentId?: string;
  actionName?: string;
  decision?: Decision;
  sessionId?: string;
  since?: Date;
  until?: Date;
  /** Only events listed after this one (an event id: a page cursor). */
  afterId?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/** Events newest first, with their leaf index. */
export async function listDecisionEvents(q: Queryable, o: ListDecisionsOptions): Promise<DecisionEvent[]> {
  checkOrgId(o.orgId, 'orgId');
  const where = ['d.org_id = $1'];
  const params: unknown[] = [o.orgId];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (o.agentId !== undefined) add('d.agent_id = ?', o.agentId);
  if (o.actionName !== undefined) add('d.action_name = ?', o.actionName);
  if (o.decision !== undefined) add('d.decision = ?', o.decision);
  if (o.sessionId !== undefined) add('d.session_id = ?', o.sessionId);
  if (o.since !== undefined) add('d.decided_at >= ?::timestamptz', o.since.toISOString());
  if (o.until !== undefined) add('d.decided_at < ?::timestamptz', o.until.toISOString());
  if (o.afterId !== undefined) {
    add(
      '(d.decided_at, d.created_at, d.id) < (SELECT decided_at, created_at, id FROM provably_decisions WHERE id = ?::uuid)',
      o.afterId,
    );
  }
  const limit = Math.min(Math.max(1, Math.trunc(o.limit ?? 100)), 1000);
  params.push(limit);
  const res = await q.query<Record<string, unknown>>(
    `SELECT ${DECISION_LEAF_COLUMNS.map((c) => `d.${c}`).join(', ')}, d.created_at, l.leaf_index
     FROM provably_decisions d LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id
     WHERE ${where.join(' AND ')} ORDER BY d.decided_at DESC, d.created_at DESC, d.id DESC LIMIT $${params.length}`,
    params,
  );
  return res.rows.map(toEvent);
}

/** One event by id, with its leaf index; null when unknown. */
export async function getDecisionEvent(q: Queryable, id: string): Promise<DecisionEvent | null> {
  if (!UUID.test(id)) return null;
  const res = await q.query<Record<string, unknown>>(
    `SELECT ${DECISION_LEAF_COLUMNS.map((c) => `d.${c}`).join(', ')}, d.created_at, l.leaf_index
     FROM provably_decisions d LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id WHERE d.id = $1`,
    [id],
  );
  return res.rows[0] ? toEvent(res.rows[0]) : null;
}

/** The events that follow one (an escalation's end, an outcome), oldest first. */
export async function childEvents(q: Queryable, parentId: string): Promise<DecisionEvent[]> {
  if (!UUID.test(parentId)) return [];
  const res = await q.query<Record<string, unknown>>(
    `SELECT ${DECISION_LEAF_COLUMNS.map((c) => `d.${c}`).join(', ')}, d.created_at, l.leaf_index
     FROM provably_decisions d LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id
     WHERE d.parent_id = $1 ORDER BY d.decided_at, d.created_at`,
    [parentId],
  );
  return res.rows.map(toEvent);
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toEvent(r: Record<string, unknown>): DecisionEvent {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const e: DecisionEvent = {
    id: String(r.id),
    orgId: String(r.org_id),
    eventType: r.event_type as DecisionEventType,
    decision: (r.decision ?? null) as Decision | null,
    mode: r.mode as PolicyMode,
    reason: String(r.reason),
    agentId: String(r.agent_id),
    actionName: String(r.action_name),
    sessionId: str(r.session_id),
    params: r.params as Params,
    paramsSha256: String(r.params_sha256),
    policyVersion: String(r.policy_version),
    policyIds: (r.policy_ids ?? []) as string[],
    escalationId: str(r.escalation_id),
    escalationStatus: (r.escalation_status ?? null) as EscalationStatus | null,
    reviewer: str(r.reviewer),
    parentId: str(r.parent_id),
    traceId: str(r.trace_id),
    spanId: str(r.span_id),
    outcome: (r.outcome ?? null) as DecisionEvent['outcome'],
    decidedAt: r.decided_at as Date,
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
  };
  if (r.created_at instanceof Date) e.createdAt = r.created_at;
  if (r.leaf_index !== null && r.leaf_index !== undefined) e.leafIndex = Number(r.leaf_index);
  return e;
}
