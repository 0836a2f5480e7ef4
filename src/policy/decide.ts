/**
 * The decide-and-record core shared by the local ProvablyGateway and the gateway server:
 * evaluate the policy, then ONE statement inserts the decision event (a ledger leaf) and, for
 * an enforced ESCALATE, the pending escalation beside it (decision-writer.ts: concurrent
 * decisions on a store share that statement). Nothing about what happens next
 * (throwing, waiting, counting) lives here: callers differ on that, the record must not.
 *
 * Session counts come in with the input because their source differs: local mode keeps
 * in-memory counters, the server reads them from the store per tenant + session so replicas
 * agree.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/types.js';
import { decisionRow } from './audit.js';
import { decisionWriter } from './decision-writer.js';
import {
  DEFAULT_HOLD_SECONDS,
  type DecisionRequest,
  type PolicyDecision,
  type SessionCounts,
} from './engine.js';
import type { Escalation } from './escalations.js';
import { type Params, paramsSha256, redactParams } from './params.js';

/** What decides: a PolicyEngine, or anything with its evaluate (e.g. a default-deny stand-in). */
export interface DecisionEvaluator {
  evaluate(request: DecisionRequest): PolicyDecision;
}

export interface DecideInput {
  /** The org the decision is recorded under (Cedar resource Tenant::"<tenant>"). */
  tenant: string;
  agentId: string;
  action: string;
  /** Already normalized (normalizeParams): JSON-only, what the policy sees and the hash covers. */
  params: Params;
  sessionId: string | null;
  /** The session's counts BEFORE this decision (context.session). */
  session: SessionCounts;
  trace: { traceId: string | null; spanId: string | null };
  /** Param key names stored as [REDACTED] (the hash is of the unredacted params). */
  redact: readonly string[];
  /** Default: a fresh UUID. */
  eventId?: string;
  /** context.now; default the current time. */
  now?: Date;
}

export interface RecordedDecision {
  /** The engine's answer (decision, reason, mode, policyVersion, policyIds, holdSeconds). */
  decision: PolicyDecision;
  /** The decision event's id (its ledger leaf's record id). */
  eventId: string;
  /** Present for an enforced ESCALATE: the pending row, held until decided or expired. */
  escalation?: Escalation;
}

/**
 * Decides and records. Throws only when the record cannot be written (the store's error, as
 * is: callers map it — GatewayError locally, 503 on the server); a policy that cannot decide
 * is a BLOCK, recorded like any other.
 */
export async function recordDecision(
  store: Store,
  engine: DecisionEvaluator,
  input: DecideInput,
): Promise<RecordedDecision> {
  const d = engine.evaluate({
    agentId: input.agentId,
    action: input.action,
    tenant: input.tenant,
    params: input.params,
    session: input.session,
    now: input.now,
  });
  const hash = paramsSha256(input.params);
  const stored = redactParams(input.params, input.redact);
  const eventId = input.eventId ?? randomUUID();
  // Shadow (log_only) decisions are recorded as computed but never held: the call proceeds.
  const escalate = d.mode === 'enforce' && d.decision === 'ESCALATE';
  const { traceId, spanId } = input.trace;
  const row = decisionRow({
    id: eventId,
    orgId: input.tenant,
    eventType: 'decision',
    decision: d.decision,
    mode: d.mode,
    reason: d.reason,
    agentId: input.agentId,
    actionName: input.action,
    sessionId: input.sessionId,
    params: stored,
    paramsSha256: hash,
    policyVersion: d.policyVersion,
    policyIds: d.policyIds,
    escalationId: null,
    escalationStatus: null,
    reviewer: null,
    parentId: null,
    traceId,
    spanId,
    outcome: null,
    decidedAt: input.now ?? new Date(),
    durationMs: null,
  });
  // One statement, shared with concurrent decisions on this store (group commit), settled once
  // the row, its leaf and the escalation are committed.
  const { escalation } = await decisionWriter(store).append(
    row,
    escalate
      ? {
          orgId: input.tenant,
          eventId,
          agentId: input.agentId,
          actionName: input.action,
          sessionId: input.sessionId,
          params: stored,
          paramsSha256: hash,
          reason: d.reason,
          policyVersion: d.policyVersion,
          policyIds: d.policyIds,
          traceId,
          spanId,
          holdSeconds: d.holdSeconds ?? DEFAULT_HOLD_SECONDS,
        }
      : undefined,
  );
  return escalation === undefined ? { decision: d, eventId } : { decision: d, eventId, escalation };
}
