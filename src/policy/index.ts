/**
 * policy — Cedar-decided, audited tool execution (local mode): ProvablyGateway with execute,
 * guard and session; escalations held in the store for a human; every decision an append-only
 * provably_decisions row and a leaf of the org's Merkle log. Depends on scope, ledger and
 * store; never imported by intercept.
 */
export {
  childEvents,
  type DecisionEvent,
  type DecisionEventType,
  decisionRow,
  type EscalationStatus,
  getDecisionEvent,
  type ListDecisionsOptions,
  listDecisionEvents,
} from './audit.js';
export { type DecideInput, type DecisionEvaluator, type RecordedDecision, recordDecision } from './decide.js';
export {
  DEFAULT_HOLD_SECONDS,
  type Decision,
  type DecisionRequest,
  type PolicyDecision,
  PolicyEngine,
  type PolicyMode,
  type PolicySource,
  type ReloadResult,
  readPolicyMode,
  type SessionCounts,
} from './engine.js';
export {
  type DecideEscalationInput,
  decideEscalation,
  type Escalation,
  type EscalationChange,
  escalationOfEvent,
  expireEscalation,
  getEscalation,
  type ListEscalationsOptions,
  listEscalations,
} from './escalations.js';
export { type ExecuteOptions, ProvablyGateway, type ProvablyGatewayOptions } from './gateway.js';
export { ESCALATION_CHANNEL, EscalationNotifier } from './notifier.js';
export { normalizeParams, paramsSha256, REDACTED_PARAM, readRedactParams, redactParams } from './params.js';
export { type CompiledPolicySet, checkSchema, compilePolicySet, type PolicyInfo } from './policy-set.js';
export { ExecutionResult, type ExecutionResultInit } from './result.js';
export { PolicySession } from './session.js';
export { waitForEscalation } from './wait.js';
