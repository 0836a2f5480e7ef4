/**
 * The embedded store: PGlite (PostgreSQL compiled to WebAssembly) in `<dataDir>/pglite`, or in
 * memory for `dataDir: 'memory://'`.
 *
 * - Opened on first use, never at import: PGlite itself is imported then too, while its wasm
 *   module compiles and its file-system bundle is read off the main thread (pglite-assets.ts;
 *   an agent starts those at its first scope already). A new database
 *   is unpacked from the packaged initialized image (pglite-image.ts, ~0.7 s; initdb would
 *   take ~4 s); reopening one costs ~0.35 s. PGlite keeps compiled WebAssembly modules per
 *   process, so later instances in one process skip compilation.
 * - PGlite has a single connection, so every query, transaction and session runs through one
 *   queue: a query issued while another async path holds a transaction waits for it instead of
 *   landing inside it.
 * - A disk data dir is locked to this process (datadir-lock.ts) until close() or exit.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite, Results } from '@electric-sql/pglite';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { classifyStoreError, parseInt8 } from './classify.js';
import { acquireDataDirLock, type DataDirLock } from './datadir-lock.js';
import { type Exec, type ExecResult, runTransaction, type Session, type SessionStore } from './migrate.js';
import { pgliteAssets } from './pglite-assets.js';
import { pgliteImagePath, readPgliteImage } from './pglite-image.js';
import type { Queryable, QueryResult } from './types.js';
import { withLazyWasmTierUp } from './wasm-tiering.js';

export const MEMORY_DATA_DIR = 'memory://';

export interface PgliteStoreOptions {
  /** A directory (created if missing), or 'memory://' for a store that vanishes on close. */
  dataDir: string;
  /**
   * Initial contents (a PGlite `dumpDataDir()` tarball) for a store that has no database yet
   * (memory, or a new data dir); ignored once the dir holds one. Tests clone a migrated image
   * this way instead of paying initdb (~1.5 s) for every store.
   */
  loadDataDir?: Blob;
  /**
   * Start a new database from the packaged initialized (migrated) image (default true); false
   * runs initdb, for a truly empty schema. PROVABLY_PGLITE_IMAGE=none does the same globally.
   */
  packagedImage?: boolean;
}

const INT8 = 20;

export class PgliteStore implements SessionStore {
  readonly backend = 'pglite' as const;
  readonly dataDir: string;
  readonly #loadDataDir: Blob | undefined;
  readonly #packagedImage: boolean;
  readonly #target: string;
  #db: Promise<PGlite> | undefined;
  #lock: DataDirLock | undefined;
  // The queue: each operation starts when the previous one settled.
  #tail: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  // Marks the async context of a running transaction/session, to catch re-entrant use.
  readonly #inside = new AsyncLocalStorage<{ active: boolean }>();

  constructor(options: PgliteStoreOptions) {
    this.dataDir = options.dataDir;
    this.#loadDataDir = options.loadDataDir;
    this.#packagedImage = options.packagedImage !== false;
    this.#target = this.isMemory ? 'in-memory embedded store' : `embedded store in ${this.dataDir}`;
  }

