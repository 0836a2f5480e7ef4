// Concurrent migrate() against one real PostgreSQL database: the advisory lock makes
// processes take turns, so each migration is applied exactly once and nobody fails.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, openStore } from '../../src/store/index.js';
import { type SourceChild, srcModule, startSourceChild } from '../helpers/backends.js';
import { adminQuery, createTestDatabase, testDatabaseUrl } from '../helpers/postgres.js';

const LATEST = MIGRATIONS.length;
// Holds the lock for a second, so the two processes certainly overlap.
const SLOW = { version: LATEST + 1, name: 'slow', sql: 'SELECT pg_sleep(1)' };

const MIGRATOR = `
import { MIGRATIONS, migrate, openStore } from '${srcModule('store/index.js')}';
const store = openStore({ autoMigrate: false });
await store.driver.query('SELECT 1');
console.log('waiting');
await new Promise((r) => process.stdin.once('data', r));
const result = await migrate(store, { migrations: [...MIGRATIONS, ${JSON.stringify(SLOW)}] });
console.log(JSON.stringify(result));
await store.close();
process.stdin.destroy();
`;

describe.skipIf(!testDatabaseUrl())('concurrent migrations [postgres]', () => {
  it('two processes migrating at once apply each migration exactly once', async () => {
    const db = await createTestDatabase();
    const children: SourceChild[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        children.push(startSourceChild(MIGRATOR, { env: { PROVABLY_DATABASE_URL: db.url } }));
      }
      await Promise.all(children.map((c) => c.waitForLine('waiting', 60_000)));
      for (const c of children) c.process.stdin?.write('go\n');

      // While one holds the lock, the other waits for it inside PostgreSQL.
      await expect
        .poll(
          async () =>
            (
              await adminQuery<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                 WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1`,
                [db.name],
              )
            ).rows[0]?.n,
          { timeout: 10_000, interval: 50 },
        )
        .toBe(1);

      const results = await Promise.all(children.map((c) => c.exited));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const outcomes = results.map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1) as string));
      const applied = outcomes.map((o) => o.applied).sort((a, b) => a.length - b.length);
      expect(applied).toEqual([[], [...MIGRATIONS.map((m) => m.version), SLOW.version]]);
      expect(outcomes.map((o) => o.current)).toEqual([SLOW.version, SLOW.version]);

      const rows = await adminQuery('SELECT version FROM schema_migrations ORDER BY version', [], db.url);
      expect(rows.rows.map((r) => r.version)).toEqual([...MIGRATIONS.map((m) => m.version), SLOW.version]);
    } finally {
      for (const c of children) c.process.kill('SIGKILL');
      await db.drop();
    }
  });

  it('many pools migrating at once in one process agree too', async () => {
    const db = await createTestDatabase();
    const stores = Array.from({ length: 6 }, () =>
      openStore({ backend: 'postgres', databaseUrl: db.url, poolSize: 2, autoMigrate: false }),
    );
    try {
      const results = await Promise.all(stores.map((s) => migrate(s)));
      const appliers = results.filter((r) => r.applied.length > 0);
      expect(appliers).toEqual([{ applied: MIGRATIONS.map((m) => m.version), current: LATEST }]);
      expect(results.every((r) => r.current === LATEST)).toBe(true);
      // And auto-migrating stores racing on first use are fine as well.
      const auto = Array.from({ length: 4 }, () =>
        openStore({ backend: 'postgres', databaseUrl: db.url, poolSize: 1, autoMigrate: true }),
      );
      await Promise.all(auto.map((s) => s.query('SELECT count(*) FROM provably_intercepts')));
      await Promise.all(auto.map((s) => s.close()));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });
  it('an up-to-date schema is answered without waiting for the migration lock; a behind one still waits', async () => {
    const db = await createTestDatabase();
    const holder = new pg.Client({ connectionString: db.url });
    const store = openStore({ backend: 'postgres', databaseUrl: db.url, poolSize: 2, autoMigrate: false });
    try {
      expect((await migrate(store)).applied).toHaveLength(LATEST);
      await holder.connect();
      // Another process is migrating right now (holds the lock: 0x70727662 "prvb", 1).
      await holder.query('SELECT pg_advisory_lock(1886549602, 1)');
      expect(await migrate(store)).toEqual({ applied: [], current: LATEST });
      // Something to apply: that one must wait its turn.
      let settled = false;
      const behind = migrate(store, { migrations: [...MIGRATIONS, SLOW] }).finally(() => {
        settled = true;
      });
      await expect
        .poll(
          async () =>
            (
              await adminQuery<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                 WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1`,
                [db.name],
              )
            ).rows[0]?.n,
          { timeout: 10_000, interval: 50 },
        )
        .toBe(1);
      expect(settled).toBe(false);
      await holder.query('SELECT pg_advisory_unlock(1886549602, 1)');
      expect(await behind).toEqual({ applied: [SLOW.version], current: SLOW.version });
    } finally {
      await holder.end().catch(() => {});
      await store.close();
      await db.drop();
    }
  });
});
