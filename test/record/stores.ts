/** Stores for the record tests, opened through the real src/store. */
import { MEMORY_DATA_DIR, openStore } from '../../src/store/index.js';
import type { Queryable, Store, StoreBackend } from '../../src/store/types.js';
import { type TestBackend, type TestStore, useTestStore } from '../helpers/backends.js';

/** An embedded store (in memory unless `dataDir` is given), opened and migrated. */
export async function openPgliteStore(dataDir?: string): Promise<Store> {
  const store = openStore({ backend: 'pglite', dataDir: dataDir ?? MEMORY_DATA_DIR, env: {} });
  await store.query('SELECT 1');
  return store;
}

/** A PostgreSQL store (connects and migrates on first query). */
export function openPgStore(url: string, poolSize = 10): Store {
  return openStore({ databaseUrl: url, poolSize, env: {}, connectTimeoutMs: 2000 });
}

/**
 * The record suites' view of a shared test backend: a fresh migrated store per describe block,
 * plus an observer that reads through a separate connection (PostgreSQL: its own pool; PGlite,
 * which has one connection: the same instance).
 */
export interface RecordContext {
  readonly name: StoreBackend;
  readonly store: TestStore;
  readonly observer: Queryable;
  /** PostgreSQL: the superuser URL of the test database. */
  readonly url: string | undefined;
}

export function useRecordContext(backend: TestBackend): () => RecordContext {
  const store = useTestStore(backend);
  return () => {
    const s = store();
    return {
      name: backend.name,
      store: s,
      observer: { query: (sql, params) => s.raw.query(sql, params) },
      url: s.raw.url,
    };
  };
}
