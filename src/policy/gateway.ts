/**
 * ProvablyGateway: policy-gated tool execution. Local mode decides in-process (a Cedar policy,
 * every decision a durable audit event and ledger leaf in the store, escalations held there
 * until a human decides or they expire); remote mode asks a `provably gateway` server over
 * REST. Both sit behind a DecisionBackend: what the caller sees — argument checks, sessions,
 * throwing on BLOCK, the scope a guarded body runs in — is written once, here.
 *
 *   const gateway = new ProvablyGateway({ agentId: 'billing-agent', policy: './policy.cedar' });
 *   const remote = new ProvablyGateway({ agentId: 'billing-agent', gatewayUrl: 'http://localhost:4587', apiKey });
 *   const r = await gateway.execute('payments.initiate', { amount: 50 });   // throws on BLOCK
 *   const pay = gateway.guard('payments.initiate', async (amount, currency) => …);
 *   await gateway.session('sess_1', async (s) => { await s.execute(…); s.blockedCount; });
 *   await gateway.flush();   // outcome events of guarded calls are written in the background
 *   await gateway.close();   // flushes too
 *
 * Fail closed: a decision that cannot be recorded is a GatewayError and nothing runs; a
 * guarded body runs only after ALLOW (directly, after approval, or in log-only mode) and
 * inside a provably scope, so its HTTP calls are trust-checked and recorded like any other.
 *
 * A guarded call returns as soon as its body has: the DECISION is committed before the body
 * runs, the OUTCOME event (duration, result digest or error) is appended in the background
 * (group-committed with the next decisions). flush() and close() wait for it; so do SIGINT,
 * SIGTERM and beforeExit (bounded by PROVABLY_SHUTDOWN_TIMEOUT_MS, src/exit). A process.exit()
 * or a crash right after a guarded call can lose its outcome event, never its decision.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { readPositiveInt } from '../config/index.js';
import { diag } from '../diag/index.js';
import {
  EscalationError,
  EscalationTimeoutError,
  GatewayError,
  PolicyBlockedError,
  ProvablyConfigError,
} from '../errors/index.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, flushAtExit } from '../exit/index.js';
import { activeScope, activeSpanIds, interceptContext } from '../scope/index.js';
import type { DecisionBackend, EscalationState, OutcomeCall, TraceIds } from './backend.js';
import type { Decision, PolicyEngine, SessionCounts } from './engine.js';
import type { ExecuteOptions, ProvablyGatewayOptions } from './gateway-options.js';
import { openBackend } from './open-backend.js';
import { namedArguments, parameterNames } from './param-names.js';
import { normalizeParams, type Params } from './params.js';
import { ExecutionResult } from './result.js';
import { PolicySession } from './session.js';

export type { ExecuteOptions, ProvablyGatewayOptions } from './gateway-options.js';

interface DecideOptions extends ExecuteOptions {
  trace?: TraceIds;
  session?: PolicySession;
}

export class ProvablyGateway {
  readonly agentId: string;
  /** The org local and fail-open decisions are recorded under (remote: the key's tenant decides). */
  readonly tenant: string;
  /** Local mode's policy engine (undefined in remote mode). */
  readonly engine: PolicyEngine | undefined;
  /** Remote mode's gateway URL (undefined in local mode). */
  readonly gatewayUrl: string | undefined;
  readonly #backend: DecisionBackend;
  readonly #defaultSession: string | undefined;
  readonly #sessions = new Map<string, SessionCounts>();
  readonly #current = new AsyncLocalStorage<PolicySession>();
  /** Outcome events still being written (guard does not wait for them). */
  readonly #outcomes = new Set<Promise<void>>();
  readonly #exitTimeoutMs: number;
  #exitFlush: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: ProvablyGatewayOptions = {}) {
    this.#exitTimeoutMs = readPositiveInt(
      process.env,
      'PROVABLY_SHUTDOWN_TIMEOUT_MS',
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
    );
    const opened = openBackend(options, process.env);
    this.agentId = opened.agentId;
    this.tenant = opened.tenant;
    this.engine = opened.engine;
    this.gatewayUrl = opened.gatewayUrl;
    this.#backend = opened.backend;
    this.#defaultSession = options.defaultSession;
  }

  /**
   * Decides `action` with `params` and records the decision. Throws PolicyBlockedError on BLOCK
   * (or a rejected escalation), EscalationTimeoutError on expiry, unless throwOnBlock is false;
   * GatewayError when no decision could be made and recorded; PolicyInputError for params that
   * are not JSON. Nothing is run: this is the decision only (see guard).
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
   * result, or the error. Returns fn's value (always as a promise) as soon as fn settles: the
   * outcome event is written in the background (see flush); a BLOCK throws.
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
              this.#backend.location,
              'could not open a provably scope for the guarded body; it did not run',
            );
          }
          const trace = { traceId: scope.traceId, spanId: scope.spanId };
          const decided = await this.#decide(action, params, { session, trace });
          const outcome = (durationMs: number, result: { value?: unknown; error?: unknown }) =>
            this.#recordOutcome({
              agentId: this.agentId,
              decided,
              params,
              trace,
              durationMs,
              result,
            });
          const started = performance.now();
          let value: Awaited<R>;
          try {
            value = await fn(...args);
          } catch (err) {
            outcome(performance.now() - started, { error: err });
            throw err;
          }
          outcome(performance.now() - started, { value });
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
    this.#checkOpen();
    const row = await this.#backend.waitEscalation(escalationId);
    return this.#resolved(row, options.throwOnBlock !== false, this.#sessionFor(undefined));
  }

  /** The outcome of an escalation without waiting: EscalationError `pending` while undecided. */
  async escalationResult(
    escalationId: string,
    options: Pick<ExecuteOptions, 'throwOnBlock'> = {},
  ): Promise<ExecutionResult> {
    this.#checkOpen();
    const row = await this.#backend.readEscalation(escalationId);
    if (row.status === 'pending')
      throw new EscalationError(escalationId, 'pending', 'still pending: no outcome yet');
    return this.#resolved(row, options.throwOnBlock !== false, undefined);
  }

  /**
   * Resolves once every outcome event of guarded calls that returned before now (and of those
   * that return while it waits) is written — or its loss logged: it never rejects. Local: the
   * row and its leaf are committed. Remote: the gateway took it, or it is queued for the gateway
   * (see close).
   */
  async flush(): Promise<void> {
    while (this.#outcomes.size > 0) await Promise.allSettled([...this.#outcomes]);
  }

  /**
   * Waits for pending outcome events (flush), then — local: stops watching the policy file and
   * the escalation listener (the store is the caller's); remote: pushes what is queued
   * (bounded) and closes its connections.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.flush();
      this.#exitFlush?.();
      this.#exitFlush = undefined;
      await this.#backend.close();
    })();
    return this.#closing;
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
    this.#checkOpen();
    checkAction(action);
    const params = normalizeParams(rawParams);
    const sessionId = o.sessionId ?? o.session?.id ?? this.#defaultSession ?? null;
    const counts = this.#countsOf(sessionId ?? '');
    const d = await this.#backend.decide({
      agentId: this.agentId,
      action,
      params,
      sessionId,
      session: counts,
      trace: o.trace ?? activeSpanIds(),
    });
    const result = this.#count(
      counts,
      o.session,
      new ExecutionResult({
        decision: d.decision,
        reason: d.reason,
        action,
        eventId: d.eventId,
        sessionId: d.sessionId,
        policyVersion: d.policyVersion,
        escalationId: d.escalationId,
        shadowDecision: d.shadowDecision,
      }),
    );
    if (d.decision === 'BLOCK' && o.throwOnBlock !== false) {
      throw new PolicyBlockedError(action, d.reason, d.eventId);
    }
    if (d.decision !== 'ESCALATE' || o.wait === false) return result;
    const row = await this.#backend.waitEscalation(d.escalationId as string);
    return this.#resolved(row, o.throwOnBlock !== false, o.session, counts);
  }

  #resolved(
    row: EscalationState,
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

  /** Starts writing an outcome event; the caller does not wait (flush and close do). */
  #recordOutcome(call: OutcomeCall): void {
    let written: Promise<void>;
    try {
      written = this.#backend.recordOutcome(call);
    } catch (err) {
      // Backends never throw here; should one, the body's result must still reach its caller.
      diag.warn(`could not record the outcome of ${call.decided.action}`, err);
      return;
    }
    const settled = written.then(
      () => {},
      (err: unknown) => diag.warn(`could not record the outcome of ${call.decided.action}`, err),
    );
    this.#outcomes.add(settled);
    void settled.then(() => this.#outcomes.delete(settled));
    // On the first outcome: SIGINT / SIGTERM / beforeExit wait for the pending ones (bounded).
    this.#exitFlush ??= this.#closing
      ? undefined
      : flushAtExit({
          what: "guarded calls' outcome events",
          flush: () => this.flush(),
          timeoutMs: this.#exitTimeoutMs,
          beforeExit: true,
        });
  }

  #checkOpen(): void {
    if (this.#closed) throw new ProvablyConfigError('gateway', 'this gateway is closed');
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
