/**
 * Tells this gateway's engine cache when a tenant's policy set changes on ANY replica: every
 * new version NOTIFYs channel provably_policy_sets with the tenant id (policy-sets.ts, in the
 * INSERT's own statement), and this listener invalidates that tenant (the payload is only a
 * hint: the version is always re-read from the table).
 *
 * PostgreSQL: one dedicated `pg` client per gateway, LISTENing for the gateway's life (LISTEN
 * belongs to a session: a pooled connection would be handed to other queries; PgBouncer
 * transaction pooling breaks it too). When it drops it reconnects (1 s, then up to 30 s
 * apart), and every (re)connection invalidates ALL tenants, since a change may have been missed
 * while it was down. In between, the engines' refresh bound (TenantEngines refreshMs) still
 * holds: a lost notification delays a change by at most that long. PGlite: LISTEN through the
 * store plus the instance's notification hook (PGlite is one process).
 */
import { diag } from '../diag/index.js';
import { selfEgress } from '../scope/index.js';
import { listenChannel } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { TenantEngines } from './engines.js';
import { POLICY_CHANNEL } from './policy-sets.js';

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class PolicyChangeListener {
  readonly #store: Store;
  readonly #engines: TenantEngines;
  #stop: (() => Promise<void>) | undefined;
  #starting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  #closed = false;

  constructor(store: Store, engines: TenantEngines) {
    this.#store = store;
    this.#engines = engines;
  }

  /** Starts listening; resolves once LISTEN is active (or failed: then retried in the background). */
  start(): Promise<void> {
    if (this.#closed || this.#stop !== undefined) return Promise.resolve();
    // The listener's connection is provably's own I/O, never governed as a caller's egress.
    this.#starting ??= selfEgress(() => this.#connect())
      .then(() => {
        this.#retryMs = RETRY_MIN_MS;
        // Changes committed before LISTEN was active were not heard: forget what is cached.
        this.#engines.invalidateAll();
      })
      .catch((err: unknown) => {
        diag.once('gateway.policy-listen', 'warn', 'could not LISTEN for policy changes; retrying', err);
        this.#scheduleRetry();
      })
      .finally(() => {
        this.#starting = undefined;
      });
    return this.#starting;
  }

  /** Whether LISTEN is active now. */
  get listening(): boolean {
    return this.#stop !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    if (this.#starting) await this.#starting;
    const stop = this.#stop;
    this.#stop = undefined;
    await stop?.().catch(() => {});
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.start();
    }, wait);
    this.#retry.unref();
  }

  #changed(payload: string | undefined): void {
    try {
      if (payload === undefined || payload === '') this.#engines.invalidateAll();
      else this.#engines.invalidate(payload);
    } catch (err) {
      diag.warn('a policy change notification could not be applied', err);
    }
  }

  async #connect(): Promise<void> {
    this.#stop = await listenChannel(this.#store, POLICY_CHANNEL, {
      notify: (payload) => this.#changed(payload),
      dropped: (err) => {
        this.#stop = undefined;
        if (this.#closed) return;
        diag.once(
          'gateway.policy-listen-dropped',
          'warn',
          'the policy change listener dropped; reconnecting (changes from other replicas apply within the refresh time meanwhile)',
          err,
        );
        this.#scheduleRetry();
      },
    });
  }
}
