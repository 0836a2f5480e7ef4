/**
 * POST /v1/events — what an agent reports after a decision:
 * - the outcome of a guarded call (`parentEventId` + `outcome`), a child of the ALLOW it ran
 *   under, like local mode's outcome events;
 * - a fail-open decision taken while the gateway was unreachable (`kind: "fail_open"`),
 *   recorded as ALLOW with reason `gateway unreachable (fail-open)` and policy_version
 *   `agent-reported` (no policy decided it: the agent says it proceeded).
 * Both are ledger leaves of the tenant's log. 201 `{ eventId }`.
 */
import type { Hono } from 'hono';
import { getDecisionEvent, insertDecisionEvent } from '../../policy/audit.js';
import { normalizeParams, paramsSha256, redactParams } from '../../policy/index.js';
import { isUuid } from '../../record/index.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest, GatewayRequestError, notFound } from '../errors.js';
import { type GatewayEnv, principalOf, readJson, stringField, traceField } from '../http.js';
import { agentOf } from './execute.js';

export const FAIL_OPEN_REASON = 'gateway unreachable (fail-open)';
export const AGENT_REPORTED_VERSION = 'agent-reported';
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A fail-open decision may be reported this long after it was taken (clock skew aside). */
const MAX_FUTURE_MS = 5 * 60_000;

export function eventRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  app.post('/v1/events', async (c) => {
    const p = principalOf(c, 'agent', 'admin');
    const body = await readJson(c);
    const store = deps.store;
    if (body.kind === 'fail_open') {
      const agentId = agentOf(p.agentId, body);
      const action = stringField(body, 'action', { required: true }) as string;
      if (
        body.params !== undefined &&
        (body.params === null || typeof body.params !== 'object' || Array.isArray(body.params))
      ) {
        throw new GatewayRequestError(400, 'invalid_params', 'params must be a JSON object of named params');
      }
      const params = normalizeParams(body.params ?? {});
      const decidedAt = timeField(body.decidedAt);
      const trace = traceField(body) ?? { traceId: null, spanId: null };
      const event = await store.transaction((tx) =>
        insertDecisionEvent(tx, {
          orgId: p.tenant,
          eventType: 'decision',
          decision: 'ALLOW',
          mode: 'enforce',
          reason: FAIL_OPEN_REASON,
          agentId,
          actionName: action,
          sessionId: stringField(body, 'sessionId', { nullable: true }) ?? null,
          params: redactParams(params, deps.redact),
          paramsSha256: paramsSha256(params),
          policyVersion: AGENT_REPORTED_VERSION,
          policyIds: [],
          escalationId: null,
          escalationStatus: null,
          reviewer: null,
          parentId: null,
          traceId: trace.traceId,
          spanId: trace.spanId,
          outcome: null,
          decidedAt,
          durationMs: null,
        }),
      );
      deps.log.info('fail-open reported', {
        tenant: p.tenant,
        agent_id: agentId,
        action,
        event_id: event.id,
      });
      return c.json({ eventId: event.id }, 201);
    }
    if (body.kind !== undefined && body.kind !== 'outcome') {
      throw badRequest('kind must be "outcome" (default) or "fail_open"');
    }
    const parentId = body.parentEventId;
    if (typeof parentId !== 'string' || !isUuid(parentId))
      throw badRequest('parentEventId must be an event id');
    const outcome = outcomeField(body.outcome);
    const duration = body.durationMs;
    if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0 || duration > 1e10) {
      throw badRequest('durationMs must be a number ≥ 0');
    }
    const parent = await getDecisionEvent(store, parentId);
    if (parent === null || parent.orgId !== p.tenant) throw notFound('event');
    if (p.role === 'agent' && p.agentId !== null && parent.agentId !== p.agentId) throw notFound('event');
    if (parent.eventType === 'outcome' || (parent.decision !== 'ALLOW' && parent.mode !== 'log_only')) {
      throw new GatewayRequestError(
        409,
        'conflict',
        'an outcome follows a decision that let the call run (ALLOW, an approval, or log-only)',
      );
    }
    const trace = traceField(body) ?? { traceId: parent.traceId, spanId: parent.spanId };
    const event = await store.transaction((tx) =>
      insertDecisionEvent(tx, {
        orgId: p.tenant,
        eventType: 'outcome',
        decision: null,
        mode: 'enforce',
        reason: outcome.ok ? 'completed' : `failed: ${outcome.error ?? ''}`,
        agentId: parent.agentId,
        actionName: parent.actionName,
        sessionId: parent.sessionId,
        params: parent.params,
        paramsSha256: parent.paramsSha256,
        policyVersion: parent.policyVersion,
        policyIds: [],
        escalationId: parent.escalationId,
        escalationStatus: null,
        reviewer: null,
        parentId: parent.id,
        traceId: trace.traceId,
        spanId: trace.spanId,
        outcome: outcome.ok
          ? { status: 'ok', result_sha256: outcome.resultSha256 ?? null }
          : { status: 'error', error: outcome.error ?? '' },
        decidedAt: new Date(),
        durationMs: Math.round(duration * 1000) / 1000,
      }),
    );
    return c.json({ eventId: event.id }, 201);
  });
}

function outcomeField(v: unknown): { ok: boolean; resultSha256?: string; error?: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw badRequest('outcome must be an object { ok, resultSha256?, error? }');
  }
  const o = v as Record<string, unknown>;
  if (typeof o.ok !== 'boolean') throw badRequest('outcome.ok must be true or false');
  if (
    o.resultSha256 !== undefined &&
    o.resultSha256 !== null &&
    (typeof o.resultSha256 !== 'string' || !SHA256_HEX.test(o.resultSha256))
  ) {
    throw badRequest('outcome.resultSha256 must be 64 lower-case hex digits');
  }
  if (o.error !== undefined && o.error !== null && (typeof o.error !== 'string' || o.error.length > 2000)) {
    throw badRequest('outcome.error must be a string of at most 2000 characters');
  }
  return {
    ok: o.ok,
    ...(typeof o.resultSha256 === 'string' ? { resultSha256: o.resultSha256 } : {}),
    ...(typeof o.error === 'string' ? { error: o.error } : {}),
  };
}

function timeField(v: unknown): Date {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(v))
    throw badRequest('decidedAt must be an ISO 8601 time');
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest('decidedAt must be an ISO 8601 time');
  if (d.getTime() > Date.now() + MAX_FUTURE_MS) throw badRequest('decidedAt is in the future');
  return d;
}
