/**
 * gateway — the self-hosted, multi-tenant policy gateway (`provably gateway`): tenants and API
 * keys, POST /v1/execute decided by each tenant's Cedar policy set, escalations held for
 * reviewers with long-poll waits, the audit trail and its proofs over REST. Stateless over the
 * store: any number of replicas on one PostgreSQL. Sits on top of policy, ledger and store.
 */
export {
  createGatewayApp,
  GATEWAY_BODY_LIMIT_BYTES,
  type GatewayApp,
  type GatewayAppOptions,
} from './app.js';
export {
  API_KEY_HEADER,
  API_KEY_HEADER_COMPAT,
  API_ROLES,
  type ApiKeyInfo,
  type ApiPrincipal,
  type ApiRole,
  apiKeySha256,
  type CreateApiKeyInput,
  createApiKey,
  generateApiKey,
  hasRole,
  listApiKeys,
  resolveApiKey,
  reviewerOf,
  revokeApiKey,
} from './auth.js';
export { NO_POLICY_REASON, NO_POLICY_VERSION, TenantEngines } from './engines.js';
export { type ApiErrorCode, GatewayRequestError } from './errors.js';
export type { ExecutionJson } from './json.js';
export { DEFAULT_KEY_CACHE_MS, KeyCache } from './key-cache.js';
export { openApiDocument } from './openapi.js';
export {
  currentPolicySet,
  type PolicySetSummary,
  type PolicySetVersion,
  policyHistory,
  putPolicySet,
} from './policy-sets.js';
export { AGENT_REPORTED_VERSION, FAIL_OPEN_REASON } from './routes/events.js';
export {
  DEFAULT_GATEWAY_HOST,
  DEFAULT_GATEWAY_PORT,
  type GatewayServerOptions,
  type RunningGatewayServer,
  startGatewayServer,
} from './serve.js';
export { DEFAULT_SWEEP_MS, type ExpirySweep, startExpirySweep } from './sweep.js';
export { createTenant, getTenant, listTenants, type Tenant, tenantIdFromName } from './tenants.js';
