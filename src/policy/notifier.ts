/**
 * Wakes escalation waiters when a row changes (migration 6 NOTIFYs channel
 * `provably_escalations` with the id; the row is always re-read, never the payload trusted).
 *
 * PostgreSQL: one dedicated `pg` client per gateway LISTENs while anyone waits (a pooled
 * connection would be handed to other queries, and LISTEN belongs to a session; PgBouncer
 * transaction pooling breaks it too) and is closed when the last waiter leaves. PGlite:
 * LISTEN through the store's queue plus the instance's global notification hook (in-process
 * only: PGlite is one process). A listener that cannot start or drops is not an error: every
 * waiter also re-reads its row periodically (EscalationWaitOptions.pollMs), so a lost
 * notification costs at most one poll interval.
 */
import { diag } from '../diag/index.js';
import { selfEgress } from '../scope/index.js';
import { listenChannel } from '../store/index.js';
import type { Store } from '../store/types.js';

export const ESCALATION_CHANNEL = 'provably_escalations';

type Wake = () => void;

export class EscalationNotifier {
  readonly #store: Store;
  readonly #waiters = new Map<string, Set<Wake>>();
  #stop: (() => Promise<void>) | undefined;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Registers `wake` for `id` and starts listening if needed. Read the row only after `ready`
   * resolves (the LISTEN is then active, or failed and the caller polls): a change committed
   * after that point wakes the waiter.
   */
  subscribe(id: string, wake: Wake): { ready: Promise<void>; unsubscribe: () => void } {
    let set = this.#waiters.get(id);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(id, set);
    }
    set.add(wake);
    const ready = this.#ensure();
    const unsubscribe = () => {
      const s = this.#waiters.get(id);
      s?.delete(wake);
      if (s?.size === 0) this.#waiters.delete(id);
      if (this.#waiters.size === 0) void this.#release();
    };
    return { ready, unsubscribe };
  }

  /** Whether a listener is connected now (for tests and status). */
  get listening(): boolean {
    return this.#stop !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#waiters.clear();
    await this.#release();
  }

  #notify(payload: string | undefined): void {
    const set = payload === undefined ? undefined : this.#waiters.get(payload);
    if (set === undefined) return;
    for (const wake of [...set]) {
      try {
        wake();
      } catch (err) {
        diag.warn('an escalation waiter threw on wake-up', err);
      }
    }
  }

  #ensure(): Promise<void> {
    if (this.#closed || this.#stop !== undefined) return Promise.resolve();
    // Outside any scope: the listener's own connection must never be governed (or refused) as
    // the guarded tool's traffic, whichever context the first waiter came from.
    this.#starting ??= selfEgress(() => this.#start())
      .catch((err: unknown) => {
        diag.once(
          'policy.listen',
          'warn',
          'could not LISTEN for escalation changes; waiters poll instead',
          err,
        );
      })
      .finally(() => {
        this.#starting = undefined;
        // Everyone left while the listener was starting: stop it again.
        if (this.#waiters.size === 0) void this.#release();
      });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#stop = await listenChannel(this.#store, ESCALATION_CHANNEL, {
      notify: (payload) => this.#notify(payload),
      dropped: (err) => {
        diag.once(
          'policy.listen-dropped',
          'warn',
          'the escalation listener dropped; waiters poll until it is back',
          err,
        );
        this.#stop = undefined;
        if (this.#waiters.size > 0 && !this.#closed) setTimeout(() => void this.#ensure(), 500).unref();
      },
    });
  }

  async #release(): Promise<void> {
    if (this.#starting) await this.#starting;
    const stop = this.#stop;
    if (stop === undefined || (this.#waiters.size > 0 && !this.#closed)) return;
    this.#stop = undefined;
    await stop().catch(() => {});
  }
}
