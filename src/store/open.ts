/**
 * Opening stores from configuration, and the process-wide default store.
 *
 * openStore() picks PostgreSQL when a database URL is configured, else the embedded PGlite
 * store. Nothing connects, opens or migrates until the first query. Before that first query
 * the store is prepared once: with auto-migrate on (the default) pending migrations are
 * applied; with it off, a schema that is behind makes queries fail with reason
 * 'missing-migration' (re-checked on every query until someone runs `provably migrate`).
 */
import { resolve } from 'node:path';
import { type Env, readAutoMigrate, readStoreConfig, type StoreConfig } from '../config/index.js';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { migrate, renameOperation, type Session, type SessionStore, schemaStatus } from './migrate.js';
import { MEMORY_DATA_DIR, PgliteStore } from './pglite.js';
import { PostgresStore } from './postgres.js';
import type { Queryable, QueryResult, StoreBackend } from './types.js';
import { withLazyWasmTierUp } from './wasm-tiering.js';

export interface OpenStoreOptions extends Partial<StoreConfig> {
  /** Forces a backend; by default PostgreSQL when a database URL is configured. */
  backend?: StoreBackend;
  /** Apply pending migrations on first use (default: PROVABLY_AUTO_MIGRATE, else on). */
  autoMigrate?: boolean;
  /** Where settings not given here are read from (default process.env). */
  env?: Env;
  /** PGlite only: initial contents for a store without a database yet (a dumpDataDir() tarball). */
  loadDataDir?: Blob;
  /** PostgreSQL only: how long to wait for a connection (default 10 s). */
  connectTimeoutMs?: number;
}

/** What openStore() returns: a Store that can also lend a dedicated connection. */
export interface ProvablyStore extends SessionStore {
  /** Where the data lives, for messages: the URL without password, or the data dir. */
  readonly location: string;
  /** The backend object underneath (no first-use preparation): for tools and tests. */
  readonly driver: PostgresStore | PgliteStore;
}

export function openStore(options: OpenStoreOptions = {}): ProvablyStore {
  const env = options.env ?? process.env;
  const fromEnv = readStoreConfig(env);
  // An explicit `databaseUrl: undefined` means "no PostgreSQL", even if the environment has one.
  const databaseUrl = 'databaseUrl' in options ? options.databaseUrl : fromEnv.databaseUrl;
  const backend = options.backend ?? (databaseUrl ? 'postgres' : 'pglite');
  const autoMigrate = options.autoMigrate ?? readAutoMigrate(env);
  let driver: PostgresStore | PgliteStore;
  if (backend === 'postgres') {
    if (!databaseUrl) {
      throw new ProvablyStoreError(
        'open',
        'missing-database',
        'the postgres backend needs a database URL (PROVABLY_DATABASE_URL or POSTGRES_URL)',
      );
    }
    driver = new PostgresStore({
      url: databaseUrl,
      poolSize: options.poolSize ?? fromEnv.poolSize,
      connectTimeoutMs: options.connectTimeoutMs,
    });
  } else {
    driver = new PgliteStore({ dataDir: dataDirOf(options, env, fromEnv), loadDataDir: options.loadDataDir });
  }
  return new PreparedStore(driver, autoMigrate);
}

/** The option, else the environment; absolute unless 'memory://'. */
function dataDirOf(options: OpenStoreOptions, env: Env, fromEnv: StoreConfig): string {
  const given = options.dataDir ?? env.PROVABLY_DATA_DIR?.trim();
  if (given === MEMORY_DATA_DIR) return given;
  // readStoreConfig already resolved the environment's value (and would mangle 'memory://').
  return options.dataDir === undefined ? fromEnv.dataDir : resolve(options.dataDir);
}

/** Runs the first-use preparation (auto-migrate or schema check) before queries. */
class PreparedStore implements ProvablyStore {
  readonly driver: PostgresStore | PgliteStore;
  readonly #autoMigrate: boolean;
  #ready = false;
  #preparing: Promise<void> | undefined;

  constructor(driver: PostgresStore | PgliteStore, autoMigrate: boolean) {
    this.driver = driver;
    this.#autoMigrate = autoMigrate;
  }

  get backend(): StoreBackend {
    return this.driver.backend;
  }

  get location(): string {
    return this.driver instanceof PostgresStore ? this.driver.location : this.driver.dataDir;
  }

  async query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    if (!this.#ready) await this.#prepare('query');
    return this.driver.query<R>(sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (!this.#ready) await this.#prepare('transaction');
    return this.driver.transaction(fn);
  }

  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return this.driver.withSession(fn);
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  #prepare(operation: string): Promise<void> {
    // Concurrent first queries share one preparation; a failed one is retried next time.
    // The embedded store's open and its first queries are one start-up burst: see wasm-tiering.ts.
    const prepare = () => (this.#autoMigrate ? this.#migrate() : this.#check(operation));
    this.#preparing ??= (this.driver instanceof PgliteStore ? withLazyWasmTierUp(prepare) : prepare()).then(
      () => {
        this.#ready = true;
      },
      (err: unknown) => {
        this.#preparing = undefined;
        throw err;
      },
    );
    return this.#preparing;
  }

  async #migrate(): Promise<void> {
    try {
      const { applied } = await migrate(this.driver);
      if (applied.length > 0) diag.info(`migrated ${this.location} (applied ${applied.join(', ')})`);
    } catch (err) {
      throw renameOperation(err, 'migrate (automatic, before the first query)');
    }
  }

  async #check(operation: string): Promise<void> {
    const status = await schemaStatus(this.driver).catch((err: unknown) => {
      throw renameOperation(err, operation);
    });
    if (status.current < status.latest) {
      throw new ProvablyStoreError(
        operation,
        'missing-migration',
        `the database schema is at version ${status.current} but this provably needs ${status.latest}; ` +
          'run `provably migrate` (automatic migration is off: PROVABLY_AUTO_MIGRATE=0)',
      );
    }
  }
}

// The default store lives in a global slot, not in module state: the ESM preload and a CommonJS
// `require('provably')` in the same process load separate module copies, and both must use the
// one store (an embedded data dir can only be opened once per process).
const SLOT = Symbol.for('provably.defaultStore.v1');
type GlobalWithStore = typeof globalThis & { [SLOT]?: ProvablyStore };

/** The process-wide store from the environment, created on first call (connecting later). */
export function getDefaultStore(): ProvablyStore {
  const g = globalThis as GlobalWithStore;
  g[SLOT] ??= openStore();
  return g[SLOT];
}

/** Closes the default store (if any); the next getDefaultStore() opens a fresh one. */
export async function closeDefaultStore(): Promise<void> {
  const g = globalThis as GlobalWithStore;
  const store = g[SLOT];
  g[SLOT] = undefined;
  await store?.close();
}
