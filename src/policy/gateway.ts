/**
 * ProvablyGateway, local mode: policy decisions in-process (no server), every decision a
 * durable audit event and ledger leaf, escalations held in the store until a human decides
 * (another process, the CLI) or they expire.
 *
 *   const gateway = new ProvablyGateway({ agentId: 'billing-agent', policy: './policy.cedar' });
 *   const r = await gateway.execute('payments.initiate', { amount: 50 });   // throws on BLOCK
 *   const pay = gateway.guard('payments.initiate', async (amount, currency) => …);
 *   await gateway.session('sess_1', async (s) => { await s.execute(…); s.blockedCount; });
 *   await gateway.close();
 *
 * Fail closed: a decision that cannot be recorded is a GatewayError and nothing runs; a
 * guarded body runs only after ALLOW (directly, after approval, or in log-only mode) and
 * inside a provably scope, so its HTTP calls are trust-checked and recorded like any other.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { defaultOrgId } from '../config/index.js';
import { diag } from '../diag/index.js';
import {
  EscalationError,
  EscalationTimeoutError,
  GatewayError,
  PolicyBlockedError,
  ProvablyConfigError,
} from '../errors/index.js';
import { activeScope, activeSpanIds, interceptContext, selfEgress } from '../scope/index.js';
import { getDefaultStore, type ProvablyStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { type RecordedDecision, recordDecision } from './decide.js';
import { type Decision, PolicyEngine, type SessionCounts } from './engine.js';
import { type Escalation, getEscalation } from './escalations.js';
import type { ExecuteOptions, ProvablyGatewayOptions } from './gateway-options.js';
import { EscalationNotifier } from './notifier.js';
import { recordOutcome } from './outcome.js';
import { namedArguments, parameterNames } from './param-names.js';
import { normalizeParams, type Params, readRedactParams } from './params.js';
import { ExecutionResult } from './result.js';
import { PolicySession } from './session.js';
import { DEFAULT_POLL_MS, waitForEscalation } from './wait.js';

export type { ExecuteOptions, ProvablyGatewayOptions } from './gateway-options.js';

interface DecideOptions extends ExecuteOptions {
  trace?: { traceId: string | null; spanId: string | null };
  session?: PolicySession;
}

export class ProvablyGateway {
  readonly agentId: string;
  readonly tenant: string;
  readonly engine: PolicyEngine;
  readonly #store: Store;
  readonly #notifier: EscalationNotifier;
  readonly #redact: readonly string[];
  readonly #defaultSession: string | undefined;
  readonly #pollMs: number;
  readonly #sessions = new Map<string, SessionCounts>();
  readonly #current = new AsyncLocalStorage<PolicySession>();
  #closed = false;

  constructor(options: ProvablyGatewayOptions = {}) {
    const env = process.env;
    if (options.gatewayUrl !== undefined || (options.policy === undefined && env.PROVABLY_GATEWAY_URL)) {
      throw new ProvablyConfigError(
        'gatewayUrl',
        'the remote gateway is not available in this version; give `policy` (or PROVABLY_POLICY_FILE) to decide locally',
      );
    }
    const agentId = options.agentId ?? env.PROVABLY_AGENT_ID;
    if (typeof agentId !== 'string' || agentId.trim() === '') {
      throw new ProvablyConfigError(
        'agentId',
        'expected a non-empty agent id (option agentId or PROVABLY_AGENT_ID)',
      );
    }
    const policy = options.policy ?? env.PROVABLY_POLICY_FILE;
    if (policy === undefined) {
      throw new ProvablyConfigError(
        'policy',
        'expected Cedar text or a policy file (option policy or PROVABLY_POLICY_FILE)',
      );
    }
    this.agentId = agentId;
    this.tenant = options.tenant ?? defaultOrgId();
    this.engine = new PolicyEngine({
      policy,
      schema: options.schema,
      mode: options.mode,
      watch: options.watch,
      defaultHoldSeconds: options.defaultHoldSeconds,
    });
    this.#store = options.store ?? getDefaultStore();
    this.#notifier = new EscalationNotifier(this.#store);
    this.#redact = options.redactParams ?? readRedactParams(env);
    this.#defaultSession = options.defaultSession;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /**
   * Decides `action` with `params` and records the decision. Throws PolicyBlockedError on BLOCK
   * (or a rejected escalation), EscalationTimeoutError on expiry, unless throwOnBlock is false;
   * GatewayError when the decision cannot be recorded; PolicyInputError for params that are
   * not JSON. Nothing is run: this is the decision only (see guard).
   */
  execute(
    action: string,
    params: Record<string, unknown> = {},
    options: ExecuteOptions = {},
  ): Promise<ExecutionResult> {
    return this.#decide(action, params, { ...options, session: this.#sessionFor(options.sessionId) });
  }

  /**
   * Wraps `fn`: each call is decided first (params named from fn's parameters, else
   * positional) and the body runs only on ALLOW, inside a provably scope (agentId, actionName =
   * action, the caller's trace); then an outcome event records duration and a digest of the
   * result, or the error. Returns fn's value (always as a promise); a BLOCK throws.
   */
  guard<A extends unknown[], R>(action: string, fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw new ProvablyConfigError('guard', 'expected a function to guard');
    checkAction(action);
    const names = parameterNames(fn as (...args: never[]) => unknown);
    return (...args: A) => {
      const session = this.#sessionFor(undefined);
      // Named before the scope opens: bad arguments fail here, with nothing decided or run.
      let params: Params;
      try {
        params = normalizeParams(namedArguments(names, args), 'arguments');
      } catch (err) {
        return Promise.reject(err);
      }
      return interceptContext(
        { agentId: this.agentId, actionName: action },
        async (): Promise<Awaited<R>> => {
          const scope = activeScope();
          if (scope === undefined || scope.actionName !== action || scope.agentId !== this.agentId) {
            // No scope could be opened (no OpenTelemetry context manager): the body's HTTP calls
            // would go ungoverned. Fail closed.
            throw new GatewayError(
              this.#location(),
              'could not open a provably scope for the guarded body; it did not run',
            );
          }
          const decided = await this.#decide(action, params, {
            session,
            trace: { traceId: scope.traceId, spanId: scope.spanId },
          });
          const started = performance.now();
          let value: Awaited<R>;
          try {
            value = await fn(...args);
          } catch (err) {
            await this.#outcome(decided, params, scope, performance.now() - started, { error: err });
            throw err;
          }
          await this.#outcome(decided, params, scope, performance.now() - started, { value });
          session?.replaceLast(decided, decided.withToolResult(value));
          return value;
        },
      );
    };
  }

  /**
   * Runs `fn` with a session: calls made through it (or through execute/guard inside fn) carry
   * the session id, count into it, and let policies read `context.session`. Returns fn's value.
   */
  session<T>(id: string, fn: (session: PolicySession) => T | Promise<T>): Promise<T> {
    if (typeof id !== 'string' || id.trim() === '') {
      return Promise.reject(new ProvablyConfigError('session', 'expected a non-empty session id'));
    }
    const session = new PolicySession(id, this.#countsOf(id), this);
    return this.#current.run(session, async () => fn(session));
  }

  /** Waits for an escalation (from execute(…, { wait: false })) and answers like execute. */
  async awaitEscalation(
    escalationId: string,
    options: Pick<ExecuteOptions, 'throwOnBlock'> = {},
  ): Promise<ExecutionResult> {
    const row = await selfEgress(() =>
      waitForEscalation(this.#store, this.#notifier, escalationId, this.#pollMs),
    );
    return this.#resolved(row, options.throwOnBlock !== false, this.#sessionFor(undefined));
  }

  /** The outcome of an escalation without waiting: EscalationError `pending` while undecided. */
  async escalationResult(
    escalationId: string,
    options: Pick<ExecuteOptions, 'throwOnBlock'> = {},
  ): Promise<ExecutionResult> {
    const row = await selfEgress(() => getEscalation(this.#store, escalationId));
    if (row === null) throw new EscalationError(escalationId, 'not-found', 'no such escalation');
    if (row.status === 'pending')
      throw new EscalationError(escalationId, 'pending', 'still pending: no outcome yet');
    return this.#resolved(row, options.throwOnBlock !== false, undefined);
  }

  /** Stops watching the policy file and the escalation listener. The store is the caller's. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.engine.close();
    await this.#notifier.close();
  }

  /** @internal used by PolicySession. */
  _decide(
    action: string,
    params: Record<string, unknown>,
    options: ExecuteOptions,
    session: PolicySession,
  ): Promise<ExecutionResult> {
    return this.#decide(action, params, { ...options, session });
  }

  /** @internal used by PolicySession. */
  _inSession<T>(session: PolicySession, fn: () => T): T {
    return this.#current.run(session, fn);
  }

  async #decide(
    action: string,
    rawParams: Record<string, unknown>,
    o: DecideOptions,
  ): Promise<ExecutionResult> {
    if (this.#closed) throw new ProvablyConfigError('gateway', 'this gateway is closed');
    checkAction(action);
    const params = normalizeParams(rawParams);
    const sessionId = o.sessionId ?? o.session?.id ?? this.#defaultSession ?? null;
    const counts = this.#countsOf(sessionId ?? '');
    let recorded: RecordedDecision;
    try {
      recorded = await selfEgress(() =>
        recordDecision(this.#store, this.engine, {
          tenant: this.tenant,
          agentId: this.agentId,
          action,
          params,
          sessionId,
          session: counts,
          trace: o.trace ?? activeSpanIds(),
          redact: this.#redact,
        }),
      );
    } catch (err) {
      throw new GatewayError(
        this.#location(),
        `the decision could not be recorded, so the action did not run: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    const { decision: d, eventId, escalation } = recorded;
    const enforce = d.mode === 'enforce';
    const base = { action, eventId, sessionId, policyVersion: d.policyVersion };
    if (!enforce) {
      diag.debug(`log-only: ${action} would be ${d.decision} (${d.reason})`);
      return this.#count(
        counts,
        o.session,
        new ExecutionResult({
          ...base,
          decision: 'ALLOW',
          reason: `log-only: ${d.reason}`,
          shadowDecision: d.decision,
        }),
      );
    }
    if (d.decision === 'ALLOW')
      return this.#count(
        counts,
        o.session,
        new ExecutionResult({ ...base, decision: 'ALLOW', reason: d.reason }),
      );
    if (d.decision === 'BLOCK') {
      const result = this.#count(
        counts,
        o.session,
        new ExecutionResult({ ...base, decision: 'BLOCK', reason: d.reason }),
      );
      if (o.throwOnBlock !== false) throw new PolicyBlockedError(action, d.reason, eventId);
      return result;
    }
    const held = escalation as Escalation;
    const pending = this.#count(
      counts,
      o.session,
      new ExecutionResult({ ...base, decision: 'ESCALATE', reason: d.reason, escalationId: held.id }),
    );
    if (o.wait === false) return pending;
    const row = await selfEgress(() => waitForEscalation(this.#store, this.#notifier, held.id, this.#pollMs));
    return this.#resolved(row, o.throwOnBlock !== false, o.session, counts);
  }

  #resolved(
    row: Escalation,
    throwOnBlock: boolean,
    session: PolicySession | undefined,
    counts?: SessionCounts,
  ): ExecutionResult {
    if (row.status === 'pending') throw new EscalationError(row.id, 'pending', 'still pending');
    const eventId = row.decisionEventId ?? row.eventId;
    const base = {
      action: row.actionName,
      eventId,
      sessionId: row.sessionId,
      escalationId: row.id,
      policyVersion: row.policyVersion,
    };
    const c = counts ?? this.#countsOf(row.sessionId ?? '');
    if (row.status === 'approved') {
      return this.#count(
        c,
        session,
        new ExecutionResult({
          ...base,
          decision: 'ALLOW',
          reason: `approved by ${row.reviewer}: ${row.decisionReason}`,
          actorHumanId: row.reviewer ?? undefined,
        }),
      );
    }
    const reason =
      row.status === 'expired'
        ? 'escalation timed out'
        : `rejected by ${row.reviewer}: ${row.decisionReason}`;
    const result = this.#count(
      c,
      session,
      new ExecutionResult({ ...base, decision: 'BLOCK', reason, actorHumanId: row.reviewer ?? undefined }),
    );
    if (throwOnBlock) {
      if (row.status === 'expired') throw new EscalationTimeoutError(row.actionName, row.id, eventId);
      throw new PolicyBlockedError(row.actionName, reason, eventId, row.id);
    }
    return result;
  }

  #count(counts: SessionCounts, session: PolicySession | undefined, r: ExecutionResult): ExecutionResult {
    if (r.decision === 'ALLOW') counts.allowed++;
    else if (r.decision === 'BLOCK') counts.blocked++;
    else counts.escalated++;
    session?.record(r);
    return r;
  }

  #outcome(
    decided: ExecutionResult,
    params: Params,
    scope: { traceId: string | null; spanId: string | null },
    durationMs: number,
    result: { value?: unknown; error?: unknown },
  ): Promise<void> {
    return recordOutcome(this.#store, {
      orgId: this.tenant,
      agentId: this.agentId,
      redact: this.#redact,
      decided,
      params,
      trace: scope,
      durationMs,
      result,
    });
  }

  #sessionFor(sessionId: string | undefined): PolicySession | undefined {
    const current = this.#current.getStore();
    if (sessionId === undefined || current?.id === sessionId) return current;
    return undefined;
  }

  #countsOf(id: string): SessionCounts {
    let c = this.#sessions.get(id);
    if (c === undefined) {
      c = { id, allowed: 0, blocked: 0, escalated: 0 };
      // Bounded: a long-lived gateway with many sessions keeps the newest 10 000 counters.
      if (this.#sessions.size >= 10_000) this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#sessions.set(id, c);
    }
    return c;
  }

  #location(): string {
    const s = this.#store as Partial<ProvablyStore>;
    return `local:${s.location ?? this.#store.backend}`;
  }
}

function checkAction(action: unknown): asserts action is string {
  if (typeof action !== 'string' || action.trim() === '' || action.length > 256) {
    throw new ProvablyConfigError(
      'action',
      `expected a non-empty action name (≤ 256 characters), got ${typeof action === 'string' ? JSON.stringify(action.slice(0, 40)) : typeof action}`,
    );
  }
}

export type { Decision };
