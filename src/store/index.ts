/**
 * provably's store: one Store interface over PostgreSQL (`pg`) or embedded PGlite.
 *
 *   const store = openStore();            // from the environment; nothing connects yet
 *   await store.query('SELECT 1');        // opens, migrates (unless PROVABLY_AUTO_MIGRATE=0), runs
 *   await store.transaction(async (tx) => { await tx.query(...); });
 *   await store.close();
 *
 * Settings: PROVABLY_DATABASE_URL (else POSTGRES_URL) selects PostgreSQL; without one the
 * embedded store lives in PROVABLY_DATA_DIR (default ./.provably; 'memory://' for memory);
 * PROVABLY_DB_POOL_SIZE; PROVABLY_AUTO_MIGRATE (default 1).
 *
 * Every failure is a ProvablyStoreError with `operation` and `reason` (connection-refused,
 * auth, missing-database, missing-migration, locked, append-only, query, closed, unknown).
 *
 * Parameters: values go to the drivers as given. For jsonb pass objects or JSON text; a bare
 * JS array is sent as a PostgreSQL array literal by `pg`, so JSON.stringify arrays yourself.
 */
export { classifyStoreError, describePostgresUrl } from './classify.js';
export { type DataDirLock, LOCK_FILE } from './datadir-lock.js';
export { type ChannelHandlers, listenChannel, type StopListening } from './listen.js';
export {
  type MigrateOptions,
  type MigrateResult,
  migrate,
  migrationChecksum,
  type SchemaStatus,
  type Session,
  type SessionStore,
  schemaStatus,
} from './migrate.js';
export { MIGRATIONS, type Migration } from './migrations/index.js';
export {
  closeDefaultStore,
  getDefaultStore,
  type OpenStoreOptions,
  openStore,
  type ProvablyStore,
} from './open.js';
export { MEMORY_DATA_DIR, PgliteStore, type PgliteStoreOptions } from './pglite.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';
export type { Queryable, QueryResult, Store, StoreBackend } from './types.js';
