/**
 * Where this copy of provably's preload lives, so a worker or child can be given exactly the
 * preload the parent runs: as an absolute file URL, which resolves from any cwd (a bare
 * `provably/register` would be resolved from the child's cwd, where provably may not be
 * installed). The built package is flat (dist/register.js, dist/register.cjs next to every
 * chunk); a source checkout run by a test runner falls back to its dist/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface RegisterFiles {
  /** file URL of the ESM preload, for `--import`. */
  readonly esmUrl: string;
  /** Absolute path of the CommonJS preload, for an eval worker's synchronous require. */
  readonly cjsPath: string;
}

let cached: RegisterFiles | null | undefined;

/** The preload files, or null when they cannot be found (the caller then fails closed). */
export function registerFiles(): RegisterFiles | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const base of ['./', '../../dist/']) {
    try {
      const esm = new URL(`${base}register.js`, import.meta.url);
      const cjs = new URL(`${base}register.cjs`, import.meta.url);
      if (existsSync(esm) && existsSync(cjs)) {
        cached = { esmUrl: esm.href, cjsPath: fileURLToPath(cjs) };
        break;
      }
    } catch {
      // Not a file URL (bundled elsewhere): try the next candidate.
    }
  }
  return cached;
}

/** Whether a Node option string / argv already loads provably's preload. */
export function loadsPreload(args: readonly string[], files: RegisterFiles | null): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    let spec: string | undefined;
    if (a === '--import' || a === '--require' || a === '-r') spec = args[i + 1];
    else if (a.startsWith('--import=')) spec = a.slice('--import='.length);
    else if (a.startsWith('--require=')) spec = a.slice('--require='.length);
    if (spec === undefined) continue;
    const s = spec.replace(/^["']|["']$/g, '');
    if (/(^|[\\/])provably[\\/]register(\.c?js)?$/.test(s)) return true;
    if (files !== null && (s === files.esmUrl || s === files.cjsPath || s === fileURLToPath(files.esmUrl))) {
      return true;
    }
  }
  return false;
}
