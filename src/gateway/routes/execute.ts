/**
 * POST /v1/execute — decide one action for an agent and record it (a ledger leaf); for
 * ESCALATE, optionally hold the answer up to `wait` seconds for a human's decision.
 * BLOCK is a 200: a decision, not an error.
 */
import type { Hono } from 'hono';
import { normalizeParams, recordDecision, waitForEscalation } from '../../policy/index.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest, forbidden, GatewayRequestError } from '../errors.js';
import { type GatewayEnv, principalOf, readJson, stringField, traceField, waitSeconds } from '../http.js';
import { executionOfDecision, executionOfEscalation } from '../json.js';

export function executeRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  app.post('/v1/execute', async (c) => {
    const principal = principalOf(c, 'agent', 'admin');
    const body = await readJson(c);
    const action = stringField(body, 'action', { required: true }) as string;
    const agentId = agentOf(principal.agentId, body);
    if (
      body.params !== undefined &&
      (body.params === null || typeof body.params !== 'object' || Array.isArray(body.params))
    ) {
      throw new GatewayRequestError(400, 'invalid_params', 'params must be a JSON object of named params');
    }
    const params = normalizeParams(body.params ?? {}); // PolicyInputError → 400 invalid_params
    const sessionId = stringField(body, 'sessionId', { nullable: true }) ?? null;
    const trace = traceField(body) ?? { traceId: null, spanId: null };
    const wait = waitSeconds(body.wait, 'wait', 'body');

    const recorded = await deps.sessions.run(
      sessionId === null ? null : `${principal.tenant}\u0000${sessionId}`,
      async () => {
        const setup = await deps.engines.setup(deps.store, principal.tenant, sessionId);
        return recordDecision(deps.store, setup.evaluator, {
          tenant: principal.tenant,
          agentId,
          action,
          params,
          sessionId,
          session: setup.session,
          trace,
          redact: deps.redact,
        });
      },
    );
    const { decision: d, eventId, escalation } = recorded;
    const logged = { agent_id: agentId, action, decision: d.decision, mode: d.mode, event_id: eventId };
    // On the request's one log line (app.ts): a line of its own per decision cost a write each.
    // A decision about to be held for a human is logged now, not when the wait ends.
    if (escalation !== undefined && wait > 0)
      deps.log.info('decision', { tenant: principal.tenant, ...logged });
    else c.set('logFields', logged);
    if (escalation === undefined || wait === 0) {
      return c.json(executionOfDecision(d, { action, eventId, sessionId }, escalation));
    }
    const row = await waitForEscalation(deps.store, deps.notifier, escalation.id, deps.pollMs, wait * 1000);
    return c.json(executionOfEscalation(row));
  });
}

/** The agent a request acts as: a bound key's agent (a different body agentId is 403). */
export function agentOf(bound: string | null, body: Record<string, unknown>): string {
  const given = stringField(body, 'agentId', { max: 200, nullable: true });
  if (bound !== null) {
    if (given !== undefined && given !== bound) {
      throw forbidden(`this key acts as agent ${JSON.stringify(bound)} only, not ${JSON.stringify(given)}`);
    }
    return bound;
  }
  if (given === undefined) throw badRequest('agentId is required (this key is not bound to an agent)');
  return given;
}
