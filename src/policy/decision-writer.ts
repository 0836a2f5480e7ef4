/**
 * Group commit for decision events: the decisions (and the escalations they hold) of concurrent
 * callers on one store share ONE autocommitted statement — rows, leaves and escalations —
 * instead of a transaction each that queues on the org's head row.
 *
 * A caller's promise settles when the statement carrying ITS row has committed (durability is
 * the point: a decision that is not on disk must not let an action run), or rejects with the
 * store's error. An append that arrives while the store is idle is sent at once (a lone
 * caller pays one round trip, no timer); appends that arrive while statements are in flight
 * wait and go together in the next one. PGlite runs a statement inside the microtask drain, so
 * there the writer yields one turn of the event loop (setImmediate) first, letting the appends
 * of the same I/O phase share it (the intercept recorder does the same, src/record/recorder.ts).
 *
 * An append marked `deferred` (an outcome event: nobody waits for it before going on) is not
 * sent at once: it waits one turn of the event loop, so a decision that follows it at once
 * (the next tool call) carries it in the same statement instead of queueing behind it.
 *
 * A batch the database refuses for a row-level reason (one row that cannot be stored, or a
 * leaf check that fails, PVL01) is retried row by row, so one bad row never fails its
 * neighbours; connection-level failures fail the batch (each caller fails closed).
 */
import { randomUUID } from 'node:crypto';
import {
  APPEND_DECISIONS_SQL,
  appendedIndexes,
  type DecisionLeafRow,
  decisionAppendParams,
} from '../ledger/index.js';
import { selfEgress } from '../scope/index.js';
import type { Store } from '../store/types.js';
import { type Escalation, type NewEscalation, toEscalation } from './escalations.js';

/** What one append wrote. */
export interface AppendedDecision {
  leafIndex: number;
  /** The pending escalation inserted beside the decision, when one was asked for. */
  escalation?: Escalation;
}

interface Entry {
  row: DecisionLeafRow;
  escalation: (NewEscalation & { id: string }) | undefined;
  resolve: (v: AppendedDecision) => void;
  reject: (err: unknown) => void;
}

/** Rows per statement: bounds the statement's size and the time a batch holds the head row. */
const MAX_BATCH = 256;

// The decisions, then the escalations beside them, in one statement: the function call is
// materialized first (it must run exactly once, even when no escalation row comes back).
const WITH_ESCALATIONS_SQL = `WITH app AS MATERIALIZED (SELECT provably_decisions_append($1::jsonb, $2::jsonb) AS leaves),
esc AS (
  INSERT INTO provably_escalations (id, org_id, event_id, agent_id, action_name, session_id, params,
    params_sha256, reason, policy_version, policy_ids, trace_id, span_id, expires_at)
  SELECT e.id, e.org_id, e.event_id, e.agent_id, e.action_name, e.session_id, e.params, e.params_sha256,
    e.reason, e.policy_version, e.policy_ids, e.trace_id, e.span_id,
    date_trunc('milliseconds', now()) + make_interval(secs => e.hold)
  FROM jsonb_to_recordset($3::jsonb) AS e(id uuid, org_id text, event_id uuid, agent_id text, action_name text,
    session_id text, params jsonb, params_sha256 text, reason text, policy_version text, policy_ids jsonb,
    trace_id text, span_id text, hold int)
  RETURNING *)
SELECT app.leaves, esc.*, (EXTRACT(EPOCH FROM (esc.expires_at - clock_timestamp())) * 1000)::float8 AS remaining_ms
FROM app LEFT JOIN esc ON true`;