  get isMemory(): boolean {
    return this.dataDir === MEMORY_DATA_DIR;
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.#exclusive('query', (db) => this.#exec(db)(sql, params) as Promise<QueryResult<R>>);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#exclusive('transaction', (db) => runTransaction(this.#exec(db), fn));
  }

  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return this.#exclusive('session', (db) => {
      const exec = this.#exec(db);
      return fn({
        query: exec as Session['query'],
        transaction: (inner) => runTransaction(exec, inner),
      });
    });
  }

  /**
   * The underlying PGlite instance, opened if needed: raw access for tools and tests. Calls on
   * it bypass the queue, so make them only while no store work is in flight.
   */
  instance(): Promise<PGlite> {
    return this.#exclusive('open', async (db) => db);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Let everything already queued finish, then shut down.
    await this.#tail.catch(() => {});
    const db = this.#db;
    this.#db = undefined;
    try {
      if (db) await (await db.catch(() => undefined))?.close();
    } catch (err) {
      diag.warn(`closing the ${this.#target} failed`, err);
    } finally {
      await this.#lock?.release();
      this.#lock = undefined;
    }
  }

  #exclusive<T>(operation: string, fn: (db: PGlite) => Promise<T>): Promise<T> {
    if (this.#closing) {
      return Promise.reject(new ProvablyStoreError(operation, 'closed', `the ${this.#target} was closed`));
    }
    if (this.#inside.getStore()?.active) {
      // Waiting would deadlock: the transaction we would wait for is waiting for us.
      return Promise.reject(
        new ProvablyStoreError(
          operation,
          'query',
          'the embedded store was used from inside its own transaction/session; use the `tx` handle ' +
            'the transaction function receives (PGlite has one connection, so this call would wait forever)',
        ),
      );
    }
    const run = this.#tail.then(async () => {
      const db = await this.#open();
      const marker = { active: true };
      try {
        return await this.#inside.run(marker, () => fn(db));
      } finally {
        marker.active = false;
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  #open(): Promise<PGlite> {
    if (!this.#db) {
      const opening = withLazyWasmTierUp(() => this.#doOpen());
      // A failed open (locked, unreadable dir) is retried by the next call, not cached.
      opening.catch(() => {
        if (this.#db === opening) this.#db = undefined;
      });
      this.#db = opening;
    }
    return this.#db;
  }

  async #doOpen(): Promise<PGlite> {
    // The artifacts load off the main thread while PGlite's JavaScript is imported and the lock
    // is taken (pglite-assets.ts); they are awaited only when PGlite needs them.
    const assets = pgliteAssets();
    const { PGlite } = await import('@electric-sql/pglite');
    const parsers = { [INT8]: parseInt8 };
    const startParams = [
      ...PGlite.defaultStartParams,
      // Reopening an existing data dir arms PostgreSQL's startup-progress timer (a 10 s
      // setitimer, i.e. a ref'd Node timer) and keeps re-arming it: the host process would
      // never exit on its own. The progress log is useless here, so the timer is turned off.
      '-c',
      'log_startup_progress_interval=0',
      // PGlite's default 128 MB of shared buffers is allocated and cleared at every start:
      // 32 MB opens ~100 ms faster (measured: median 460 → 350 ms on 2 cores) and is plenty
      // for one process's own records.
      '-c',
      'shared_buffers=32MB',
    ];
    const create = async (dataDir: string, loadDataDir: Blob | undefined) => {
      const { wasmModule, fsBundle } = await assets;
      return PGlite.create({
        dataDir,
        parsers,
        startParams,
        loadDataDir,
        pgliteWasmModule: wasmModule,
        fsBundle,
      });
    };
    if (this.isMemory) {
      try {
        return unrefPostgresTimers(await this.#createFresh(MEMORY_DATA_DIR, create));
      } catch (err) {
        throw classifyStoreError('open embedded store', err, { target: this.#target });
      }
    }
    let lock: Awaited<ReturnType<typeof acquireDataDirLock>>;
    try {
      await mkdir(this.dataDir, { recursive: true });
      lock = await acquireDataDirLock(this.dataDir);
    } catch (err) {
      throw dataDirError(this.dataDir, err);
    }
    try {
      const pgdata = join(this.dataDir, 'pglite');
      const db = existsSync(join(pgdata, 'PG_VERSION'))
        ? await create(pgdata, undefined)
        : await this.#createFresh(pgdata, create);
      this.#lock = lock;
      return unrefPostgresTimers(db);
    } catch (err) {
      await lock.release();
      throw classifyStoreError('open embedded store', err, { target: this.#target });
    }
  }

  /**
   * A new database: from the caller's image, else from the packaged initialized image
   * (pglite-image.ts, ~0.7 s), else PGlite's own initdb (~4 s). A packaged image that does not
   * start is discarded with a warning and initdb runs instead: it only ever costs time.
   */
  async #createFresh(
    pgdata: string,
    create: (dataDir: string, image: Blob | undefined) => Promise<PGlite>,
  ): Promise<PGlite> {
    if (this.#loadDataDir) return create(pgdata, this.#loadDataDir);
    const image = this.#packagedImage ? await readPgliteImage() : undefined;
    if (!image) return create(pgdata, undefined);
    try {
      return await create(pgdata, image);
    } catch (err) {
      diag.warn(
        `the packaged database image (${pgliteImagePath()}) did not start; creating the database instead`,
        err,
      );
      if (pgdata !== MEMORY_DATA_DIR) await rm(pgdata, { recursive: true, force: true });
      return create(pgdata, undefined);
    }
  }

  #exec(db: PGlite): Exec {
    return async (sql, params) => {
      try {
        // Like pg: without parameters the simple protocol runs, so a multi-statement script
        // works on both backends; the last statement's result is returned.
        if (params === undefined || params.length === 0) {
          return normalize((await db.exec(sql)).at(-1));
        }
        return normalize(await db.query(sql, [...params]));
      } catch (err) {
        throw classifyStoreError('query', err, { target: this.#target });
      }
    };
  }
}

/**
 * The data directory cannot be created or locked (a path through a file, no permission, a
 * read-only file system…): a typed error naming the directory and the setting, never a bare
 * ENOTDIR. A lock held by another process keeps its own `locked` error.
 */
function dataDirError(dataDir: string, err: unknown): ProvablyStoreError {
  if (err instanceof ProvablyStoreError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new ProvablyStoreError(
    'open embedded store',
    'data-dir',
    `the data directory ${dataDir} (PROVABLY_DATA_DIR) cannot be used: ${code ?? message}` +
      (code === undefined ? '' : ` (${message})`),
    { cause: err },
  );
}

/**
 * PostgreSQL arms timers through setitimer, which PGlite maps to a plain (ref'd) setTimeout:
 * after most statements a 10 s stats-flush timer, which keeps the host process alive 10 s
 * after its last query when the store is not closed. Those timers only ever fire between
 * queries and guard nothing we need, so they are unref'd: for exactly the duration of PGlite's
 * synchronous protocol call (no other JavaScript can run meanwhile), setTimeout is swapped for
 * an unref'ing one. If a future PGlite lacks this method, nothing is wrapped (exit is just slower).
 */
function unrefPostgresTimers(db: PGlite): PGlite {
  const run = db.execProtocolRawSync;
  if (typeof run !== 'function') return db;
  db.execProtocolRawSync = function (this: PGlite, message: Uint8Array) {
    // Whatever setTimeout is current (the host's, or a test's fake timers) stays the one used.
    const saved = globalThis.setTimeout;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      const timer = saved(...args);
      timer?.unref?.();
      return timer;
    }) as typeof setTimeout;
    try {
      return run.call(this, message);
    } finally {
      globalThis.setTimeout = saved;
    }
  };
  return db;
}

function normalize(res: Results | undefined): ExecResult {
  const rows = (res?.rows ?? []) as Record<string, unknown>[];
  // rowCount comes from the command tag ("INSERT 0 3", "SELECT 2"), as pg reports it; a tag
  // without a count (DDL) leaves it unset. affectedRows would sum a whole script's statements.
  return { rows, rowCount: res?.rowCount ?? rows.length, command: res?.command ?? '' };
}
