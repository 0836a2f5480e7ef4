/** A session: calls that share an id, counts and results (`gateway.session(id, fn)`). */
import type { SessionCounts } from './engine.js';
import type { ExecuteOptions } from './gateway-options.js';
import type { ExecutionResult } from './result.js';

/** What a session needs of its gateway (ProvablyGateway; an interface so there is no import cycle). */
export interface SessionHost {
  guard<A extends unknown[], R>(action: string, fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>>;
  _decide(
    action: string,
    params: Record<string, unknown>,
    options: ExecuteOptions,
    session: PolicySession,
  ): Promise<ExecutionResult>;
  _inSession<T>(session: PolicySession, fn: () => T): T;
}

export class PolicySession {
  readonly id: string;
  readonly #counts: SessionCounts;
  readonly #gateway: SessionHost;
  readonly #results: ExecutionResult[] = [];

  constructor(id: string, counts: SessionCounts, gateway: SessionHost) {
    this.id = id;
    this.#counts = counts;
    this.#gateway = gateway;
  }

  /** gateway.execute in this session (blocked calls are counted whether they throw or not). */
  execute(
    action: string,
    params: Record<string, unknown> = {},
    options: Omit<ExecuteOptions, 'sessionId'> = {},
  ): Promise<ExecutionResult> {
    return this.#gateway._inSession(this, () => this.#gateway._decide(action, params, options, this));
  }

  /** gateway.guard whose calls count in this session. */
  guard<A extends unknown[], R>(action: string, fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>> {
    const guarded = this.#gateway.guard(action, fn);
    return (...args: A) => this.#gateway._inSession(this, () => guarded(...args));
  }

  /** Decisions answered ALLOW in this session (on this gateway, since it started). */
  get allowedCount(): number {
    return this.#counts.allowed;
  }

  get blockedCount(): number {
    return this.#counts.blocked;
  }

  /** Escalations raised (each also counts as allowed or blocked once it ends). */
  get escalatedCount(): number {
    return this.#counts.escalated;
  }

  /** Every result in this session object, in order. */
  get results(): readonly ExecutionResult[] {
    return this.#results;
  }

  /** @internal */
  record(r: ExecutionResult): void {
    this.#results.push(r);
  }

  /** @internal the guard's result gains its tool result once the body returns. */
  replaceLast(previous: ExecutionResult, next: ExecutionResult): void {
    const i = this.#results.lastIndexOf(previous);
    if (i >= 0) this.#results[i] = next;
  }
}