export class DecisionWriter {
  readonly #store: Store;
  readonly #queue: Entry[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Appends one decision row (and, given one, its pending escalation) and settles once both
   * are committed. Rejects with the store's error (nothing of this row is written then), or
   * with ProvablyLeafContentError for a row that has no leaf form. `deferred`: see above.
   */
  append(
    row: DecisionLeafRow,
    escalation?: NewEscalation,
    options: { deferred?: boolean } = {},
  ): Promise<AppendedDecision> {
    return new Promise<AppendedDecision>((resolve, reject) => {
      const esc = escalation === undefined ? undefined : { ...escalation, id: escalation.id ?? randomUUID() };
      this.#queue.push({ row, escalation: esc, resolve, reject });
      if (this.#store.backend === 'pglite' || options.deferred === true) this.#schedule();
      else this.#pump();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #maxInFlight(): number {
    // PGlite runs one statement at a time anyway; on PostgreSQL a second statement in flight
    // keeps the pipe busy while the first commits (more only add contention on the head row).
    return this.#store.backend === 'pglite' ? 1 : 2;
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight() && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight++;
      // The store's I/O is provably's own: never governed as the caller's egress.
      selfEgress(() => this.#write(batch)).then(() => {
        this.#inFlight--;
        if (this.#queue.length > 0) {
          if (this.#store.backend === 'pglite') this.#schedule();
          else this.#pump();
        }
      });
    }
  }

  /** Writes one batch and settles its members. Never rejects. */
  async #write(batch: Entry[]): Promise<void> {
    try {
      const written = await this.#statement(batch);
      for (const [i, e] of batch.entries()) e.resolve(written[i] as AppendedDecision);
    } catch (err) {
      if (batch.length > 1 && rowLevel(err)) {
        await Promise.all(batch.map((e) => this.#write([e])));
        return;
      }
      for (const e of batch) e.reject(err);
    }
  }

  async #statement(batch: Entry[]): Promise<AppendedDecision[]> {
    const rows = batch.map((e) => e.row);
    const [claims, leaves] = decisionAppendParams(rows);
    const held = batch.flatMap((e) => (e.escalation === undefined ? [] : [e.escalation]));
    if (held.length === 0) {
      const res = await this.#store.query<{ leaves: unknown }>(APPEND_DECISIONS_SQL, [claims, leaves]);
      const indexes = appendedIndexes(rows, res.rows[0]?.leaves);
      return rows.map((r) => ({ leafIndex: indexes.get(String(r.id)) as number }));
    }
    const res = await this.#store.query<Record<string, unknown>>(WITH_ESCALATIONS_SQL, [
      claims,
      leaves,
      JSON.stringify(held.map(escalationParam)),
    ]);
    const indexes = appendedIndexes(rows, res.rows[0]?.leaves);
    const stored = new Map<string, Escalation>();
    for (const r of res.rows)
      if (r.id !== null && r.id !== undefined) stored.set(String(r.id), toEscalation(r));
    return batch.map((e) => {
      const leafIndex = indexes.get(String(e.row.id)) as number;
      if (e.escalation === undefined) return { leafIndex };
      const escalation = stored.get(e.escalation.id);
      if (escalation === undefined) throw new Error(`escalation ${e.escalation.id} was not stored`);
      return { leafIndex, escalation };
    });
  }
}

function escalationParam(e: NewEscalation & { id: string }): Record<string, unknown> {
  return {
    id: e.id,
    org_id: e.orgId,
    event_id: e.eventId,
    agent_id: e.agentId,
    action_name: e.actionName,
    session_id: e.sessionId,
    params: e.params,
    params_sha256: e.paramsSha256,
    reason: e.reason,
    policy_version: e.policyVersion,
    policy_ids: e.policyIds,
    trace_id: e.traceId,
    span_id: e.spanId,
    hold: e.holdSeconds,
  };
}

/** Refused because of what one row holds (data errors 22xxx, constraints 23xxx, PVL01, PVA01). */
function rowLevel(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^(2[23][0-9A-Z]{3}|PVL01|PVA01)$/.test(code)) return true;
    if ((current as { name?: unknown }).name === 'ProvablyLeafContentError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

const writers = new WeakMap<Store, DecisionWriter>();

/** The store's one writer (group commit needs every caller of a store to share it). */
export function decisionWriter(store: Store): DecisionWriter {
  let w = writers.get(store);
  if (w === undefined) {
    w = new DecisionWriter(store);
    writers.set(store, w);
  }
  return w;
}
