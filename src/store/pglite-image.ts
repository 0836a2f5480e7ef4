/**
 * The initialized database image shipped with the package: a gzip'd PGlite `dumpDataDir()` of a
 * freshly created and fully migrated database, `pglite-image.tar.gz` next to the built modules
 * (made by scripts/build-pglite-image.mjs after tsup).
 *
 * Why: creating a PGlite database runs initdb inside WebAssembly — 3.5–4 s on a 2-core machine,
 * so a new user's first `provably` command took ~4 s and the first agent on a fresh data dir
 * paid it too. Unpacking this image (4.6 MB, 40 MB unpacked) costs ~0.7 s. The image is built
 * with the exact PGlite version the package pins; if it is missing or does not start (another
 * PGlite got installed, a damaged file), the store falls back to initdb (pglite.ts) and only
 * loses time.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { diag } from '../diag/index.js';

export const PGLITE_IMAGE_FILE = 'pglite-image.tar.gz';

/**
 * Where the image is looked for: next to this module (the built package: dist/, where every
 * chunk and the CLI live), and, for a source checkout running the TypeScript (src/store/), the
 * checkout's dist/. PROVABLY_PGLITE_IMAGE overrides (a path; `none` disables the image).
 */
function candidates(env: NodeJS.ProcessEnv): string[] {
  const configured = env.PROVABLY_PGLITE_IMAGE?.trim();
  if (configured) return configured === 'none' ? [] : [configured];
  const out: string[] = [];
  const fromSource = String(import.meta.url ?? '').endsWith('.ts');
  for (const rel of [`./${PGLITE_IMAGE_FILE}`, ...(fromSource ? [`../../dist/${PGLITE_IMAGE_FILE}`] : [])]) {
    try {
      out.push(fileURLToPath(new URL(rel, import.meta.url)));
    } catch {
      // import.meta.url unavailable (an unusual bundler): no image, initdb instead.
    }
  }
  return out;
}

/** The image file in use, or undefined (then a new database is made with initdb). */
export function pgliteImagePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return candidates(env).find((file) => existsSync(file));
}

/**
 * The image as an uncompressed tar, or undefined when there is none or it is not a gzip'd tar
 * (warned). Decompressed here, not by PGlite: PGlite's own gunzip lets a corrupt file's stream
 * error escape as an uncaught exception, which would kill the host process.
 */
export async function readPgliteImage(env: NodeJS.ProcessEnv = process.env): Promise<Blob | undefined> {
  const file = pgliteImagePath(env);
  if (!file) return undefined;
  try {
    const tar = await gunzipAsync(await readFile(file));
    // A POSIX tar header carries "ustar" at offset 257.
    if (tar.subarray(257, 262).toString('latin1') !== 'ustar') throw new Error('not a tar archive');
    return new Blob([tar], { type: 'application/x-tar' });
  } catch (err) {
    diag.once(
      `store.image:${file}`,
      'warn',
      `ignoring the database image ${file}; creating the database instead`,
      err,
    );
    return undefined;
  }
}

const gunzipAsync = promisify(gunzip);
