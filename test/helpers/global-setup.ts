/**
 * Vitest global setup: decides, once per run, whether the PostgreSQL suites run.
 *
 * - PROVABLY_TEST_DATABASE_URL set: the server must answer, or the whole run fails (a
 *   configured but dead server is a broken setup, not a reason to skip). Test databases left
 *   by crashed earlier runs are dropped.
 * - Not set, and CI set: the run fails. CI must never silently skip the PostgreSQL suite.
 * - Not set locally: one line says the PostgreSQL suites are skipped; PGlite suites still run.
 *
 * Also builds the cached PGlite images (test/helpers/backends.ts) if missing.
 *
 * Locally: export PROVABLY_TEST_DATABASE_URL="$(scripts/pg-server.sh start)"
 */
import { ensurePgliteImages } from './backends.js';
import { adminQuery, dropOrphanTestDatabases, testDatabaseUrl } from './postgres.js';

export default async function setup(): Promise<void> {
  // Build the PGlite images every store is cloned from once, before workers race to do it.
  await ensurePgliteImages();
  const url = testDatabaseUrl();
  if (!url) {
    if (isCi()) {
      throw new Error(
        'CI is set but PROVABLY_TEST_DATABASE_URL is not: the PostgreSQL suites must run in CI. ' +
          'Start a server with `export PROVABLY_TEST_DATABASE_URL="$(scripts/pg-server.sh start)"`.',
      );
    }
    console.log(
      'provably tests: PROVABLY_TEST_DATABASE_URL is not set, so the PostgreSQL suites are skipped ' +
        '(export PROVABLY_TEST_DATABASE_URL="$(scripts/pg-server.sh start)" to run them).',
    );
    return;
  }
  try {
    await adminQuery('SELECT 1', [], url);
  } catch (err) {
    throw new Error(
      `PROVABLY_TEST_DATABASE_URL is set but the server does not answer (${redact(url)}): ${String(err)}. ` +
        'Start it with scripts/pg-server.sh start, or unset the variable to skip the PostgreSQL suites.',
      { cause: err },
    );
  }
  const dropped = await dropOrphanTestDatabases(url);
  if (dropped.length > 0)
    console.log(`provably tests: dropped ${dropped.length} test databases left by dead runs`);
}

function isCi(): boolean {
  const ci = process.env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}
