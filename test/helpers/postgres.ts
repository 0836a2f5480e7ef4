/**
 * Helpers for tests against the real PostgreSQL server.
 *
 * The server comes from PROVABLY_TEST_DATABASE_URL, a superuser URL (locally:
 * `export PROVABLY_TEST_DATABASE_URL="$(scripts/pg-server.sh start)"`). Without it the
 * PostgreSQL suites are skipped locally and fail in CI (see global-setup.ts).
 *
 *   testDatabaseUrl()          the server URL, or undefined
 *   createTestDatabase()       a fresh empty database { name, url, drop() } (unique per call)
 *   adminQuery(sql, params)    one statement as superuser on the server's own database
 *   withDatabase(url, name)    the same URL pointing at another database
 *
 * Test databases are named provably_t_<pid>_<random>; global setup drops those whose pid is
 * gone (a crashed run), so runs sharing one server never drop each other's databases.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DB_PREFIX = 'provably_t_';

export function testDatabaseUrl(): string | undefined {
  const url = process.env.PROVABLY_TEST_DATABASE_URL?.trim();
  return url ? url : undefined;
}

export function requireTestDatabaseUrl(): string {
  const url = testDatabaseUrl();
  if (!url) throw new Error('PROVABLY_TEST_DATABASE_URL is not set (scripts/pg-server.sh start prints one)');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Runs one statement on a short-lived superuser connection (no provably code involved). */
export async function adminQuery<R extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
  url: string = requireTestDatabaseUrl(),
): Promise<pg.QueryResult<R>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // A server dropping the connection must fail the query, not crash the test process.
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query<R>(sql, params);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface TestDatabase {
  name: string;
  /** Superuser URL of this database. */
  url: string;
  /** Drops it, disconnecting anyone still connected. Idempotent. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `${TEST_DB_PREFIX}${process.pid}_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: withDatabase(requireTestDatabaseUrl(), name),
    drop() {
      dropped ??= adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => {});
      return dropped;
    },
  };
}

/** Drops test databases left by processes that no longer exist. Returns their names. */
export async function dropOrphanTestDatabases(url: string): Promise<string[]> {
  const res = await adminQuery<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname LIKE $1',
    [`${TEST_DB_PREFIX}%`],
    url,
  );
  const orphans = res.rows
    .map((r) => r.datname)
    .filter((name) => {
      const pid = Number(name.slice(TEST_DB_PREFIX.length).split('_')[0]);
      return Number.isInteger(pid) && pid > 0 && !processExists(pid);
    });
  for (const name of orphans) {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, [], url).catch(() => {});
  }
  return orphans;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
