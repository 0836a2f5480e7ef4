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
import type { PgliteStore, PostgresStore, ProvablyStore } from '../store/index.js';
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
    const driver =
      (this.#store as Partial<ProvablyStore>).driver ?? (this.#store as PostgresStore | PgliteStore);
    if (driver.backend === 'postgres' && 'url' in driver) {
      this.#stop = await this.#listenPostgres(driver as PostgresStore);
    } else if (driver.backend === 'pglite' && 'instance' in driver) {
      this.#stop = await this.#listenPglite(driver as PgliteStore);
    }
  }

  async #listenPostgres(driver: PostgresStore): Promise<() => Promise<void>> {
    const pg = (await import('pg')).default ?? (await import('pg'));
    const client = new pg.Client({ connectionString: driver.url, connectionTimeoutMillis: 5000 });
    let live = true;
    const dropped = (err?: unknown) => {
      if (!live) return;
      live = false;
      if (this.#stop === stop) this.#stop = undefined;
      client.end().catch(() => {});
      if (this.#closed) return;
      diag.once(
        'gateway.policy-listen-dropped',
        'warn',
        'the policy change listener dropped; reconnecting (changes from other replicas apply within the refresh time meanwhile)',
        err,
      );
      this.#scheduleRetry();
    };
    const stop = async () => {
      live = false;
      client.removeAllListeners('end');
      client.on('error', () => {});
      await client.end().catch(() => {});
    };
    client.on('error', dropped);
    client.on('end', () => dropped());
    client.on('notification', (m) => {
      if (m.channel === POLICY_CHANNEL) this.#changed(m.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${POLICY_CHANNEL}`);
    } catch (err) {
      await stop();
      throw err;
    }
    return stop;
  }

  async #listenPglite(driver: PgliteStore): Promise<() => Promise<void>> {
    const db = await driver.instance();
    const off = db.onNotification((channel, payload) => {
      if (channel === POLICY_CHANNEL) this.#changed(payload);
    });
    await this.#store.query(`LISTEN ${POLICY_CHANNEL}`);
    return async () => {
      off();
      await this.#store.query(`UNLISTEN ${POLICY_CHANNEL}`).catch(() => {});
    };
  }
}
