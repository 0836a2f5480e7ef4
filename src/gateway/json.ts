/** The JSON shapes of the REST contract v1 (times as ISO 8601 text). */
import type { DecisionEvent, Escalation, PolicyDecision } from '../policy/index.js';
import type { InterceptRecord } from '../record/index.js';

const iso = (d: Date | null | undefined): string | null => (d instanceof Date ? d.toISOString() : null);

export interface ExecutionJson {
  decision: 'ALLOW' | 'BLOCK' | 'ESCALATE';
  reason: string;
  action: string;
  eventId: string;
  sessionId: string | null;
  policyVersion: string;
  mode: 'enforce' | 'log_only';
  shadowDecision?: 'ALLOW' | 'BLOCK' | 'ESCALATE';
  escalationId?: string;
  escalationStatus?: 'pending' | 'approved' | 'rejected' | 'expired';
  expiresAt?: string;
  actorHumanId?: string;
}

/** The answer to a fresh decision (ESCALATE: still pending). */
export function executionOfDecision(
  d: PolicyDecision,
  base: { action: string; eventId: string; sessionId: string | null },
  escalation: Escalation | undefined,
): ExecutionJson {
  const common = { ...base, policyVersion: d.policyVersion, mode: d.mode };
  if (d.mode === 'log_only') {
    // Shadow decisions are recorded, never enforced: the call proceeds (as in local mode).
    return { ...common, decision: 'ALLOW', reason: `log-only: ${d.reason}`, shadowDecision: d.decision };
  }
  if (d.decision !== 'ESCALATE' || escalation === undefined)
    return { ...common, decision: d.decision, reason: d.reason };
  return {
    ...common,
    decision: 'ESCALATE',
    reason: d.reason,
    escalationId: escalation.id,
    escalationStatus: 'pending',
    expiresAt: escalation.expiresAt.toISOString(),
  };
}

/** The answer once an escalation is known: its end (ALLOW / BLOCK) or still ESCALATE. */
export function executionOfEscalation(e: Escalation): ExecutionJson {
  const base = {
    action: e.actionName,
    sessionId: e.sessionId,
    policyVersion: e.policyVersion,
    mode: 'enforce' as const,
    escalationId: e.id,
    escalationStatus: e.status,
    expiresAt: e.expiresAt.toISOString(),
  };
  if (e.status === 'pending') return { ...base, decision: 'ESCALATE', reason: e.reason, eventId: e.eventId };
  const eventId = e.decisionEventId ?? e.eventId;
  if (e.status === 'approved') {
    return {
      ...base,
      eventId,
      decision: 'ALLOW',
      reason: `approved by ${e.reviewer}: ${e.decisionReason}`,
      actorHumanId: e.reviewer ?? undefined,
    };
  }
  if (e.status === 'expired') return { ...base, eventId, decision: 'BLOCK', reason: 'escalation timed out' };
  return {
    ...base,
    eventId,
    decision: 'BLOCK',
    reason: `rejected by ${e.reviewer}: ${e.decisionReason}`,
    actorHumanId: e.reviewer ?? undefined,
  };
}

export function escalationJson(e: Escalation) {
  return {
    id: e.id,
    status: e.status,
    eventId: e.eventId,
    decisionEventId: e.decisionEventId,
    agentId: e.agentId,
    action: e.actionName,
    sessionId: e.sessionId,
    params: e.params,
    paramsSha256: e.paramsSha256,
    reason: e.reason,
    policyVersion: e.policyVersion,
    policyIds: e.policyIds,
    createdAt: iso(e.createdAt),
    expiresAt: iso(e.expiresAt),
    reviewer: e.reviewer,
    decisionReason: e.decisionReason,
    decidedAt: iso(e.decidedAt),
  };
}

export function decisionEventJson(e: DecisionEvent) {
  return {
    id: e.id,
    eventType: e.eventType,
    decision: e.decision,
    mode: e.mode,
    reason: e.reason,
    agentId: e.agentId,
    action: e.actionName,
    sessionId: e.sessionId,
    params: e.params,
    paramsSha256: e.paramsSha256,
    policyVersion: e.policyVersion,
    policyIds: e.policyIds,
    escalationId: e.escalationId,
    escalationStatus: e.escalationStatus,
    reviewer: e.reviewer,
    parentId: e.parentId,
    traceId: e.traceId,
    spanId: e.spanId,
    outcome: e.outcome,
    decidedAt: iso(e.decidedAt),
    durationMs: e.durationMs,
    createdAt: iso(e.createdAt),
    leafIndex: e.leafIndex ?? null,
  };
}

/** An intercept row of the same trace, without its body (fetch it with `provably show`). */
export function interceptJson(r: InterceptRecord) {
  return {
    id: r.id,
    agentId: r.agentId,
    actionName: r.actionName,
    traceId: r.traceId,
    spanId: r.spanId,
    method: r.method,
    url: r.url,
    status: r.status,
    bodySha256: r.bodySha256,
    bodySize: r.bodySize,
    error: r.error,
    startedAt: iso(r.startedAt),
    durationMs: r.durationMs,
  };
}
