/**
 * Where ProvablyGateway's decisions are made and recorded: in this process against the store
 * (local) or by a gateway server over REST (remote). The gateway object itself owns everything
 * the two share — argument checks, sessions and their counts, throwing on BLOCK, the scope a
 * guarded body runs in — so that logic is written once; a backend only decides, waits and
 * records.
 */
import type { Decision, SessionCounts } from './engine.js';
import type { Escalation } from './escalations.js';
import type { Params } from './params.js';
import type { ExecutionResult } from './result.js';

export interface TraceIds {
  traceId: string | null;
  spanId: string | null;
}

export interface DecideCall {
  agentId: string;
  action: string;
  /** Normalized (JSON-only) params. */
  params: Params;
  sessionId: string | null;
  /** This process's counts for the session BEFORE this call (local mode's context.session). */
  session: SessionCounts;
  trace: TraceIds;
}

/** One recorded decision, as enforced (a log-only decision is an ALLOW with shadowDecision). */
export interface DecidedCall {
  decision: Decision;
  reason: string;
  eventId: string;
  sessionId: string | null;
  policyVersion: string;
  shadowDecision?: Decision;
  /** Set for ESCALATE: the pending escalation to wait on. */
  escalationId?: string;
}

/** What the gateway needs of an escalation to answer its caller. */
export type EscalationState = Pick<
  Escalation,
  | 'id'
  | 'status'
  | 'eventId'
  | 'decisionEventId'
  | 'actionName'
  | 'sessionId'
  | 'policyVersion'
  | 'reviewer'
  | 'decisionReason'
>;

export interface OutcomeCall {
  agentId: string;
  /** The decision the body ran under. */
  decided: ExecutionResult;
  params: Params;
  trace: TraceIds;
  durationMs: number;
  result: { value?: unknown; error?: unknown };
}

export interface DecisionBackend {
  /** For GatewayError.url: the gateway URL, or `local:<store location>`. */
  readonly location: string;
  /** Decides and records; throws GatewayError when no decision could be made and recorded. */
  decide(call: DecideCall): Promise<DecidedCall>;
  /** Waits until the escalation is approved, rejected or expired. */
  waitEscalation(id: string): Promise<EscalationState>;
  /** The escalation as it is now; EscalationError `not-found` for an unknown id. */
  readEscalation(id: string): Promise<EscalationState>;
  /**
   * Records a guarded body's outcome; never throws (the body already ran). Whatever it must
   * capture of the result (its digest) is taken before it returns its promise: the gateway
   * does not wait for that promise on the caller's path (flush and close do).
   */
  recordOutcome(call: OutcomeCall): Promise<void>;
  close(): Promise<void>;
}
