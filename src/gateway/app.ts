/**
 * The gateway as a Hono app: API-key auth (principal in the context), per-route roles, a 1 MiB
 * body limit, one JSON log line per request, and one error mapping — a refusal is always
 * `{ "error": { "code", "message" } }` with a 4xx; 503 when the store cannot answer; 500 only
 * when provably itself failed (logged).
 */
import { Hono } from 'hono';
import { createDashboardApp } from '../dashboard/index.js';
import {
  PolicyInputError,
  PolicySetError,
  ProvablyConfigError,
  ProvablyStoreError,
} from '../errors/index.js';
import type { Signer } from '../ledger/index.js';
import { EscalationNotifier, type PolicyMode, readRedactParams } from '../policy/index.js';
import { type ServiceLog, storeProblem } from '../server/index.js';
import type { Store } from '../store/types.js';
import { API_KEY_HEADER, API_KEY_HEADER_COMPAT, isApiKeyActive, resolveApiKey } from './auth.js';
import { requestBodyLimit } from './body-limit.js';
import type { GatewayDeps } from './deps.js';
import { TenantEngines } from './engines.js';
import { GatewayRequestError } from './errors.js';
import type { GatewayEnv } from './http.js';
import { DEFAULT_KEY_CACHE_MS, KeyCache } from './key-cache.js';
import { openApiDocument } from './openapi.js';
import { PolicyChangeListener } from './policy-changes.js';
import { currentPolicySet, policyHistory, policySetByDigest, putPolicySet } from './policy-sets.js';
import { apiKeyRoutes } from './routes/apikeys.js';
import { auditRoutes } from './routes/audit.js';
import { escalationRoutes } from './routes/escalations.js';
import { eventRoutes } from './routes/events.js';
import { executeRoutes } from './routes/execute.js';
import { policyRoutes } from './routes/policies.js';
import { SessionQueue } from './session-queue.js';

export const GATEWAY_BODY_LIMIT_BYTES = 1024 * 1024;
const HEALTH_TIMEOUT_MS = 2_000;

export interface GatewayAppOptions {
  store: Store;
  log: ServiceLog;
  /** Signs the checkpoint a proof is given under (loaded on first use). */
  signer?: () => Signer;
  /** enforce or log_only for every tenant (default PROVABLY_POLICY_MODE). */
  mode?: PolicyMode;
  /** Default PROVABLY_REDACT_PARAMS. */
  redactParams?: readonly string[];
  /** How often a long-poll re-reads its row without a notification (default 1000 ms). */
  pollMs?: number;
  bodyLimitBytes?: number;
  /** How long a resolved API key is remembered (default 1000 ms; 0: every request looks it up). */
  keyCacheMs?: number;
  /**
   * How long a tenant's serving policy version is trusted without a change notification
   * (default 1000 ms; 0: read on every execute). Changes through this gateway apply at once,
   * through another replica when its NOTIFY arrives, and within this bound when one is lost.
   */
  policyRefreshMs?: number;
}

export interface GatewayApp {
  app: Hono<GatewayEnv>;
  /** Settles once the policy change listener is active (or has failed and retries). Never rejects. */
  ready: Promise<void>;
  /** Stops the escalation listener. */
  close(): Promise<void>;
}

