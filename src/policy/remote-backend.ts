/**
 * Remote decisions: a `provably gateway` server decides and records (REST contract v1); this
 * process asks, waits for escalations by long-poll, and reports outcomes.
 *
 * What counts as "unreachable" (the only case `onGatewayError: 'open'` may turn into an ALLOW):
 * no connection, a reset, no answer within timeoutMs, or 502/503/504 (a proxy that cannot reach
 * it, its store down). Everything else is an answer and fails closed whatever the mode: 401/403
 * (a revoked or wrong key is not an outage), 500, and any answer outside the contract.
 *
 * Escalations are waited on with `GET /v1/escalations/:id?wait=<s>` rounds, each below any
 * client or proxy timeout, until the escalation is decided or expired. `execute` itself never
 * holds (wait 0): a held POST cut by a gateway restart could not be retried without deciding
 * twice, while a GET by escalation id can — so a waiting caller survives a restart, retrying
 * with backoff until the escalation's expiry (+ grace), and only then gives up (GatewayError:
 * the outcome is unknown, the action does not run; fail-open never applies to an escalation).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { diag } from '../diag/index.js';
import { EscalationError, GatewayError, PolicyInputError, ProvablyError } from '../errors/index.js';
import type { DecideCall, DecidedCall, DecisionBackend, EscalationState, OutcomeCall } from './backend.js';
import { EventPushQueue } from './event-push.js';
import type { FailOpenLog } from './fail-open.js';
import { digestOf } from './params.js';
import { type GatewayAnswer, GatewayAnswerError, GatewayHttp, GatewayUnreachable } from './remote-http.js';
import { ContractError, readEscalationJson, readExecution } from './remote-json.js';

export interface RemoteBackendOptions {
  url: URL;
  apiKey: string;
  /** Bounds one request that is not a long-poll round. */
  timeoutMs: number;
  /** Seconds the gateway may hold one escalation poll (1–55). */
  longPollSeconds: number;
  /** Present in fail-open mode only. */
  failOpen: FailOpenLog | undefined;
}

/** After an escalation's expiry, how long a waiter keeps trying to learn its outcome. */
const EXPIRY_GRACE_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;
const MAX_ERROR_CHARS = 2000;

export class RemoteBackend implements DecisionBackend {
  readonly location: string;
  readonly #o: RemoteBackendOptions;
  readonly #http: GatewayHttp;
  readonly #pushes: EventPushQueue;
  /** Escalation id → this process's clock time after which its hold has surely ended. */
  readonly #deadlines = new Map<string, number>();
  #closed = false;

  constructor(o: RemoteBackendOptions) {
    this.#o = o;
    this.location = o.url.href;
    this.#http = new GatewayHttp(o.url, o.apiKey);
    this.#pushes = new EventPushQueue(this.#http, o.timeoutMs);
  }

  /** Fail-open events and outcomes not yet pushed to the gateway. */
  get pendingPushes(): number {
    return this.#pushes.size;
  }

