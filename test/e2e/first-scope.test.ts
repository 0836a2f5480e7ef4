/**
 * Issue #12, what the preload costs before the first governed call. Real agent processes started
 * with `--import provably/register` (the BUILT package):
 * - a process that never enters a scope loads none of PGlite's artifacts and creates nothing;
 * - the first explicit scope of an embedded-store process starts loading them (compiled wasm
 *   module, the whole file-system bundle) without opening the store;
 * - with PostgreSQL configured, or governance switched off, entering a scope loads nothing of PGlite.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli.js';
import { runAgent } from './child.js';

interface Seen {
  prefetched: boolean;
  wasmModule: boolean;
  fsBundleBytes: number | null;
  dataDirExists: boolean;
}

const tmp = mkdtempSync(join(tmpdir(), 'provably-first-scope-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dataDir = () => join(tmp, `agent-${++n}`, '.provably');
const bundleBytes = statSync(createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.data')).size;

const NOTHING: Seen = { prefetched: false, wasmModule: false, fsBundleBytes: null, dataDirExists: false };

describe('PGlite artifacts before the first governed call', () => {
  const cases: { title: string; env: Record<string, string>; mode: string; seen: () => Seen }[] = [
    {
      title: 'a process that never enters a scope loads nothing and creates no data dir',
      env: {},
      mode: 'idle',
      seen: () => NOTHING,
    },
    {
      title: 'the first scope starts loading the compiled module and the whole bundle, opening nothing',
      env: {},
      mode: 'scope',
      seen: (): Seen => ({
        prefetched: true,
        wasmModule: true,
        fsBundleBytes: bundleBytes,
        dataDirExists: false,
      }),
    },
    {
      title: 'with governance switched off at start (PROVABLY_ENABLED=0) a scope loads nothing',
      env: { PROVABLY_ENABLED: '0' },
      mode: 'scope',
      seen: () => NOTHING,
    },
    {
      title: 'with PostgreSQL configured a scope loads nothing of PGlite',
      // Never contacted: the fixture makes no governed call.
      env: { PROVABLY_DATABASE_URL: 'postgres://u:p@127.0.0.1:9/none' },
      mode: 'scope',
      seen: () => NOTHING,
    },
  ];
  it.each(cases)('$title', async ({ env, mode, seen }) => {
    const run = await runAgent<Seen>('first-scope.mjs', {
      env: cleanEnv({ PROVABLY_DATA_DIR: dataDir(), ...env }),
      args: [mode],
    });
    expect(run.result).toEqual(seen());
  });
});
