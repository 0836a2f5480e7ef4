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

describe('PGlite artifacts before the first governed call', () => {
  it('a process that never enters a scope loads nothing and creates no data dir', async () => {
    const dir = dataDir();
    const run = await runAgent<Seen>('first-scope.mjs', {
      env: cleanEnv({ PROVABLY_DATA_DIR: dir }),
      args: ['idle'],
    });
    expect(run.result).toEqual({
      prefetched: false,
      wasmModule: false,
      fsBundleBytes: null,
      dataDirExists: false,
    });
  });

  it('the first scope starts loading the compiled module and the whole bundle, opening nothing', async () => {
    const dir = dataDir();
    const run = await runAgent<Seen>('first-scope.mjs', {
      env: cleanEnv({ PROVABLY_DATA_DIR: dir }),
      args: ['scope'],
    });
    expect(run.result).toEqual({
      prefetched: true,
      wasmModule: true,
      fsBundleBytes: bundleBytes,
      dataDirExists: false,
    });
  });

  it('with governance switched off at start (PROVABLY_ENABLED=0) a scope loads nothing', async () => {
    const run = await runAgent<Seen>('first-scope.mjs', {
      env: cleanEnv({ PROVABLY_DATA_DIR: dataDir(), PROVABLY_ENABLED: '0' }),
      args: ['scope'],
    });
    expect(run.result).toEqual({
      prefetched: false,
      wasmModule: false,
      fsBundleBytes: null,
      dataDirExists: false,
    });
  });

  it('with PostgreSQL configured a scope loads nothing of PGlite', async () => {
    const dir = dataDir();
    const run = await runAgent<Seen>('first-scope.mjs', {
      // Never contacted: the fixture makes no governed call.
      env: cleanEnv({ PROVABLY_DATA_DIR: dir, PROVABLY_DATABASE_URL: 'postgres://u:p@127.0.0.1:9/none' }),
      args: ['scope'],
    });
    expect(run.result).toEqual({
      prefetched: false,
      wasmModule: false,
      fsBundleBytes: null,
      dataDirExists: false,
    });
  });
});
