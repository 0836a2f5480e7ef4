// migrate(): ordered, recorded, checksummed, idempotent; auto-migrate and its opt-out.
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { MIGRATIONS, type Migration, migrate, schemaStatus } from '../../src/store/index.js';
import { describeEachBackend } from '../helpers/backends.js';

const LATEST = MIGRATIONS.length;
const EXTRA: Migration = {
  version: LATEST + 1,
  name: 'extra',
  sql: 'CREATE TABLE extra_t (x int); CREATE INDEX ON extra_t (x);',
};

async function tableExists(q: { query: (s: string) => Promise<{ rows: unknown[] }> }, t: string) {
  const r = await q.query(`SELECT to_regclass('${t}')::text AS t`);
  return (r.rows[0] as { t: string | null }).t !== null;
}

describeEachBackend('migrations', (backend) => {
  it('applies everything once on an empty database, then nothing', async () => {
    const store = await backend.open({ migrated: false });
    try {
      expect(await schemaStatus(store)).toEqual({
        current: 0,
        latest: LATEST,
        pending: MIGRATIONS.map((m) => m.version),
      });
      const first = await migrate(store);
      expect(first).toEqual({ applied: MIGRATIONS.map((m) => m.version), current: LATEST });
      expect(await migrate(store)).toEqual({ applied: [], current: LATEST });
      expect(await schemaStatus(store)).toEqual({ current: LATEST, latest: LATEST, pending: [] });

      const rows = await store.query<{ version: number; name: string; applied_at: Date; checksum: string }>(
        'SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version',
      );
      expect(rows.rows.map(({ version, name, checksum }) => ({ version, name, checksum }))).toEqual(
        MIGRATIONS.map((m) => ({
          version: m.version,
          name: m.name,
          checksum: createHash('sha256').update(m.sql).digest('hex'),
        })),
      );
      for (const r of rows.rows) {
        expect(r.applied_at).toBeInstanceOf(Date);
        expect(Math.abs(r.applied_at.getTime() - Date.now())).toBeLessThan(60_000);
      }
      expect(await tableExists(store, 'provably_intercepts')).toBe(true);
      expect(await tableExists(store, 'trusted_endpoints')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('applies only what is new, and refuses a recorded migration whose SQL changed', async () => {
    const store = await backend.open();
    try {
      expect(await migrate(store, { migrations: [...MIGRATIONS, EXTRA] })).toEqual({
        applied: [EXTRA.version],
        current: EXTRA.version,
      });
      expect(await tableExists(store, 'extra_t')).toBe(true);
      // The shipped list is now behind the database: fine, nothing to do.
      expect(await migrate(store)).toEqual({ applied: [], current: EXTRA.version });

      const edited = { ...EXTRA, sql: `${EXTRA.sql} -- edited` };
      const err = await migrate(store, { migrations: [...MIGRATIONS, edited] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvablyStoreError);
      expect(err).toMatchObject({ operation: 'migrate' });
      expect((err as Error).message).toMatch(
        new RegExp(`migration ${EXTRA.version} \\(extra\\) was applied with checksum .* ships .*never edit`),
      );
    } finally {
      await store.close();
    }
  });

  it('rolls back a failing migration completely and records nothing', async () => {
    const store = await backend.open();
    try {
      const bad: Migration = {
        version: LATEST + 1,
        name: 'broken',
        sql: 'CREATE TABLE half_done (x int); SELECT * FROM missing_table;',
      };
      const err = await migrate(store, { migrations: [...MIGRATIONS, bad] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvablyStoreError);
      expect(err).toMatchObject({ operation: 'migrate', reason: 'query' });
      expect((err as Error).message).toContain(
        `migration ${bad.version} (broken) failed and was rolled back`,
      );
      expect(await tableExists(store, 'half_done')).toBe(false);
      expect((await schemaStatus(store)).current).toBe(LATEST);
      // The advisory lock was released: migrating again works.
      expect(await migrate(store)).toEqual({ applied: [], current: LATEST });
    } finally {
      await store.close();
    }
  });

  it('refuses a migration list with gaps', async () => {
    const store = await backend.open();
    try {
      const gap = { ...EXTRA, version: LATEST + 2 };
      await expect(migrate(store, { migrations: [...MIGRATIONS, gap] })).rejects.toThrow(/not gap-free/);
    } finally {
      await store.close();
    }
  });

  it('with auto-migrate off, refuses queries until the schema is migrated', async () => {
    const store = await backend.open({ migrated: false, autoMigrate: false });
    try {
      for (const attempt of [
        () => store.query('SELECT 1'),
        () => store.transaction(async (tx) => tx.query('SELECT 1')),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProvablyStoreError);
        expect(err).toMatchObject({ reason: 'missing-migration' });
        expect((err as Error).message).toContain('run `provably migrate`');
        expect((err as Error).message).toContain(`version 0 but this provably needs ${LATEST}`);
      }
      // Someone runs `provably migrate` (here: in-process); the same store then works.
      await migrate(store);
      expect((await store.query('SELECT count(*)::int AS n FROM provably_intercepts')).rows).toEqual([
        { n: 0 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('with auto-migrate on, migrates once before the first queries', async () => {
    const store = await backend.open({ migrated: false, autoMigrate: true });
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.query('SELECT count(*)::int AS n FROM provably_intercepts')),
      );
      expect(results.map((r) => r.rows[0])).toEqual(Array(5).fill({ n: 0 }));
      const recorded = await store.query('SELECT version FROM schema_migrations');
      expect(recorded.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      await store.close();
    }
  });
});
