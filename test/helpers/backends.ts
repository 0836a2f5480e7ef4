/**
 * Store backends for tests: run one suite on PGlite and, when PROVABLY_TEST_DATABASE_URL is
 * set, on PostgreSQL too.
 *
 *   import { describeEachBackend, useTestStore } from '../helpers/backends.js';
 *
 *   describeEachBackend('trust registry', (backend) => {
 *     const store = useTestStore(backend);     // fresh migrated store for this describe block
 *     it('adds', async () => {
 *       await store().query('INSERT INTO trusted_endpoints ...', [...]);
 *     });
 *   });
 *
 * backend.open(options?) → a fresh, isolated TestStore; close() it when done (useTestStore
 * does). PGlite: in memory, cloned from a cached migrated image (~0.5 s); PostgreSQL: a new
 * database per open(), dropped on close(). Test files can run in parallel.
 *   { migrated: false }   empty schema;  { autoMigrate: true } migrate on first use (default off)
 *
 * store.raw: superuser access that bypasses provably's layer, for tamper tests:
 *   raw.query(sql, params)  as the database superuser, normalized like the store (PostgreSQL:
 *                           its own connection, not the store's pool; PGlite: the store's queue)
 *   raw.url                 PostgreSQL: superuser URL of the test database
 *   raw.pglite()            PGlite: the instance (outside the queue: not while work is in flight)
 * Embedded data dirs on disk (CLI tests, lock tests): seedDataDir(dir, 'migrated' | 'empty')
 * fills a new dir from the cached image; pgliteImage(kind) gives the image itself.
 *
 * Child processes: startSourceChild(code) / runSourceChild(code) run an ES module body in a new
 * Node process that can import the TypeScript sources: import from srcModule('store/index.js').
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe } from 'vitest';
import {
  MIGRATIONS,
  migrate,
  openStore,
  PgliteStore,
  PostgresStore,
  type ProvablyStore,
  type QueryResult,
  type StoreBackend,
} from '../../src/store/index.js';
import { createTestDatabase, testDatabaseUrl } from './postgres.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface OpenTestStoreOptions {
  /** Apply all migrations before returning (default true). */
  migrated?: boolean;
  /** Migrate on first query like the default store (default false). */
  autoMigrate?: boolean;
}

export interface RawAccess {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  url?: string;
  pglite?: () => Promise<PGlite>;
}

export interface TestStore extends ProvablyStore {
  readonly raw: RawAccess;
}

export interface TestBackend {
  name: StoreBackend;
  open(options?: OpenTestStoreOptions): Promise<TestStore>;
}

/** PGlite always; PostgreSQL when PROVABLY_TEST_DATABASE_URL is set. */
export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [{ name: 'pglite', open: openPglite }];
  if (testDatabaseUrl()) backends.push({ name: 'postgres', open: openPostgres });
  return backends;
}

/** describe(`${title} [backend]`, …) once per backend. */
export function describeEachBackend(title: string, fn: (backend: TestBackend) => void): void {
  for (const backend of testBackends()) describe(`${title} [${backend.name}]`, () => fn(backend));
}

/** Opens a store in beforeAll and closes it in afterAll; call the getter inside tests. */
export function useTestStore(backend: TestBackend, options?: OpenTestStoreOptions): () => TestStore {
  let store: TestStore | undefined;
  beforeAll(async () => {
    store = await backend.open(options);
  });
  afterAll(async () => {
    await store?.close();
  });
  return () => {
    if (!store) throw new Error('useTestStore: the store is only available inside tests (after beforeAll)');
    return store;
  };
}

// PGlite images (data dir tarballs) that every in-memory test store is cloned from: initdb
// costs ~1.5 s, a clone ~0.5 s. Vitest runs each test file in a fresh process, so the images
// are also cached on disk, keyed by the PGlite version and the migrations' SQL.
export type ImageKind = 'empty' | 'migrated';
let images: Promise<Record<ImageKind, Blob>> | undefined;

/** A PGlite data dir image: `openStore({ backend: 'pglite', loadDataDir })` starts from it. */
export async function pgliteImage(kind: ImageKind = 'migrated'): Promise<Blob> {
  return (await pgliteImages())[kind];
}

/** Makes `dir` an embedded data dir holding the image (cheaper than a first open's initdb). */
export async function seedDataDir(dir: string, kind: ImageKind = 'migrated'): Promise<void> {
  const store = new PgliteStore({ dataDir: dir, loadDataDir: await pgliteImage(kind) });
  try {
    await store.query('SELECT 1');
  } finally {
    await store.close();
  }
}

/** Builds the cached images unless present: global setup runs it once, before the workers. */
export async function ensurePgliteImages(): Promise<void> {
  if (!existsSync(imageFile('empty')) || !existsSync(imageFile('migrated'))) await pgliteImages();
}

const IMAGE_DIR = `${ROOT}node_modules/.cache/provably-tests`;

// Changes with the PGlite version or any migration's SQL, so a stale image is never used.
let cachedKey: string | undefined;
function imageKey(): string {
  if (cachedKey === undefined) {
    const pkg = JSON.parse(readFileSync(`${ROOT}node_modules/@electric-sql/pglite/package.json`, 'utf8'));
    const hash = createHash('sha256').update(`${pkg.version}\0${JSON.stringify(MIGRATIONS)}`);
    cachedKey = hash.digest('hex').slice(0, 16);
  }
  return cachedKey;
}

const imageFile = (kind: ImageKind) => `${IMAGE_DIR}/pglite-${imageKey()}-${kind}.tar`;

