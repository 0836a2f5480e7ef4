/**
 * The eval service as a Hono app: receives handoff payloads over HTTP, evaluates them, keeps
 * every verdict in provably_evaluations. Bad input is always a 4xx with the reason; a 500 means
 * provably itself failed (and is logged).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { EvaluationResult } from '../eval/index.js';
import {
  canonicalPayloadJson,
  type HandoffPayload,
  ProvablyHandoffSchemaError,
  type SchemaIssue,
  validateHandoffPayload,
} from '../handoff/index.js';
import { isUuid } from '../record/index.js';
import type { Store } from '../store/index.js';
import { getEvaluation, saveEvaluation } from './evaluations.js';
import type { ServiceLog } from './log.js';

export const DEFAULT_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
const HEALTH_TIMEOUT_MS = 2_000;

/** Why the store cannot serve (a failed or slow `SELECT 1`), or null. Never throws. */
export async function storeProblem(store: Store, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the store did not answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
  });
  const probe = store.query('SELECT 1').then(
    () => null,
    (err: unknown) => `the store cannot be queried: ${err instanceof Error ? err.message : String(err)}`,
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface EvalAppOptions {
  store: Store;
  /** Evaluates one schema-valid payload (the CLI wires the ledger's verifier and trusted keys). */
  evaluate(payload: HandoffPayload): Promise<EvaluationResult>;
  bodyLimitBytes?: number;
  log: ServiceLog;
}

export function createEvalApp(options: EvalAppOptions): Hono {
  const { store, log } = options;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    log.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  // Ready means able to evaluate and keep a verdict: the store answers a query in time. A load
  // balancer must stop sending handoffs to a service whose database is gone (each would be a
  // 500), so an unreachable store is 503, with the reason.
  app.get('/healthz', async (c) => {
    const problem = await storeProblem(store, HEALTH_TIMEOUT_MS);
    if (problem === null) return c.json({ ok: true, store: store.backend });
    log.error('store unhealthy', { reason: problem });
    return c.json({ ok: false, store: store.backend, reason: problem }, 503);
  });

  app.post(
    '/handoffs/receive',
    bodyLimit({
      maxSize: limit,
      onError: (c) => c.json({ error: 'payload too large', limit_bytes: limit }, 413),
    }),
    async (c) => {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch (err) {
        return c.json(
          { error: 'malformed JSON', reason: err instanceof Error ? err.message : String(err) },
          400,
        );
      }
      const check = validateHandoffPayload(body);
      if (!check.ok)
        return c.json({ error: 'payload does not match the handoff schema', issues: check.issues }, 400);
      const payload = check.value;
      // Bad input is a 4xx, never a 500 (bug fix): a string RFC 8785 cannot represent (a lone
      // surrogate) used to throw from canonicalPayloadJson only when the verdict was saved, and
      // U+0000 in a stored string made PostgreSQL refuse the INSERT — both after evaluating.
      let canonical: string;
      try {
        canonical = canonicalPayloadJson(payload);
      } catch (err) {
        if (!(err instanceof ProvablyHandoffSchemaError)) throw err;
        return c.json({ error: 'payload does not match the handoff schema', issues: err.issues }, 400);
      }
      const unstorable = unstorableStrings(payload);
      if (unstorable.length > 0)
        return c.json({ error: 'payload holds strings the store cannot keep', issues: unstorable }, 400);
      const result = await options.evaluate(payload);
      const saved = await saveEvaluation(store, payload, canonical, result);
      log.info('evaluated', {
        evaluation_id: saved.id,
        org_id: saved.org_id,
        outcome: result.outcome,
        claims: saved.claim_count,
      });
      return c.json({ evaluation_id: saved.id, ...result });
    },
  );

  app.get('/evaluations/:id', async (c) => {
    const id = c.req.param('id');
    if (!isUuid(id)) return c.json({ error: 'evaluation id must be a UUID' }, 400);
    const found = await getEvaluation(store, id);
    return found ? c.json(found) : c.json({ error: 'no such evaluation' }, 404);
  });

  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((err, c) => {
    log.error('request failed', { method: c.req.method, path: c.req.path, error: err.message });
    return c.json({ error: 'internal error', reason: err.message }, 500);
  });
  return app;
}

/**
 * The payload strings the service stores as they are (provably_evaluations columns, and the
 * verdict's per-claim fields) that PostgreSQL cannot hold: text and jsonb refuse U+0000.
 */
function unstorableStrings(payload: HandoffPayload): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const check = (path: string, value: unknown) => {
    if (typeof value === 'string' && value.includes('\u0000'))
      issues.push({ path, message: 'contains U+0000, which the store cannot keep' });
  };
  check('/provably_org_id', payload.provably_org_id);
  check('/run_id', payload.run_id);
  check('/task', payload.task);
  payload.claims.forEach((claim, i) => {
    check(`/claims/${i}/action_name`, claim.action_name);
    check(`/claims/${i}/json_path`, claim.json_path);
  });
  return issues;
}
