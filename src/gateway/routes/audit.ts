/**
 * The audit trail over REST (reviewer, admin): decision events with filters and cursor paging,
 * one event with what explains it (its policy text, its escalation, what followed it, the HTTP
 * records of its trace), and its inclusion proof under a signed checkpoint.
 */
import type { Hono } from 'hono';
import {
  DECISION_LEAF_COLUMNS,
  type DecisionLeafRow,
  decisionLeafBytes,
  ensureCheckpoint,
  inclusionProof,
} from '../../ledger/index.js';
import {
  childEvents,
  type Decision,
  escalationOfEvent,
  getDecisionEvent,
  getEscalation,
  listDecisionEvents,
} from '../../policy/index.js';
import { listIntercepts } from '../../record/index.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest, GatewayRequestError, notFound } from '../errors.js';
import { cursorQuery, type GatewayEnv, idParam, limitQuery, nextCursor, principalOf } from '../http.js';
import { decisionEventJson, escalationJson, interceptJson } from '../json.js';
import { policySetByDigest } from '../policy-sets.js';
import { isStorableText } from '../text.js';

const DECISIONS = new Set(['ALLOW', 'BLOCK', 'ESCALATE']);

export function auditRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  const { store } = deps;

  app.get('/v1/audit', async (c) => {
    const p = principalOf(c, 'reviewer', 'admin');
    const q = (k: string) => {
      const v = c.req.query(k);
      if (v === undefined || v === '') return undefined;
      if (v.length > 256 || !isStorableText(v)) throw badRequest(`${k} is not a usable filter`);
      return v;
    };
    const decision = q('decision');
    if (decision !== undefined && !DECISIONS.has(decision))
      throw badRequest('decision must be ALLOW, BLOCK or ESCALATE');
    const limit = limitQuery(c);
    const rows = await listDecisionEvents(store, {
      orgId: p.tenant,
      agentId: q('agent'),
      actionName: q('action'),
      decision: decision as Decision | undefined,
      sessionId: q('session'),
      since: timeQuery(q('since'), 'since'),
      until: timeQuery(q('until'), 'until'),
      afterId: cursorQuery(c),
      limit,
    });
    return c.json({ events: rows.map(decisionEventJson), nextCursor: nextCursor(rows, limit) });
  });

  app.get('/v1/audit/:eventId', async (c) => {
    const p = principalOf(c, 'reviewer', 'admin');
    const id = idParam(c, 'eventId', 'event');
    const event = await getDecisionEvent(store, id);
    if (event === null || event.orgId !== p.tenant) throw notFound('event');
    const policy = await policySetByDigest(store, p.tenant, event.policyVersion);
    const escalation =
      event.escalationId !== null
        ? await getEscalation(store, event.escalationId)
        : event.decision === 'ESCALATE'
          ? await escalationOfEvent(store, event.id)
          : null;
    // What followed: the escalation's end (a child of the ESCALATE event) and the outcomes of
    // whatever let the call run (children of the ALLOW, or of the approval).
    const outcomes = await childEvents(store, event.id);
    const end = escalation?.decisionEventId;
    if (end && end !== event.id && !outcomes.some((o) => o.id === end)) {
      const endEvent = await getDecisionEvent(store, end);
      if (endEvent) outcomes.push(endEvent);
    }
    if (end && end !== event.id) outcomes.push(...(await childEvents(store, end)));
    const records =
      event.traceId === null
        ? []
        : await listIntercepts(store, {
            orgId: p.tenant,
            traceId: event.traceId,
            order: 'asc',
            withBody: false,
            limit: 1000,
          });
    return c.json({
      event: decisionEventJson(event),
      policy:
        policy === null
          ? null
          : { version: policy.version, digest: policy.digest, text: policy.text, schema: policy.schema },
      escalation: escalation === null ? null : escalationJson(escalation),
      outcomes: outcomes.map(decisionEventJson),
      records: records.map(interceptJson),
    });
  });

  app.get('/v1/audit/:eventId/proof', async (c) => {
    const p = principalOf(c, 'reviewer', 'admin');
    const id = idParam(c, 'eventId', 'event');
    const res = await store.query<Record<string, unknown>>(
      `SELECT ${DECISION_LEAF_COLUMNS.map((k) => `d.${k}`).join(', ')}, l.leaf_index
       FROM provably_decisions d JOIN provably_ledger_leaves l ON l.record_id = d.id
       WHERE d.id = $1 AND d.org_id = $2`,
      [id, p.tenant],
    );
    const row = res.rows[0];
    if (row === undefined) throw notFound('event');
    if (deps.signer === undefined) {
      throw new GatewayRequestError(
        503,
        'unavailable',
        'this gateway has no signing key (started with --no-checkpoints)',
      );
    }
    const checkpoint = await ensureCheckpoint(store, p.tenant, deps.signer());
    const proof = await inclusionProof(store, p.tenant, id, checkpoint.tree_size);
    const { id: _checkpointId, ...signed } = checkpoint;
    const leafIndex = Number(row.leaf_index);
    const content = JSON.parse(
      Buffer.from(decisionLeafBytes(row as DecisionLeafRow, leafIndex)).toString('utf8'),
    );
    return c.json({
      event_id: id,
      record: content,
      leaf_index: proof.leafIndex,
      leaf_hash: proof.leafHash,
      inclusion_proof: proof.proof,
      tree_size: proof.treeSize,
      root_hash: proof.rootHash,
      checkpoint: signed,
    });
  });
}

function timeQuery(v: string | undefined, name: string): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
    throw badRequest(`${name} must be an ISO 8601 time`);
  return d;
}
