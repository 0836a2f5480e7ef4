/**
 * Which policy decides for a tenant, and the session counts it sees — read from the store on
 * every execute (one round trip), so every replica decides with the tenant's current version
 * and the same counts. Compiled engines are cached per tenant and replaced only when the
 * version changes (Cedar parses a set once, then evaluates many times).
 */
import { diag } from '../diag/index.js';
import {
  type DecisionEvaluator,
  type DecisionRequest,
  type PolicyDecision,
  PolicyEngine,
  type PolicyMode,
  type SessionCounts,
} from '../policy/index.js';
import type { Queryable } from '../store/types.js';
import { policySetVersion } from './policy-sets.js';

export const NO_POLICY_REASON = 'no policy set for tenant';
/** policy_version recorded for a decision made without any policy set. */
export const NO_POLICY_VERSION = 'none';

/** Default deny: a tenant without a policy set gets BLOCK for everything. */
const noPolicy: DecisionEvaluator = {
  evaluate: (): PolicyDecision => ({
    decision: 'BLOCK',
    reason: NO_POLICY_REASON,
    policyIds: [],
    policyVersion: NO_POLICY_VERSION,
    holdSeconds: undefined,
    mode: 'enforce',
  }),
};

/** A stored set that no longer compiles (e.g. a Cedar upgrade): fail closed, say why. */
function broken(digest: string, message: string): DecisionEvaluator {
  return {
    evaluate: (_r: DecisionRequest): PolicyDecision => ({
      decision: 'BLOCK',
      reason: `the tenant's policy set cannot be compiled (fail closed): ${message}`,
      policyIds: [],
      policyVersion: digest,
      holdSeconds: undefined,
      mode: 'enforce',
    }),
  };
}

export interface DecisionSetup {
  evaluator: DecisionEvaluator;
  /** The policy set version number serving (0: none). */
  version: number;
  session: SessionCounts;
}

const MAX_CACHED_TENANTS = 1000;

export class TenantEngines {
  readonly #mode: PolicyMode | undefined;
  readonly #cache = new Map<string, { version: number; evaluator: DecisionEvaluator }>();

  /** `mode`: enforce or log_only for every tenant (default PROVABLY_POLICY_MODE). */
  constructor(options: { mode?: PolicyMode } = {}) {
    this.#mode = options.mode;
  }

  /** The evaluator for the tenant's current version and the session's counts so far. */
  async setup(q: Queryable, tenant: string, sessionId: string | null): Promise<DecisionSetup> {
    // One round trip: the serving version and, for a session, its counts (decisions, and
    // escalation ends: an approval counts as allowed, a rejection or expiry as blocked; a
    // log-only decision as allowed, since the call proceeded).
    const res = await q.query<Record<string, unknown>>(
      `SELECT
         (SELECT max(version) FROM provably_policy_sets WHERE tenant = $1) AS version,
         count(*) FILTER (WHERE decision = 'ALLOW' OR mode = 'log_only') AS allowed,
         count(*) FILTER (WHERE decision = 'BLOCK' AND mode = 'enforce') AS blocked,
         count(*) FILTER (WHERE decision = 'ESCALATE' AND mode = 'enforce') AS escalated
       FROM provably_decisions
       WHERE $2::text IS NOT NULL AND org_id = $1 AND session_id = $2
         AND event_type IN ('decision', 'escalation')`,
      [tenant, sessionId],
    );
    const row = res.rows[0] ?? {};
    const version = row.version === null || row.version === undefined ? 0 : Number(row.version);
    const session: SessionCounts = {
      id: sessionId ?? '',
      allowed: Number(row.allowed ?? 0),
      blocked: Number(row.blocked ?? 0),
      escalated: Number(row.escalated ?? 0),
    };
    return { evaluator: await this.#evaluator(q, tenant, version), version, session };
  }

  async #evaluator(q: Queryable, tenant: string, version: number): Promise<DecisionEvaluator> {
    if (version === 0) return noPolicy;
    const cached = this.#cache.get(tenant);
    if (cached !== undefined && cached.version === version) return cached.evaluator;
    const set = await policySetVersion(q, tenant, version);
    if (set === null) return noPolicy; // cannot happen: the set is append-only
    let evaluator: DecisionEvaluator;
    try {
      evaluator = new PolicyEngine({
        policy: set.text,
        schema: set.schema ?? undefined,
        mode: this.#mode,
        watch: false,
      });
    } catch (err) {
      diag.warn(`policy set v${version} of tenant ${tenant} does not compile; blocking`, err);
      evaluator = broken(set.digest, (err as Error)?.message ?? String(err));
    }
    // Newest wins a race between two requests that compiled different versions.
    const now = this.#cache.get(tenant);
    if (now === undefined || now.version <= version) {
      this.#cache.delete(tenant);
      if (this.#cache.size >= MAX_CACHED_TENANTS)
        this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(tenant, { version, evaluator });
    }
    return evaluator;
  }
}
