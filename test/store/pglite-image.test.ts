// A new embedded data dir starts from the packaged, initialized and migrated database image
// (dist/pglite-image.tar.gz, made by `npm run build`) instead of running initdb; an image that is
// missing, not a gzip'd tar, or not a database only costs time: the host process neither crashes
// nor fails, and the database is created the slow way. Each case runs in its own Node process.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/index.js';
import { runSourceChild, srcModule } from '../helpers/backends.js';

const ALL = MIGRATIONS.map((m) => m.version);
const tmp = mkdtempSync(join(tmpdir(), 'provably-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Opens a new data dir in a child and reports what the first migrate() had to apply. */
async function openFresh(name: string, image?: string) {
  const dataDir = join(tmp, name);
  const child = await runSourceChild(
    `
    const { openStore, migrate } = await import('${srcModule('store/index.js')}');
    const store = openStore({ dataDir: ${JSON.stringify(dataDir)}, autoMigrate: false, env: {} });
    const { applied } = await migrate(store);
    const n = (await store.query('SELECT count(*)::int AS n FROM trusted_endpoints')).rows[0].n;
    await store.close();
    console.log(JSON.stringify({ applied, n }));
    `,
    { env: { PROVABLY_PGLITE_IMAGE: image, PROVABLY_LOG_LEVEL: 'warn' } },
  );
  expect(child.code, child.stderr).toBe(0);
  return {
    ...(JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as { applied: number[]; n: number }),
    stderr: child.stderr,
    dataDir,
  };
}

describe('the packaged database image', () => {
  it('is built with the package, and a new data dir starts from it already migrated (nothing to apply)', async () => {
    expect(existsSync(join(__dirname, '../../dist/pglite-image.tar.gz'))).toBe(true);
    const r = await openFresh('packaged');
    expect(r.applied).toEqual([]);
    expect(r.n).toBe(0);
    expect(existsSync(join(r.dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
  });

  it('PROVABLY_PGLITE_IMAGE=none runs initdb instead: every migration is applied', {
    timeout: 120_000,
  }, async () => {
    const r = await openFresh('none', 'none');
    expect(r.applied).toEqual(ALL);
  });

  it('an image that is not gzip, or not a database, is ignored with a warning; the database is still created', {
    timeout: 240_000,
  }, async () => {
    const notGzip = join(tmp, 'random.tar.gz');
    writeFileSync(notGzip, Buffer.from('this is not a gzip file at all, just text'.repeat(100)));
    const bad = await openFresh('not-gzip', notGzip);
    expect(bad.applied).toEqual(ALL);
    expect(bad.stderr).toContain(`ignoring the database image ${notGzip}`);

    // A real tar.gz, but of no database: PGlite refuses to start from it.
    const header = Buffer.alloc(512);
    header.write('hello.txt', 0);
    header.write('0000644\0', 100);
    header.write('00000000005\0', 124);
    header.write('ustar\0', 257);
    header.write('00', 263);
    header.write('        ', 148);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    const body = Buffer.alloc(512);
    body.write('hello');
    const notDb = join(tmp, 'not-a-database.tar.gz');
    writeFileSync(notDb, gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)])));
    const wrong = await openFresh('not-db', notDb);
    expect(wrong.applied).toEqual(ALL);
    expect(wrong.stderr).toContain('did not start; creating the database instead');
  });
});
