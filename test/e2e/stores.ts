/**
 * Real stores for the end-to-end suite, as an agent process sees them through its environment.
 *
 *   describeE2E('recording', (backend) => {
 *     const stores = useE2EStores(backend);
 *     it('…', async () => {
 *       const store = await stores.fresh();          // per test
 *       await store.trust(server.url);              // API in THIS process, store closed after
 *       const run = await runAgent('x.mjs', { env: store.env({ TRUSTED: server.url }) });
 *       const rows = await store.rows();            // opened after the child exited
 *     });
 *   });
 *
 * - pglite: a fresh embedded data dir per test (a copy of a migrated template made once per
 *   test file, so no child pays initdb); all of them are removed after the describe block. An embedded data dir belongs to one process at a time:
 *   trust() and rows() open and CLOSE it around their work, so never call them while a child
 *   that uses the same store runs.
 * - postgres (when PROVABLY_TEST_DATABASE_URL is set): one fresh database per describe block
 *   (i.e. per test file and backend), dropped afterwards; every fresh() gets its own org
 *   (PROVABLY_ORG_ID), so tests in a file never see each other's endpoints or rows.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { type InterceptRecord, listIntercepts } from '../../src/record/index.js';
import { migrate, openStore, type ProvablyStore } from '../../src/store/index.js';
import { addTrustedEndpoint, removeTrustedEndpoint } from '../../src/trust/index.js';
import { cleanEnv } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testDatabaseUrl } from '../helpers/postgres.js';

export type BackendName = 'pglite' | 'postgres';

export function e2eBackends(): BackendName[] {
  return testDatabaseUrl() ? ['pglite', 'postgres'] : ['pglite'];
}

/** describe(`${title} [backend]`) once per configured backend. */
export function describeE2E(title: string, fn: (backend: BackendName) => void): void {
  for (const backend of e2eBackends()) describe(`${title} [${backend}]`, () => fn(backend));
}

export interface E2EStore {
  readonly backend: BackendName;
  readonly orgId: string;
  /** The store settings alone (PROVABLY_DATA_DIR or PROVABLY_DATABASE_URL, PROVABLY_ORG_ID). */
  readonly settings: Record<string, string>;
  /** A clean environment for an agent or the CLI on this store, plus `extra`. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Trusts `urls` for this store's org (API, in this process; the store is closed afterwards). */
  trust(...urls: string[]): Promise<void>;
  untrust(...urls: string[]): Promise<void>;
  /** This org's rows, oldest first (the store is opened and closed around the read). */
  rows(options?: { agentId?: string; actionName?: string }): Promise<InterceptRecord[]>;
  /** Runs `fn` with the store open (closed afterwards). */
  withStore<T>(fn: (store: ProvablyStore) => Promise<T>): Promise<T>;
}

export interface E2EStores {
  fresh(): Promise<E2EStore>;
}

let orgCounter = 0;
let template: Promise<string> | undefined;

/** A migrated, cleanly closed embedded data dir that fresh stores are copied from. */
function pgliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-e2e-template-')), '.provably');
    const store = openStore({ backend: 'pglite', dataDir: dir, autoMigrate: false, env: {} });
    try {
      await migrate(store);
    } finally {
      await store.close();
    }
    return dir;
  })();
  return template;
}

async function dropPgliteTemplate(): Promise<void> {
  const made = template;
  template = undefined;
  const dir = await made?.catch(() => undefined);
  // The template is <tmp>/provably-e2e-template-XXXX/.provably: remove its parent.
  if (dir !== undefined) rmSync(join(dir, '..'), { recursive: true, force: true });
}

export function useE2EStores(backend: BackendName): E2EStores {
  let db: TestDatabase | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    if (backend === 'postgres') {
      db = await createTestDatabase();
      const store = openStore({ backend: 'postgres', databaseUrl: db.url, autoMigrate: false, env: {} });
      try {
        await migrate(store);
      } finally {
        await store.close();
      }
    } else {
      await pgliteTemplate();
    }
  });
  afterAll(async () => {
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (backend === 'pglite') await dropPgliteTemplate();
  });

  return {
    async fresh() {
      const orgId = `e2e-${process.pid}-${++orgCounter}`;
      let settings: Record<string, string>;
      let open: () => ProvablyStore;
      if (backend === 'postgres') {
        if (!db) throw new Error('useE2EStores: fresh() is only available inside tests');
        const url = db.url;
        // On PostgreSQL the default signing key is per user (XDG_CONFIG_HOME): a private one.
        const config = mkdtempSync(join(tmpdir(), 'provably-e2e-config-'));
        dirs.push(config);
        settings = { PROVABLY_DATABASE_URL: url, PROVABLY_ORG_ID: orgId, XDG_CONFIG_HOME: config };
        open = () =>
          openStore({ backend: 'postgres', databaseUrl: url, poolSize: 2, autoMigrate: false, env: {} });
      } else {
        const parent = mkdtempSync(join(tmpdir(), 'provably-e2e-'));
        dirs.push(parent);
        const dataDir = join(parent, '.provably');
        cpSync(await pgliteTemplate(), dataDir, { recursive: true });
        settings = { PROVABLY_DATA_DIR: dataDir, PROVABLY_ORG_ID: orgId };
        open = () => openStore({ backend: 'pglite', dataDir, autoMigrate: false, env: {} });
      }
      const withStore = async <T>(fn: (store: ProvablyStore) => Promise<T>): Promise<T> => {
        const store = open();
        try {
          return await fn(store);
        } finally {
          await store.close();
        }
      };
      return {
        backend,
        orgId,
        settings,
        env: (extra = {}) => cleanEnv({ ...settings, ...extra }),
        trust: (...urls) =>
          withStore(async (store) => {
            for (const url of urls) await addTrustedEndpoint(url, { orgId, store });
          }),
        untrust: (...urls) =>
          withStore(async (store) => {
            for (const url of urls) await removeTrustedEndpoint(url, { orgId, store });
          }),
        rows: (options = {}) =>
          withStore((store) => listIntercepts(store, { orgId, order: 'asc', limit: 10_000, ...options })),
        withStore,
      };
    },
  };
}

/** Response body of a row as text (the kept wire bytes; identity-encoded bodies only). */
export function bodyText(row: InterceptRecord): string {
  return Buffer.from(row.responseBody ?? new Uint8Array()).toString('utf8');
}
