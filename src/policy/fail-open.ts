/**
 * Fail-open decisions (`onGatewayError: 'open'`): the remote gateway could not be reached, so
 * the call is ALLOWed — but never silently. The decision is recorded in the agent's LOCAL store
 * first (a provably_decisions row and ledger leaf, reason `gateway unreachable (fail-open)`,
 * policy version `none`), a diag warning is logged, and the caller queues it for the gateway.
 * If even the local record fails, there is no trace of the decision anywhere: fail closed.
 *
 * The local store is opened on first need: an agent whose gateway is always up never opens it.
 */
import { diag } from '../diag/index.js';
import { GatewayError } from '../errors/index.js';
import { selfEgress } from '../scope/index.js';
import type { Store } from '../store/types.js';
import type { DecideCall, DecidedCall, OutcomeCall } from './backend.js';
import type { DecisionEvaluator } from './decide.js';
import { recordDecision } from './decide.js';
import { recordOutcome } from './outcome.js';

export const FAIL_OPEN_REASON = 'gateway unreachable (fail-open)';
/** No policy decided a fail-open ALLOW: the recorded version says so. */
export const FAIL_OPEN_POLICY_VERSION = 'none';

const FAIL_OPEN: DecisionEvaluator = {
  evaluate: () => ({
    decision: 'ALLOW',
    reason: FAIL_OPEN_REASON,
    policyIds: [],
    policyVersion: FAIL_OPEN_POLICY_VERSION,
    holdSeconds: undefined,
    mode: 'enforce',
  }),
};

export interface FailOpenOptions {
  /** The local store (called on first need). */
  store: () => Store;
  tenant: string;
  redact: readonly string[];
  gatewayUrl: string;
}

export class FailOpenLog {
  readonly #o: FailOpenOptions;
  /** Event ids of fail-open decisions: their outcomes are recorded locally too (bounded). */
  readonly #local = new Set<string>();

  constructor(o: FailOpenOptions) {
    this.#o = o;
  }

  /** Records an ALLOW for `call` locally; GatewayError (closed) if that fails too. */
  async decide(call: DecideCall, unreachable: Error): Promise<DecidedCall & { decidedAt: Date }> {
    const decidedAt = new Date();
    let eventId: string;
    try {
      const store = this.#o.store();
      ({ eventId } = await selfEgress(() =>
        recordDecision(store, FAIL_OPEN, {
          ...call,
          tenant: this.#o.tenant,
          redact: this.#o.redact,
          now: decidedAt,
        }),
      ));
    } catch (err) {
      throw new GatewayError(
        this.#o.gatewayUrl,
        `unreachable (${unreachable.message}), and the fail-open decision could not be recorded locally, so the action did not run: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    if (this.#local.size >= 10_000) this.#local.delete(this.#local.values().next().value as string);
    this.#local.add(eventId);
    diag.warn(
      `gateway ${this.#o.gatewayUrl} unreachable (${unreachable.message}): ${call.action} ALLOWED by fail-open, recorded locally as ${eventId}`,
    );
    return {
      decision: 'ALLOW',
      reason: FAIL_OPEN_REASON,
      eventId,
      sessionId: call.sessionId,
      policyVersion: FAIL_OPEN_POLICY_VERSION,
      decidedAt,
    };
  }

  /** Whether `eventId` is a fail-open decision of this process (its parent is not remote). */
  isLocal(eventId: string): boolean {
    return this.#local.has(eventId);
  }

  recordOutcome(call: OutcomeCall): Promise<void> {
    let store: Store;
    try {
      store = this.#o.store();
    } catch (err) {
      diag.warn(`could not record the outcome of ${call.decided.action} locally`, err);
      return Promise.resolve();
    }
    return recordOutcome(store, {
      orgId: this.#o.tenant,
      agentId: call.agentId,
      redact: this.#o.redact,
      decided: call.decided,
      params: call.params,
      trace: call.trace,
      durationMs: call.durationMs,
      result: call.result,
    });
  }
}
