/**
 * API keys over REST (admin, own tenant only): list, create (the key is in the answer once),
 * revoke. The first admin key of a tenant comes from the CLI (`provably apikeys create`).
 */
import type { Hono } from 'hono';
import { ProvablyConfigError } from '../../errors/index.js';
import {
  API_ROLES,
  type ApiKeyInfo,
  type ApiRole,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { badRequest, notFound } from '../errors.js';
import { type GatewayEnv, idParam, principalOf, readJson, stringField } from '../http.js';

export function apiKeyRoutes(app: Hono<GatewayEnv>, deps: GatewayDeps): void {
  const { store } = deps;

  app.get('/v1/apikeys', async (c) => {
    const p = principalOf(c, 'admin');
    return c.json({ apikeys: (await listApiKeys(store, { tenant: p.tenant })).map(apiKeyJson) });
  });

  app.post('/v1/apikeys', async (c) => {
    const p = principalOf(c, 'admin');
    const body = await readJson(c);
    if (!API_ROLES.includes(body.role as ApiRole)) throw badRequest('role must be agent, reviewer or admin');
    const name = stringField(body, 'name', { max: 200, nullable: true });
    const agentId = stringField(body, 'agentId', { max: 200, nullable: true });
    if (agentId !== undefined && body.role !== 'agent')
      throw badRequest('only an agent key can be bound to an agentId');
    let made: { key: string; info: ApiKeyInfo };
    try {
      made = await createApiKey(store, { tenant: p.tenant, role: body.role as ApiRole, name, agentId });
    } catch (err) {
      if (err instanceof ProvablyConfigError) throw badRequest(err.message);
      throw err;
    }
    deps.log.info('api key created', {
      tenant: p.tenant,
      prefix: made.info.prefix,
      role: made.info.role,
      by: p.keyPrefix,
    });
    return c.json({ key: made.key, ...apiKeyJson(made.info) }, 201);
  });

  app.post('/v1/apikeys/:id/revoke', async (c) => {
    const p = principalOf(c, 'admin');
    const id = idParam(c, 'id', 'API key');
    // Scoped first: another tenant's key is the same 404 as an unknown one, and is not touched.
    const mine = (await listApiKeys(store, { tenant: p.tenant })).find((k) => k.id === id);
    if (mine === undefined) throw notFound('API key');
    const revoked = (await revokeApiKey(store, id)) as ApiKeyInfo;
    deps.keys.forget(id);
    deps.log.info('api key revoked', { tenant: p.tenant, prefix: revoked.prefix, by: p.keyPrefix });
    return c.json(apiKeyJson(revoked));
  });
}

export function apiKeyJson(k: ApiKeyInfo) {
  return {
    id: k.id,
    tenant: k.tenant,
    role: k.role,
    name: k.name,
    agentId: k.agentId,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
