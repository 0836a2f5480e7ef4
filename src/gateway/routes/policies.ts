/**
 * GET /v1/policies (admin; reviewer read-only) — the serving set and its history;
 * PUT /v1/policies (admin) — a new version, refused with policy id / line / column when it
 * does not compile or validate (the serving set is untouched).
 */
import type { Hono } from 'hono';
import { reviewerOf } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest } from '../errors.js';
import { type GatewayEnv, principalOf, readJson } from '../http.js';
import { currentPolicySet, policyHistory, putPolicySet } from '../policy-sets.js';

export function policyRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  const { store } = deps;

  app.get('/v1/policies', async (c) => {
    const p = principalOf(c, 'reviewer', 'admin');
    const current = await currentPolicySet(store, p.tenant);
    const history = await policyHistory(store, p.tenant);
    return c.json({
      version: current?.version ?? null,
      digest: current?.digest ?? null,
      text: current?.text ?? null,
      schema: current?.schema ?? null,
      updatedAt: current?.createdAt.toISOString() ?? null,
      history: history.map((h) => ({
        version: h.version,
        digest: h.digest,
        createdAt: h.createdAt.toISOString(),
        createdBy: h.createdBy,
      })),
    });
  });

  app.put('/v1/policies', async (c) => {
    const p = principalOf(c, 'admin');
    const body = await readJson(c);
    if (typeof body.text !== 'string') throw badRequest('text must be the Cedar policy text');
    if (body.schema !== undefined && body.schema !== null && typeof body.schema !== 'string') {
      throw badRequest('schema must be Cedar schema text or null');
    }
    // PolicySetError → 400 policy_invalid with the problems (app.ts).
    const set = await putPolicySet(store, {
      tenant: p.tenant,
      text: body.text,
      schema: (body.schema as string | null | undefined) ?? null,
      createdBy: reviewerOf(p),
    });
    // This replica decides with the new version from now on; others learn by NOTIFY.
    deps.engines.invalidate(p.tenant);
    deps.log.info('policy set', { tenant: p.tenant, version: set.version, digest: set.digest });
    return c.json({ version: set.version, digest: set.digest });
  });
}
