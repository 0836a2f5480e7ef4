// Builds dist/pglite-image.tar.gz: a new, fully migrated PGlite database, dumped gzip'd. The
// embedded store unpacks it for every new data dir instead of running initdb (~0.7 s vs ~4 s;
// src/store/pglite-image.ts). Runs after tsup (npm run build). The image depends only on the
// PGlite version and the migrations' SQL, so it is cached under node_modules/.cache by that key
// and rebuilt only when one of them changes.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { MIGRATIONS, PgliteStore, migrate } = await import(pathToFileURL(`${ROOT}dist/index.js`).href);
const pglite = JSON.parse(readFileSync(`${ROOT}node_modules/@electric-sql/pglite/package.json`, 'utf8'));
const key = createHash('sha256')
  .update(`${pglite.version}\0${JSON.stringify(MIGRATIONS)}`)
  .digest('hex')
  .slice(0, 16);
const cacheDir = `${ROOT}node_modules/.cache/provably-image`;
const cached = `${cacheDir}/pglite-image-${key}.tar.gz`;
const target = `${ROOT}dist/pglite-image.tar.gz`;

if (!existsSync(cached)) {
  const started = Date.now();
  const store = new PgliteStore({ dataDir: 'memory://', packagedImage: false });
  await migrate(store);
  const db = await store.instance();
  // CHECKPOINT first: the image then starts without replaying WAL.
  await db.exec('CHECKPOINT');
  const image = await db.dumpDataDir('gzip');
  await store.close();
  await mkdir(cacheDir, { recursive: true });
  for (const f of await readdir(cacheDir))
    if (!f.includes(key)) await rm(`${cacheDir}/${f}`, { force: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  await writeFile(tmp, Buffer.from(await image.arrayBuffer()));
  await rename(tmp, cached);
  console.log(`pglite image ${key} built in ${Date.now() - started} ms (${image.size} bytes)`);
}
await copyFile(cached, target);
await writeFile(
  `${ROOT}dist/pglite-image.json`,
  `${JSON.stringify({ pglite: pglite.version, migrations: MIGRATIONS.map((m) => m.version), key }, null, 2)}\n`,
);
