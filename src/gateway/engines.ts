/**
 * Which policy decides for a tenant, and the session counts it sees. Compiled engines are
 * cached per tenant and replaced only when the version changes (Cedar parses a set once, then
 * evaluates many times).
 *
 * The serving VERSION is not read on every execute: a tenant's entry is trusted for
 * `refreshMs` (default 1 s) after the read that produced it STARTED, and dropped at once when
 * the tenant's policy changes — through this gateway (invalidate, before the PUT answers) or
 * another replica (a NOTIFY on channel provably_policy_sets, policy-changes.ts). So a decision
 * is made with a version that was the tenant's newest at some instant at most `refreshMs`
 * before it, even when a notification is lost; with notifications flowing, within the
 * notification's delivery time. The decision records the version that made it.
 *
 * The session's COUNTS are read per execute, and only when a policy of the serving set can
 * read `context.session` (and the call has a session): a cap must see every decision before
 * it (one gateway serializes a session's calls, session-queue.ts).
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
import { DEFAULT_POLICY_REFRESH_MS } from './defaults.js';
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

interface Entry {
  version: number;
  evaluator: DecisionEvaluator;
  /** Whether a policy of the set can read context.session (else the counts are not read). */
  readsSession: boolean;
  /** When the read that found this version started (performance.now()). */
  readAt: number;
  /** #tick when that read started: a later invalidation makes the entry stale. */
  seen: number;
}

// Escalation ends count too: an approval as allowed, a rejection or expiry as blocked; a
// log-only decision as allowed, since the call proceeded.
const COUNTS = `count(*) FILTER (WHERE decision = 'ALLOW' OR mode = 'log_only') AS allowed,
         count(*) FILTER (WHERE decision = 'BLOCK' AND mode = 'enforce') AS blocked,
         count(*) FILTER (WHERE decision = 'ESCALATE' AND mode = 'enforce') AS escalated
       FROM provably_decisions
       WHERE $2::text IS NOT NULL AND org_id = $1 AND session_id = $2
         AND event_type IN ('decision', 'escalation')`;

export class TenantEngines {
  readonly #mode: PolicyMode | undefined;
  readonly #refreshMs: number;
  readonly #cache = new Map<string, Entry>();
  /** Invalidation clock: bumped by every invalidation. */
  #tick = 0;
  readonly #invalidated = new Map<string, number>();
  #allInvalidated = 0;

  /**
   * `mode`: enforce or log_only for every tenant (default PROVABLY_POLICY_MODE).
   * `refreshMs`: how long a tenant's serving version is trusted without a change notice
   * (default 1000; 0: read it on every execute).
   */
  constructor(options: { mode?: PolicyMode; refreshMs?: number } = {}) {
    this.#mode = options.mode;
    this.#refreshMs = options.refreshMs ?? DEFAULT_POLICY_REFRESH_MS;
  }

  /** The tenant's policy changed: the next execute reads the serving version again. */
  invalidate(tenant: string): void {
    this.#tick++;
    if (this.#invalidated.size >= MAX_CACHED_TENANTS) {
      // Bounded memory: forgetting per-tenant marks is safe when everything is invalidated.
      this.#invalidated.clear();
      this.#allInvalidated = this.#tick;
    } else {
      this.#invalidated.set(tenant, this.#tick);
    }
  }

  /** Changes may have gone unnoticed (the listener dropped or just started): read again. */
  invalidateAll(): void {
    this.#tick++;
    this.#invalidated.clear();
    this.#allInvalidated = this.#tick;
  }

  /** The evaluator for the tenant's current version and the session's counts so far. */
  async setup(q: Queryable, tenant: string, sessionId: string | null): Promise<DecisionSetup> {
    const entry = this.#fresh(tenant);
    if (entry !== undefined) {
      const session =
        sessionId !== null && entry.readsSession ? await this.#counts(q, tenant, sessionId) : zero(sessionId);
      return { evaluator: entry.evaluator, version: entry.version, session };
    }
    const seen = this.#tick;
    const readAt = performance.now();
    // One round trip: the serving version and, for a session, its counts.
    const res = await q.query<Record<string, unknown>>(
      `SELECT (SELECT max(version) FROM provably_policy_sets WHERE tenant = $1) AS version, ${COUNTS}`,
      [tenant, sessionId],
    );
    const row = res.rows[0] ?? {};
    const version = row.version === null || row.version === undefined ? 0 : Number(row.version);
    const next = await this.#entry(q, tenant, version, seen, readAt);
    return { evaluator: next.evaluator, version, session: countsOf(sessionId, row) };
  }

  #fresh(tenant: string): Entry | undefined {
    const e = this.#cache.get(tenant);
    if (e === undefined || this.#refreshMs <= 0) return undefined;
    if (performance.now() - e.readAt >= this.#refreshMs) return undefined;
    const invalidated = Math.max(this.#allInvalidated, this.#invalidated.get(tenant) ?? 0);
    return e.seen >= invalidated ? e : undefined;
  }

  async #counts(q: Queryable, tenant: string, sessionId: string): Promise<SessionCounts> {
    const res = await q.query<Record<string, unknown>>(`SELECT ${COUNTS}`, [tenant, sessionId]);
    return countsOf(sessionId, res.rows[0] ?? {});
  }

  async #entry(q: Queryable, tenant: string, version: number, seen: number, readAt: number): Promise<Entry> {
    const cached = this.#cache.get(tenant);
    let next: Entry;
    if (cached !== undefined && cached.version === version) {
      next = { ...cached, seen, readAt };
    } else {
      const evaluator = await this.#compile(q, tenant, version);
      // No policy, or a set that does not compile: nothing reads the session.
      const readsSession = evaluator instanceof PolicyEngine ? evaluator.reads('session') : false;
      next = { version, evaluator, readsSession, seen, readAt };
    }
    // Newest wins a race between two requests that read different versions; of two reads of
    // one version, the later start keeps the entry fresh longer.
    const now = this.#cache.get(tenant);
    if (now === undefined || now.version < version || (now.version === version && now.seen <= seen)) {
      this.#cache.delete(tenant);
      if (this.#cache.size >= MAX_CACHED_TENANTS)
        this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(tenant, next);
    }
    return next;
  }

  async #compile(q: Queryable, tenant: string, version: number): Promise<DecisionEvaluator> {
    if (version === 0) return noPolicy;
    const set = await policySetVersion(q, tenant, version);
    if (set === null) return noPolicy; // cannot happen: the set is append-only
    try {
      return new PolicyEngine({
        policy: set.text,
        schema: set.schema ?? undefined,
        mode: this.#mode,
        watch: false,
      });
    } catch (err) {
      diag.warn(`policy set v${version} of tenant ${tenant} does not compile; blocking`, err);
      return broken(set.digest, (err as Error)?.message ?? String(err));
    }
  }
}

function zero(sessionId: string | null): SessionCounts {
  return { id: sessionId ?? '', allowed: 0, blocked: 0, escalated: 0 };
}

function countsOf(sessionId: string | null, row: Record<string, unknown>): SessionCounts {
  return {
    id: sessionId ?? '',
    allowed: Number(row.allowed ?? 0),
    blocked: Number(row.blocked ?? 0),
    escalated: Number(row.escalated ?? 0),
  };
}