  async decide(call: DecideCall): Promise<DecidedCall> {
    const body = {
      agentId: call.agentId,
      action: call.action,
      params: call.params,
      sessionId: call.sessionId,
      trace: call.trace,
      wait: 0,
    };
    let answer: GatewayAnswer<unknown>;
    try {
      answer = await this.#http.request('POST', '/v1/execute', body, this.#o.timeoutMs);
    } catch (err) {
      // A request cut by close() is no outage: never a fail-open ALLOW.
      if (this.#closed) {
        throw new GatewayError(this.location, 'closed while deciding; the action did not run', {
          cause: err,
        });
      }
      if (isUnavailable(err) && this.#o.failOpen !== undefined) {
        const decided = await this.#o.failOpen.decide(call, err as Error);
        this.#pushes.enqueue({
          kind: 'fail_open',
          agentId: call.agentId,
          action: call.action,
          params: call.params,
          sessionId: call.sessionId,
          decidedAt: decided.decidedAt.toISOString(),
          trace: call.trace,
        });
        const { decidedAt: _, ...rest } = decided;
        return rest;
      }
      throw this.#failure(err, 'execute');
    }
    this.#pushes.kick();
    let decided: ReturnType<typeof readExecution>;
    try {
      decided = readExecution(answer.json);
    } catch (err) {
      throw this.#failure(err, 'execute');
    }
    if (decided.escalationId !== undefined && decided.expiresAt !== undefined) {
      // Bounded: escalations returned with wait:false and never awaited leave their entry.
      if (this.#deadlines.size >= 10_000)
        this.#deadlines.delete(this.#deadlines.keys().next().value as string);
      this.#deadlines.set(decided.escalationId, localDeadline(answer, decided.expiresAt));
    }
    return decided;
  }

  async waitEscalation(id: string): Promise<EscalationState> {
    const started = Date.now();
    let backoff = 200;
    const path = `/v1/escalations/${encodeURIComponent(id)}?wait=${this.#o.longPollSeconds}`;
    const roundMs = this.#o.longPollSeconds * 1000 + this.#o.timeoutMs;
    try {
      for (;;) {
        if (this.#closed) throw new GatewayError(this.location, `closed while waiting for escalation ${id}`);
        const asked = Date.now();
        let answer: GatewayAnswer<unknown>;
        try {
          answer = await this.#http.request('GET', path, undefined, roundMs);
        } catch (err) {
          if (!isUnavailable(err) || this.#closed) throw this.#failure(err, 'escalation', id);
          // Away (restarting?): keep asking until the hold has surely ended.
          const limit = this.#deadlines.get(id) ?? started + this.#o.timeoutMs;
          const left = limit - Date.now();
          if (left <= 0) {
            throw new GatewayError(
              this.location,
              `unreachable while waiting for escalation ${id} (${(err as Error).message}) until past its expiry: its outcome is unknown, the action did not run`,
              { cause: err },
            );
          }
          diag.debug(`gateway unreachable while waiting for escalation ${id}; retrying`, err);
          await sleep(Math.min(backoff, left));
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          continue;
        }
        this.#pushes.kick();
        backoff = 200;
        const e = this.#read(() => readEscalationJson(answer.json, id));
        const deadline = localDeadline(answer, e.expiresAt);
        this.#deadlines.set(id, deadline);
        if (e.status !== 'pending') return e;
        if (Date.now() > deadline + EXPIRY_GRACE_MS) {
          throw new GatewayError(this.location, `escalation ${id} is still pending long after its expiry`);
        }
        // A gateway that does not hold polls must not be asked in a tight loop.
        if (Date.now() - asked < 500) await sleep(500);
      }
    } finally {
      this.#deadlines.delete(id);
    }
  }

  async readEscalation(id: string): Promise<EscalationState> {
    let answer: GatewayAnswer<unknown>;
    try {
      answer = await this.#http.request(
        'GET',
        `/v1/escalations/${encodeURIComponent(id)}`,
        undefined,
        this.#o.timeoutMs,
      );
    } catch (err) {
      throw this.#failure(err, 'escalation', id);
    }
    this.#pushes.kick();
    return this.#read(() => readEscalationJson(answer.json, id));
  }

  async recordOutcome(call: OutcomeCall): Promise<void> {
    const failOpen = this.#o.failOpen;
    if (failOpen?.isLocal(call.decided.eventId)) return failOpen.recordOutcome(call);
    const failed = 'error' in call.result;
    const e = call.result.error as Error | undefined;
    const outcome = failed
      ? { ok: false, error: String(e?.message ?? e).slice(0, MAX_ERROR_CHARS) }
      : { ok: true, resultSha256: digestOf(call.result.value) ?? null };
    const body = {
      parentEventId: call.decided.eventId,
      outcome,
      durationMs: Math.round(call.durationMs * 1000) / 1000,
      trace: call.trace,
    };
    try {
      await this.#http.request('POST', '/v1/events', body, this.#o.timeoutMs);
      this.#pushes.kick();
    } catch (err) {
      if (isUnavailable(err)) {
        diag.warn(`gateway unreachable: the outcome of ${call.decided.action} is queued`, err);
        this.#pushes.enqueue(body);
      } else {
        diag.warn(
          `the gateway refused the outcome of ${call.decided.action} (event ${call.decided.eventId})`,
          err,
        );
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pushes.close();
    this.#http.close();
  }

  #read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#failure(err, 'escalation');
    }
  }

  /** The public error for a failed request (fail-closed). */
  #failure(err: unknown, what: 'execute' | 'escalation', escalationId?: string): Error {
    if (err instanceof GatewayUnreachable) {
      return new GatewayError(this.location, `unreachable (${err.message}); the action did not run`, {
        cause: err,
      });
    }
    if (err instanceof ContractError) {
      return new GatewayError(this.location, `answered outside the REST contract: ${err.message}`, {
        cause: err,
      });
    }
    if (err instanceof ProvablyError) {
      if (err instanceof GatewayError || err instanceof EscalationError) return err;
      return new GatewayError(this.location, `the request was refused in this process: ${err.message}`, {
        cause: err,
      });
    }
    if (!(err instanceof GatewayAnswerError)) return err as Error;
    const status = err.status;
    if (status === 404 && escalationId !== undefined) {
      return new EscalationError(escalationId, 'not-found', 'no such escalation (for this API key)');
    }
    if (what === 'execute' && (status === 400 || status === 413)) {
      return new PolicyInputError('params', `the gateway refused the request: ${err.message}`);
    }
    const why =
      status === 401
        ? 'refused the API key (unknown or revoked)'
        : status === 403
          ? 'does not allow this API key to do that'
          : 'answered with an error';
    return new GatewayError(this.location, `${why}: ${err.message}; the action did not run`, {
      cause: err,
      status,
    });
  }
}

function isUnavailable(err: unknown): boolean {
  return (
    err instanceof GatewayUnreachable ||
    (err instanceof GatewayAnswerError && (err.status === 502 || err.status === 503 || err.status === 504))
  );
}

/** The expiry on this process's clock: the gateway's remaining time, measured on its own clock. */
function localDeadline(answer: GatewayAnswer<unknown>, expiresAt: number): number {
  const serverNow = answer.serverDate ?? answer.receivedAt;
  // Date has whole seconds: the remaining time may read up to 1 s long; the grace covers it.
  return answer.receivedAt + (expiresAt - serverNow) + EXPIRY_GRACE_MS;
}
