// One embedded data dir, one process: a second process gets a clear 'locked' error, a dead
// owner's lock is taken over, and the lock goes away on close and on exit.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { LOCK_FILE, openStore } from '../../src/store/index.js';
import { runSourceChild, seedDataDir, srcModule, startSourceChild } from '../helpers/backends.js';

let dir: string;
const lockPath = () => join(dir, LOCK_FILE);

// A child that opens the store in PROVABLY_DATA_DIR, prints `ready <pid>`, and holds it until
// killed (or exits at once with HOLD=0, without closing).
const HOLDER = `
import { openStore } from '${srcModule('store/index.js')}';
const store = openStore({ autoMigrate: true });
await store.query("INSERT INTO trusted_endpoints (org_id, normalized_url, entry_type) VALUES ('child', 'https://' || $1 || '.test/', 'exact')", [String(process.pid)]);
console.log('ready ' + process.pid);
if (process.env.HOLD !== '0') setInterval(() => {}, 1000);
`;

// A child that tries the same dir and reports what happened as JSON.
const CONTENDER = `
import { openStore } from '${srcModule('store/index.js')}';
const store = openStore({ autoMigrate: true });
try { await store.query('SELECT 1'); console.log(JSON.stringify({ ok: true })); }
catch (e) { console.log(JSON.stringify({ ok: false, reason: e.reason, message: e.message })); }
`;

const childEnv = () => ({
  PROVABLY_DATA_DIR: dir,
  PROVABLY_DATABASE_URL: undefined,
  POSTGRES_URL: undefined,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provably-lock-'));
  // Seeded from the migrated image: every process below reopens it (~0.3 s) instead of initdb.
  await seedDataDir(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('embedded data dir lock', () => {
  it('refuses a second process while the first holds the dir, then takes over when it dies', async () => {
    const holder = startSourceChild(HOLDER, { env: childEnv() });
    try {
      const line = await holder.waitForLine(/^ready \d+/, 60_000);
      const pid = Number(line.split(' ')[1]);
      const lock = JSON.parse(readFileSync(lockPath(), 'utf8'));
      expect(lock).toMatchObject({ pid });
      expect(new Date(lock.startedAt).getTime()).toBeLessThanOrEqual(Date.now());

      const store = openStore({ backend: 'pglite', dataDir: dir, autoMigrate: true });
      try {
        const err = await store.query('SELECT 1').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProvablyStoreError);
        expect(err).toMatchObject({ reason: 'locked' });
        const message = (err as Error).message;
        expect(message).toContain(`process ${pid}`);
        expect(message).toContain('PostgreSQL');
        expect(message).toContain('PROVABLY_DATABASE_URL');

        // Killed without any chance to clean up: the lock file stays, its pid is dead.
        holder.process.kill('SIGKILL');
        await holder.exited;
        expect(existsSync(lockPath())).toBe(true);

        // The same store retries the open on its next use and takes the stale lock over.
        const rows = await store.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM trusted_endpoints WHERE org_id = 'child'",
        );
        expect(rows.rows).toEqual([{ n: 1 }]);
        expect(JSON.parse(readFileSync(lockPath(), 'utf8')).pid).toBe(process.pid);
      } finally {
        await store.close();
      }
      expect(existsSync(lockPath())).toBe(false);
    } finally {
      holder.process.kill('SIGKILL');
    }
  });

  it('gives the second process a locked error while this process holds the dir', async () => {
    const store = openStore({ backend: 'pglite', dataDir: dir, autoMigrate: true });
    try {
      await store.query('SELECT 1');
      const contender = await runSourceChild(CONTENDER, { env: childEnv() });
      expect(contender.code, contender.stderr).toBe(0);
      const outcome = JSON.parse(contender.stdout.trim().split('\n').at(-1) as string);
      expect(outcome).toMatchObject({ ok: false, reason: 'locked' });
      expect(outcome.message).toContain(`process ${process.pid}`);

      // A second store object in this same process is refused too (two PGlites on one dir).
      const twin = openStore({ backend: 'pglite', dataDir: dir, autoMigrate: false });
      await expect(twin.query('SELECT 1')).rejects.toMatchObject({ reason: 'locked' });
      await expect(twin.query('SELECT 1')).rejects.toThrow(/this process/);
      await twin.close();
    } finally {
      await store.close();
    }
    expect(existsSync(lockPath())).toBe(false);
  });

  it('releases the lock when the owning process exits without closing', async () => {
    const child = await runSourceChild(HOLDER, { env: { ...childEnv(), HOLD: '0' } });
    expect(child.code, child.stderr).toBe(0);
    expect(child.stdout).toMatch(/^ready/m);
    expect(existsSync(lockPath())).toBe(false);
  });

  it('takes over a lock whose pid is ours but whose token is not (a restarted container)', async () => {
    writeFileSync(
      lockPath(),
      JSON.stringify({ pid: process.pid, startedAt: new Date(0).toISOString(), host: 'x', token: 'old' }),
    );
    // Another host's lock cannot be checked: it counts as held.
    const store = openStore({ backend: 'pglite', dataDir: dir, autoMigrate: false });
    await expect(store.query('SELECT 1')).rejects.toThrow(/on host x/);
    const { hostname } = await import('node:os');
    writeFileSync(
      lockPath(),
      JSON.stringify({
        pid: process.pid,
        startedAt: new Date(0).toISOString(),
        host: hostname(),
        token: 'old',
      }),
    );
    try {
      const n = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM trusted_endpoints');
      expect(n.rows[0]?.n).toBeGreaterThanOrEqual(1);
    } finally {
      await store.close();
    }
    expect(existsSync(lockPath())).toBe(false);
  });
});
