/**
 * Local decisions: the Cedar engine in this process, each decision recorded in the store
 * (recordDecision), escalations waited on through the store's notifications.
 */
import { diag } from '../diag/index.js';
import { EscalationError, GatewayError } from '../errors/index.js';
import { selfEgress } from '../scope/index.js';
import type { ProvablyStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { DecideCall, DecidedCall, DecisionBackend, EscalationState, OutcomeCall } from './backend.js';
import { type RecordedDecision, recordDecision } from './decide.js';
import type { PolicyEngine } from './engine.js';
import { getEscalation } from './escalations.js';
import { EscalationNotifier } from './notifier.js';
import { recordOutcome } from './outcome.js';
import { waitForEscalation } from './wait.js';

export interface LocalBackendOptions {
  engine: PolicyEngine;
  store: Store;
  tenant: string;
  redact: readonly string[];
  pollMs: number;
}

export class LocalBackend implements DecisionBackend {
  readonly location: string;
  readonly #o: LocalBackendOptions;
  readonly #notifier: EscalationNotifier;

  constructor(o: LocalBackendOptions) {
    this.#o = o;
    this.#notifier = new EscalationNotifier(o.store);
    this.location = storeLocation(o.store);
  }

  async decide(call: DecideCall): Promise<DecidedCall> {
    let recorded: RecordedDecision;
    try {
      recorded = await selfEgress(() =>
        // A DecideCall is a DecideInput without the backend's own tenant and redaction.
        recordDecision(this.#o.store, this.#o.engine, {
          ...call,
          tenant: this.#o.tenant,
          redact: this.#o.redact,
        }),
      );
    } catch (err) {
      throw new GatewayError(
        this.location,
        `the decision could not be recorded, so the action did not run: ${(err as Error)?.message ?? String(err)}`,
        { cause: err },
      );
    }
    const { decision: d, eventId, escalation } = recorded;
    const base = { eventId, sessionId: call.sessionId, policyVersion: d.policyVersion };
    if (d.mode !== 'enforce') {
      diag.debug(`log-only: ${call.action} would be ${d.decision} (${d.reason})`);
      return { ...base, decision: 'ALLOW', reason: `log-only: ${d.reason}`, shadowDecision: d.decision };
    }
    return { ...base, decision: d.decision, reason: d.reason, escalationId: escalation?.id };
  }

  waitEscalation(id: string): Promise<EscalationState> {
    return selfEgress(() => waitForEscalation(this.#o.store, this.#notifier, id, this.#o.pollMs));
  }

  async readEscalation(id: string): Promise<EscalationState> {
    const row = await selfEgress(() => getEscalation(this.#o.store, id));
    if (row === null) throw new EscalationError(id, 'not-found', 'no such escalation');
    return row;
  }

  recordOutcome(call: OutcomeCall): Promise<void> {
    return recordOutcome(this.#o.store, {
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

  async close(): Promise<void> {
    this.#o.engine.close();
    await this.#notifier.close();
  }
}

export function storeLocation(store: Store): string {
  const s = store as Partial<ProvablyStore>;
  return `local:${s.location ?? store.backend}`;
}