export function createGatewayApp(options: GatewayAppOptions): GatewayApp {
  const { store, log } = options;
  const limit = options.bodyLimitBytes ?? GATEWAY_BODY_LIMIT_BYTES;
  const notifier = new EscalationNotifier(store);
  const engines = new TenantEngines({ mode: options.mode, refreshMs: options.policyRefreshMs });
  const policyChanges = new PolicyChangeListener(store, engines);
  const ready = policyChanges.start();
  const deps: GatewayDeps = {
    store,
    log,
    engines,
    sessions: new SessionQueue(),
    keys: new KeyCache(options.keyCacheMs ?? DEFAULT_KEY_CACHE_MS),
    notifier,
    redact: options.redactParams ?? readRedactParams(),
    pollMs: options.pollMs ?? 1000,
    signer: options.signer,
  };
  const app = new Hono<GatewayEnv>();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const principal = c.get('principal') as GatewayEnv['Variables']['principal'] | undefined;
    log.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(principal ? { tenant: principal.tenant, key: principal.keyPrefix } : {}),
      ...c.get('logFields'),
    });
  });

  app.use(requestBodyLimit(limit));

  app.get('/healthz', async (c) => {
    const problem = await storeProblem(store, HEALTH_TIMEOUT_MS);
    if (problem === null) return c.json({ ok: true, store: store.backend });
    log.error('store unhealthy', { reason: problem });
    return c.json({ ok: false, store: store.backend, reason: problem }, 503);
  });
  // Liveness: the process answers HTTP (no key, no store). Readiness is /healthz.
  app.get('/livez', (c) => c.json({ ok: true }));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));

  // The reviewer dashboard (src/dashboard): browser sessions by cookie, not the API key header.
  // Its sign-in and revocation checks read the key table directly (not the key cache): a key
  // revoked on another replica cannot open or keep a session for even the cache's second.
  app.get('/ui/', (c) => c.redirect('/ui', 301));
  app.route(
    '/ui',
    createDashboardApp({
      store,
      resolveApiKey,
      isKeyActive: isApiKeyActive,
      signer: options.signer,
      policies: {
        current: currentPolicySet,
        history: policyHistory,
        put: async (q, input) => {
          const set = await putPolicySet(q, input);
          engines.invalidate(input.tenant); // this replica decides with it at once
          return set;
        },
        byDigest: policySetByDigest,
      },
    }),
  );

  app.use('/v1/*', async (c, next) => {
    const key = c.req.header(API_KEY_HEADER) ?? c.req.header(API_KEY_HEADER_COMPAT);
    if (key === undefined || key === '') {
      throw new GatewayRequestError(
        401,
        'unauthorized',
        `missing API key: send it in the ${'X-Provably-Api-Key'} header`,
      );
    }
    const principal = await deps.keys.resolve(store, key);
    if (principal === null) throw new GatewayRequestError(401, 'unauthorized', 'unknown or revoked API key');
    c.set('principal', principal);
    await next();
  });

  executeRoutes(app, deps);
  escalationRoutes(app, deps);
  eventRoutes(app, deps);
  auditRoutes(app, deps);
  policyRoutes(app, deps);
  apiKeyRoutes(app, deps);

  app.notFound((c) =>
    c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    const e = toRequestError(err);
    if (e.status >= 500) {
      log.error('request failed', {
        method: c.req.method,
        path: c.req.path,
        status: e.status,
        error: String((err as Error)?.message ?? err),
      });
    }
    return c.json(
      { ...e.details.body, error: { code: e.apiCode, message: e.message, ...e.details.error } },
      e.status,
    );
  });
  return {
    app,
    ready,
    close: async () => {
      await Promise.all([notifier.close(), policyChanges.close()]);
    },
  };
}

function toRequestError(err: unknown): GatewayRequestError {
  if (err instanceof GatewayRequestError) return err;
  if (err instanceof PolicyInputError) return new GatewayRequestError(400, 'invalid_params', err.message);
  if (err instanceof PolicySetError) {
    return new GatewayRequestError(400, 'policy_invalid', err.message, {
      error: {
        problems: err.problems.map((p) => ({
          policyId: p.policyId ?? null,
          line: p.line ?? null,
          column: p.column ?? null,
          message: p.message,
        })),
      },
    });
  }
  if (err instanceof ProvablyConfigError) return new GatewayRequestError(400, 'bad_request', err.message);
  if (err instanceof ProvablyStoreError) {
    return new GatewayRequestError(503, 'unavailable', `the store cannot serve this request: ${err.message}`);
  }
  return new GatewayRequestError(
    500,
    'internal',
    `internal error: ${String((err as Error)?.message ?? err)}`,
  );
}
