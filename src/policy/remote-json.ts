/**
 * The REST contract v1 answers the remote client reads (`ExecutionJson`, `EscalationJson`),
 * checked field by field: an answer that does not say clearly what was decided is not a
 * decision, and the client fails closed on it rather than guess.
 */

import type { EscalationStatus } from './audit.js';
import type { DecidedCall, EscalationState } from './backend.js';
import type { Decision } from './engine.js';

const DECISIONS = new Set(['ALLOW', 'BLOCK', 'ESCALATE']);
const STATUSES = new Set(['pending', 'approved', 'rejected', 'expired']);

/** An answer that does not follow the contract. */
export class ContractError extends Error {}

export interface RemoteDecision extends DecidedCall {
  escalationStatus?: EscalationStatus;
  /** The escalation's expiry by the gateway's clock (ms since the epoch). */
  expiresAt?: number;
  actorHumanId?: string;
}

export interface RemoteEscalation extends EscalationState {
  expiresAt: number;
}

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new ContractError(`${what} is not an object`);
  return v as Json;
}

function str(o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new ContractError(`"${key}" is missing or not a string`);
  return v;
}

function optStr(o: Json, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ContractError(`"${key}" is not a string`);
  return v;
}

function optTime(o: Json, key: string): number | undefined {
  const v = optStr(o, key);
  if (v === null) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new ContractError(`"${key}" is not a time`);
  return t;
}

function decisionOf(v: unknown, key: string): Decision {
  if (typeof v !== 'string' || !DECISIONS.has(v))
    throw new ContractError(`"${key}" is not ALLOW, BLOCK or ESCALATE`);
  return v as Decision;
}

/** `POST /v1/execute` → 200 ExecutionJson. */
export function readExecution(json: unknown): RemoteDecision {
  const o = obj(json, 'the execute answer');
  const decision = decisionOf(o.decision, 'decision');
  const out: RemoteDecision = {
    decision,
    reason: typeof o.reason === 'string' ? o.reason : '',
    eventId: str(o, 'eventId'),
    sessionId: optStr(o, 'sessionId'),
    policyVersion: typeof o.policyVersion === 'string' ? o.policyVersion : 'unknown',
  };
  if (o.shadowDecision !== undefined && o.shadowDecision !== null) {
    out.shadowDecision = decisionOf(o.shadowDecision, 'shadowDecision');
  }
  const escalationId = optStr(o, 'escalationId');
  if (escalationId !== null) out.escalationId = escalationId;
  if (decision === 'ESCALATE' && escalationId === null)
    throw new ContractError('ESCALATE without an escalationId');
  const status = optStr(o, 'escalationStatus');
  if (status !== null) {
    if (!STATUSES.has(status)) throw new ContractError('"escalationStatus" is not a known status');
    out.escalationStatus = status as EscalationStatus;
  }
  const expiresAt = optTime(o, 'expiresAt');
  if (expiresAt !== undefined) out.expiresAt = expiresAt;
  const actor = optStr(o, 'actorHumanId');
  if (actor !== null) out.actorHumanId = actor;
  return out;
}

/** `GET /v1/escalations/:id` → EscalationJson. */
export function readEscalationJson(json: unknown, id: string): RemoteEscalation {
  const o = obj(json, 'the escalation');
  const status = str(o, 'status');
  if (!STATUSES.has(status)) throw new ContractError('"status" is not a known status');
  if (o.id !== id) throw new ContractError(`the answer is about another escalation (${String(o.id)})`);
  const expiresAt = optTime(o, 'expiresAt');
  if (expiresAt === undefined) throw new ContractError('"expiresAt" is missing');
  return {
    id,
    status: status as EscalationStatus,
    eventId: str(o, 'eventId'),
    decisionEventId: optStr(o, 'decisionEventId'),
    actionName: str(o, 'action'),
    sessionId: optStr(o, 'sessionId'),
    policyVersion: typeof o.policyVersion === 'string' ? o.policyVersion : 'unknown',
    reviewer: optStr(o, 'reviewer'),
    decisionReason: optStr(o, 'decisionReason'),
    expiresAt,
  };
}
