/** What `execute` and a guarded call answer. */
import type { Decision } from './engine.js';

export interface ExecutionResultInit {
  decision: Decision;
  reason: string;
  action: string;
  /** The audit event that made this decision final (provably_decisions id, a ledger leaf). */
  eventId: string;
  sessionId: string | null;
  escalationId?: string;
  /** Who approved an escalation. */
  actorHumanId?: string;
  toolResult?: unknown;
  /** The policy version that decided. */
  policyVersion: string;
  /**
   * Log-only (shadow) mode: the decision the policy computed; `decision` is then ALLOW because
   * shadow decisions are recorded, never enforced.
   */
  shadowDecision?: Decision;
}

export class ExecutionResult {
  readonly decision: Decision;
  readonly reason: string;
  readonly action: string;
  readonly eventId: string;
  readonly sessionId: string | null;
  readonly escalationId: string | undefined;
  readonly actorHumanId: string | undefined;
  readonly toolResult: unknown;
  readonly policyVersion: string;
  readonly shadowDecision: Decision | undefined;

  constructor(init: ExecutionResultInit) {
    this.decision = init.decision;
    this.reason = init.reason;
    this.action = init.action;
    this.eventId = init.eventId;
    this.sessionId = init.sessionId;
    this.escalationId = init.escalationId;
    this.actorHumanId = init.actorHumanId;
    this.toolResult = init.toolResult;
    this.policyVersion = init.policyVersion;
    this.shadowDecision = init.shadowDecision;
  }

  get allowed(): boolean {
    return this.decision === 'ALLOW';
  }

  get blocked(): boolean {
    return this.decision === 'BLOCK';
  }

  get escalated(): boolean {
    return this.decision === 'ESCALATE';
  }

  /** A copy carrying the guarded tool's result. */
  withToolResult(toolResult: unknown): ExecutionResult {
    return new ExecutionResult({ ...this, escalationId: this.escalationId, toolResult });
  }
}
