/**
 * Escalations: list, read (optionally long-polling until decided or expired), approve,
 * reject, decide a batch. Every query is scoped to the key's tenant (another tenant's id is
 * the same 404 as an unknown one); an agent key sees only its own agent's escalations. A
 * pending escalation past its expiry is marked `expired` by whoever reads it first.
 */
import type { Hono } from 'hono';
import { EscalationError } from '../../errors/index.js';
import {
  decideEscalation,
  type Escalation,
  type EscalationStatus,
  expireEscalation,
  getEscalation,
  listEscalations,
  waitForEscalation,
} from '../../policy/index.js';
import { isUuid } from '../../record/index.js';
import { type ApiPrincipal, reviewerOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest, GatewayRequestError, notFound } from '../errors.js';
import {
  cursorQuery,
  type GatewayEnv,
  idParam,
  limitQuery,
  nextCursor,
  principalOf,
  readJson,
  stringField,
  waitSeconds,
} from '../http.js';
import { escalationJson } from '../json.js';

const STATUSES = new Set(['pending', 'approved', 'rejected', 'expired']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function escalationRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  const { store } = deps;

  /** The row if this principal may see it, with a due expiry applied; else 404. */
  const visible = async (p: ApiPrincipal, id: string): Promise<Escalation> => {
    const row = await getEscalation(store, id);
    if (row === null || row.orgId !== p.tenant || !mayRead(p, row)) throw notFound('escalation');
    return expireIfDue(row);
  };

  const expireIfDue = async (row: Escalation): Promise<Escalation> => {
    if (row.status !== 'pending' || row.remainingMs > 0) return row;
    try {
      const changed = await expireEscalation(store, row.id);
      return changed?.escalation ?? row;
    } catch (err) {
      // Decided in the meantime: read what won.
      if (err instanceof EscalationError && err.reason === 'conflict')
        return (await getEscalation(store, row.id)) ?? row;
      throw err;
    }
  };

  app.get('/v1/escalations', async (c) => {
    const p = principalOf(c, 'agent', 'reviewer', 'admin');
    const status = c.req.query('status');
    if (status !== undefined && status !== '' && !STATUSES.has(status)) {
      throw badRequest('status must be pending, approved, rejected or expired');
    }
    const limit = limitQuery(c);
    const rows = await listEscalations(store, {
      orgId: p.tenant,
      status: status ? (status as EscalationStatus) : undefined,
      agentId: p.role === 'agent' && p.agentId !== null ? p.agentId : undefined,
      afterId: cursorQuery(c),
      limit,
    });
    const shown = await Promise.all(rows.map(expireIfDue));
    return c.json({ escalations: shown.map(escalationJson), nextCursor: nextCursor(rows, limit) });
  });

  app.get('/v1/escalations/:id', async (c) => {
    const p = principalOf(c, 'agent', 'reviewer', 'admin');
    const id = idParam(c, 'id', 'escalation');
    const wait = waitSeconds(c.req.query('wait'), 'wait', 'query');
    const row = await visible(p, id);
    if (row.status !== 'pending' || wait === 0) return c.json(escalationJson(row));
    return c.json(
      escalationJson(await waitForEscalation(store, deps.notifier, id, deps.pollMs, wait * 1000)),
    );
  });

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/v1/escalations/:id/${decision}`, async (c) => {
      const p = principalOf(c, 'reviewer', 'admin');
      const id = idParam(c, 'id', 'escalation');
      const body = await readJson(c);
      const reason = stringField(body, 'reason', { required: true, max: 2000 }) as string;
      const paramsSha256 = body.paramsSha256;
      if (
        paramsSha256 !== undefined &&
        (typeof paramsSha256 !== 'string' || !SHA256_HEX.test(paramsSha256))
      ) {
        throw badRequest('paramsSha256 must be 64 lower-case hex digits');
      }
      const row = await decide(p, id, decision, reason, paramsSha256 as string | undefined);
      return c.json(escalationJson(row));
    });
  }

  app.post('/v1/escalations/decide', async (c) => {
    const p = principalOf(c, 'reviewer', 'admin');
    const body = await readJson(c);
    const ids = body.ids;
    if (
      !Array.isArray(ids) ||
      ids.length < 1 ||
      ids.length > 100 ||
      !ids.every((i) => typeof i === 'string')
    ) {
      throw badRequest('ids must be an array of 1-100 escalation ids');
    }
    if (body.decision !== 'approve' && body.decision !== 'reject') {
      throw badRequest('decision must be "approve" or "reject"');
    }
    const decision = body.decision;
    const reason = stringField(body, 'reason', { required: true, max: 2000 }) as string;
    const results: { id: string; ok: boolean; status?: string; error?: { code: string; message: string } }[] =
      [];
    // One by one: each is its own transaction, and a conflict on one never touches another.
    for (const raw of ids as string[]) {
      try {
        if (!isUuid(raw)) throw notFound('escalation');
        const row = await decide(p, raw.toLowerCase(), decision, reason, undefined);
        results.push({ id: raw, ok: true, status: row.status });
      } catch (err) {
        if (!(err instanceof GatewayRequestError)) throw err;
        const status = (err.details.body?.escalation as { status?: string } | undefined)?.status;
        results.push({
          id: raw,
          ok: false,
          ...(status ? { status } : {}),
          error: { code: err.apiCode, message: err.message },
        });
      }
    }
    return c.json({ results });
  });

  /** One decision; GatewayRequestError 404 / 409 (with the escalation) / 400. */
  async function decide(
    p: ApiPrincipal,
    id: string,
    decision: 'approve' | 'reject',
    reason: string,
    paramsSha256: string | undefined,
  ): Promise<Escalation> {
    try {
      const { escalation } = await decideEscalation(store, {
        id,
        decision,
        reviewer: reviewerOf(p),
        reason,
        paramsSha256,
        orgId: p.tenant,
      });
      deps.log.info('escalation decided', { tenant: p.tenant, escalation_id: id, status: escalation.status });
      return escalation;
    } catch (err) {
      if (!(err instanceof EscalationError)) throw err;
      if (err.reason === 'not-found') throw notFound('escalation');
      if (err.reason === 'invalid') throw badRequest(err.message);
      // conflict (decided, expired) or params-mismatch: 409 with the row as it now stands.
      const now = await getEscalation(store, id);
      const shown = now === null ? null : await expireIfDue(now);
      throw new GatewayRequestError(409, 'conflict', conflictMessage(err, shown), {
        body: shown === null ? {} : { escalation: escalationJson(shown) },
      });
    }
  }
}

function mayRead(p: ApiPrincipal, row: Escalation): boolean {
  // An agent key bound to an agent sees that agent's escalations; an unbound agent key may act
  // as any agent of its tenant, so it sees theirs.
  return p.role !== 'agent' || p.agentId === null || row.agentId === p.agentId;
}

function conflictMessage(err: EscalationError, row: Escalation | null): string {
  if (err.reason === 'params-mismatch') return `the escalation holds other params: ${err.message}`;
  if (row !== null && row.status !== 'pending')
    return `the escalation is no longer pending: it is ${row.status}`;
  return err.message;
}
