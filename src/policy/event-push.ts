/**
 * Events the remote gateway must learn about but could not be told at the time: fail-open
 * decisions made while it was unreachable, and outcomes of guarded bodies whose POST failed.
 * They are pushed (`POST /v1/events`) in order once the gateway answers again — after any
 * successful request, and on a timer while some are waiting.
 *
 * The queue is in memory: what it holds is already durable elsewhere (a fail-open decision is a
 * row in the agent's local store), so a process that dies with a full queue loses the push, not
 * the record.
 */
import { diag } from '../diag/index.js';
import { GatewayAnswerError, type GatewayHttp, GatewayUnreachable } from './remote-http.js';

/** How often a waiting queue retries while the gateway stays away. */
const RETRY_MS = 5_000;
/** close() waits at most this long per push: a gateway that is away must not hold up shutdown. */
const CLOSE_TIMEOUT_MS = 5_000;
const MAX_QUEUED = 10_000;

export class EventPushQueue {
  readonly #http: GatewayHttp;
  readonly #timeoutMs: number;
  readonly #queue: Record<string, unknown>[] = [];
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(http: GatewayHttp, timeoutMs: number) {
    this.#http = http;
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#queue.length;
  }

  enqueue(body: Record<string, unknown>): void {
    if (this.#closed) return;
    if (this.#queue.length >= MAX_QUEUED) {
      const dropped = this.#queue.shift();
      diag.warn(
        `gateway event queue full: an unpushed ${String(dropped?.kind ?? 'outcome')} event was dropped`,
      );
    }
    this.#queue.push(body);
    this.#schedule();
  }

  /** The gateway answered: push what waits (in the background; never throws). */
  kick(): void {
    if (this.#queue.length > 0 && this.#flushing === undefined && !this.#closed) void this.flush();
  }

  /** Pushes in order until the queue is empty or the gateway is away again. */
  flush(timeoutMs = this.#timeoutMs): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    this.#flushing = this.#drain(timeoutMs).finally(() => {
      this.#flushing = undefined;
      this.#schedule();
    });
    return this.#flushing;
  }

  /** One last bounded attempt, then stop retrying. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
    if (this.#queue.length > 0) await this.flush(Math.min(this.#timeoutMs, CLOSE_TIMEOUT_MS));
    if (this.#queue.length > 0) {
      diag.warn(
        `${this.#queue.length} event(s) could not be pushed to the gateway before close (fail-open decisions stay in the local store)`,
      );
    }
  }

  async #drain(timeoutMs: number): Promise<void> {
    while (this.#queue.length > 0) {
      const body = this.#queue[0] as Record<string, unknown>;
      try {
        await this.#http.request('POST', '/v1/events', body, timeoutMs);
      } catch (err) {
        if (err instanceof GatewayUnreachable || (err instanceof GatewayAnswerError && err.status >= 500)) {
          return; // away again: the timer retries
        }
        // A refusal (4xx) will not succeed later.
        diag.warn(`the gateway refused a queued ${String(body.kind ?? 'outcome')} event; dropped`, err);
      }
      this.#queue.shift();
    }
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, RETRY_MS);
    this.#timer.unref();
  }
}
