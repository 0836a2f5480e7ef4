// Nothing opens, connects or migrates before the first query; the default store is a lazy
// singleton; an embedded store left open does not keep the host process alive.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeDefaultStore, getDefaultStore, MIGRATIONS } from '../../src/store/index.js';
import { runSourceChild, seedDataDir, srcModule, startSourceChild } from '../helpers/backends.js';

describe('lazy stores', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await closeDefaultStore();
    vi.unstubAllEnvs();
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('opens and connects nothing until the first query', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const dir = await mkdtemp(join(tmpdir(), 'provably-lazy-'));
    const dataDir = join(dir, 'data');
    try {
      const child = await runSourceChild(
        `
        import { createRequire } from 'node:module';
        import { existsSync } from 'node:fs';
        const store = await import('${srcModule('store/index.js')}');
        const embedded = store.getDefaultStore();
        const remote = store.openStore({ databaseUrl: 'postgres://u:p@127.0.0.1:${port}/db' });
        await new Promise((r) => setTimeout(r, 200));
        const loaded = Object.keys(createRequire(import.meta.url).cache);
        console.log(JSON.stringify({
          backends: [embedded.backend, remote.backend],
          dataDirExists: existsSync(${JSON.stringify(dataDir)}),
          pgLoaded: loaded.some((k) => k.includes('/node_modules/pg/')),
        }));
        const err = await remote.query('SELECT 1').catch((e) => e);
        console.log(JSON.stringify({ reason: err.reason }));
        `,
        { env: { PROVABLY_DATA_DIR: dataDir, PROVABLY_DATABASE_URL: undefined, POSTGRES_URL: undefined } },
      );
      expect(child.code, child.stderr).toBe(0);
      const [before, after] = child.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(before).toEqual({ backends: ['pglite', 'postgres'], dataDirExists: false, pgLoaded: false });
      // The first query did reach the server (which hung up on it).
      expect(after.reason).toBe('connection-refused');
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  const emptyDataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provably-default-'));
    dirs.push(dir);
    await seedDataDir(dir, 'empty');
    return dir;
  };

  it('shares one default store, migrated on first use, and replaces it after close', async () => {
    vi.stubEnv('PROVABLY_DATA_DIR', await emptyDataDir());
    vi.stubEnv('PROVABLY_DATABASE_URL', '');
    vi.stubEnv('POSTGRES_URL', '');
    vi.stubEnv('PROVABLY_AUTO_MIGRATE', '');
    const store = getDefaultStore();
    expect(getDefaultStore()).toBe(store);
    expect(store.backend).toBe('pglite');
    const rows = await store.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await closeDefaultStore();
    const next = getDefaultStore();
    expect(next).not.toBe(store);
    await expect(store.query('SELECT 1')).rejects.toMatchObject({ reason: 'closed' });
  });

  it('honours PROVABLY_AUTO_MIGRATE=0 for the default store', async () => {
    vi.stubEnv('PROVABLY_DATA_DIR', await emptyDataDir());
    vi.stubEnv('PROVABLY_DATABASE_URL', '');
    vi.stubEnv('POSTGRES_URL', '');
    vi.stubEnv('PROVABLY_AUTO_MIGRATE', '0');
    await expect(getDefaultStore().query('SELECT 1')).rejects.toMatchObject({ reason: 'missing-migration' });
  });

  it('does not keep the process alive when an embedded store is left open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provably-exit-'));
    try {
      // A reopened data dir arms both PostgreSQL timers (startup progress, stats flush).
      await seedDataDir(dir);
      const child = startSourceChild(
        `
        import { getDefaultStore } from '${srcModule('store/index.js')}';
        const s = getDefaultStore();
        await s.query("INSERT INTO trusted_endpoints (org_id, normalized_url, entry_type) VALUES ('o', 'https://' || $1 || '.test/', 'exact')", [String(Math.random())]);
        await s.query('SELECT count(*) FROM trusted_endpoints');
        console.log('ready');
        `,
        { env: { PROVABLY_DATA_DIR: dir, PROVABLY_DATABASE_URL: undefined, POSTGRES_URL: undefined } },
      );
      await child.waitForLine('ready', 60_000);
      const readyAt = Date.now();
      const result = await child.exited;
      expect(result.code, result.stderr).toBe(0);
      // PostgreSQL's 10 s stats timer would hold it; well under that means it was unref'd.
      expect(Date.now() - readyAt).toBeLessThan(5_000);
      expect(existsSync(join(dir, 'store.lock'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