function pgliteImages(): Promise<Record<ImageKind, Blob>> {
  images ??= (async () => {
    try {
      const [empty, migrated] = await Promise.all([
        readFile(imageFile('empty')),
        readFile(imageFile('migrated')),
      ]);
      return { empty: new Blob([empty]), migrated: new Blob([migrated]) };
    } catch {
      // Not cached yet: build below.
    }
    const seed = new PgliteStore({ dataDir: 'memory://', packagedImage: false });
    const db = await seed.instance();
    const built = { empty: await db.dumpDataDir('none'), migrated: new Blob([]) };
    await migrate(seed);
    built.migrated = await db.dumpDataDir('none');
    await seed.close();
    try {
      await mkdir(IMAGE_DIR, { recursive: true });
      // Images of other migration sets or PGlite versions are dead weight (40 MB each).
      const key = imageKey();
      for (const f of await readdir(IMAGE_DIR))
        if (!f.includes(key)) await rm(`${IMAGE_DIR}/${f}`, { force: true });
      for (const kind of ['empty', 'migrated'] as const) {
        // Write then rename: parallel workers never read a half-written image.
        const tmp = `${imageFile(kind)}.${process.pid}.tmp`;
        await writeFile(tmp, Buffer.from(await built[kind].arrayBuffer()));
        await rename(tmp, imageFile(kind));
      }
    } catch {
      // An unwritable cache only costs time: the next process builds the images again.
    }
    return built;
  })();
  return images;
}

async function openPglite(options: OpenTestStoreOptions = {}): Promise<TestStore> {
  const t = await pgliteImages();
  const store = openStore({
    backend: 'pglite',
    dataDir: 'memory://',
    loadDataDir: options.migrated === false ? t.empty : t.migrated,
    autoMigrate: options.autoMigrate ?? false,
  });
  const driver = store.driver as PgliteStore;
  const raw: RawAccess = {
    query: (sql, params) => driver.withSession((s) => s.query(sql, params)),
    pglite: () => driver.instance(),
  };
  return decorate(store, raw, async () => {});
}

async function openPostgres(options: OpenTestStoreOptions = {}): Promise<TestStore> {
  const db = await createTestDatabase();
  const store = openStore({
    backend: 'postgres',
    databaseUrl: db.url,
    poolSize: 4,
    autoMigrate: options.autoMigrate ?? false,
  });
  try {
    if (options.migrated !== false) await migrate(store);
  } catch (err) {
    await store.close();
    await db.drop();
    throw err;
  }
  const rawStore = new PostgresStore({ url: db.url, poolSize: 1 });
  const raw: RawAccess = { query: (sql, params) => rawStore.query(sql, params), url: db.url };
  return decorate(store, raw, async () => {
    await rawStore.close();
    await db.drop();
  });
}

function decorate(store: ProvablyStore, raw: RawAccess, afterClose: () => Promise<void>): TestStore {
  let closing: Promise<void> | undefined;
  return {
    backend: store.backend,
    location: store.location,
    driver: store.driver,
    raw,
    query: (sql, params) => store.query(sql, params),
    transaction: (fn) => store.transaction(fn),
    withSession: (fn) => store.withSession(fn),
    close() {
      closing ??= store.close().then(afterClose);
      return closing;
    },
  };
}

// ---- child processes running the TypeScript sources ------------------------------------

/** file: URL of a module under src/, for `import` statements in child code. */
export function srcModule(path: string): string {
  return pathToFileURL(`${ROOT}src/${path}`).href;
}

// Node strips the types itself; this hook maps the sources' `./x.js` imports to `./x.ts`.
const RESOLVE_TS_HOOK = `data:text/javascript,${encodeURIComponent(
  `import { registerHooks } from 'node:module';
registerHooks({ resolve(s, c, next) {
  try { return next(s, c); } catch (e) {
    if (s.endsWith('.js') && e && e.code === 'ERR_MODULE_NOT_FOUND') return next(s.slice(0, -3) + '.ts', c);
    throw e;
  }
} });`,
)}`;

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SourceChild {
  readonly process: ChildProcess;
  /** Resolves with the first stdout line matching; rejects if the child exits first. */
  waitForLine(match: string | RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<ChildResult>;
}

/** env: added to (undefined: removed from) this process's environment. */
export type ChildOptions = { env?: Record<string, string | undefined> };

/** Starts `code` (an ES module body, top-level await allowed) in a new Node process. */
export function startSourceChild(code: string, options: ChildOptions = {}): SourceChild {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const args = ['--no-warnings', '--experimental-strip-types', '--import', RESOLVE_TS_HOOK];
  const child = spawn(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  let closed = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<ChildResult>((resolve) => {
    child.on('close', (code, signal) => {
      closed = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  const waitForLine = async (match: string | RegExp, timeoutMs = 30_000) => {
    const test = (l: string) => (typeof match === 'string' ? l.includes(match) : match.test(l));
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 20))) {
      const line = stdout.split('\n').find(test);
      if (line !== undefined) return line;
      if (closed)
        throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before ${match}: ${stderr}`);
      if (Date.now() > deadline)
        throw new Error(`child did not print ${match} in ${timeoutMs} ms: ${stderr}`);
    }
  };
  return { process: child, waitForLine, exited };
}

/** Runs `code` in a new Node process to completion. */
export async function runSourceChild(code: string, options: ChildOptions = {}): Promise<ChildResult> {
  return startSourceChild(code, options).exited;
}
