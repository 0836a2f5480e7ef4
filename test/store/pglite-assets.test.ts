// PGlite's artifacts loaded ahead of the open (src/store/pglite-assets.ts): one compile per
// process, the exact bundle PGlite expects, and a failed prefetch only ever costs time.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { MEMORY_DATA_DIR, PgliteStore } from '../../src/store/index.js';
import { type PgliteAssets, pgliteAssets } from '../../src/store/pglite-assets.js';

const SLOT = Symbol.for('provably.pgliteAssets.v1');
type Slotted = typeof globalThis & { [SLOT]?: Promise<PgliteAssets> };
const resolvePackage = createRequire(import.meta.url).resolve;

describe('pgliteAssets', () => {
  const stores: PgliteStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('compiles the module once per process and reads the whole file-system bundle', async () => {
    const first = pgliteAssets();
    expect(pgliteAssets()).toBe(first);
    const assets = await first;
    // Not instanceof: this project's TypeScript libs declare WebAssembly's types only.
    expect(Object.prototype.toString.call(assets.wasmModule)).toBe('[object WebAssembly.Module]');
    expect(assets.fsBundle?.size).toBe(statSync(resolvePackage('@electric-sql/pglite/pglite.data')).size);
  });

  it('stores open with them, and every store of the process shares the same module', async () => {
    const assets = await pgliteAssets();
    const a = new PgliteStore({ dataDir: MEMORY_DATA_DIR });
    const b = new PgliteStore({ dataDir: MEMORY_DATA_DIR });
    stores.push(a, b);
    const [ra, rb] = await Promise.all([a.query('SELECT 41 + 1 AS n'), b.query('SELECT 1 AS n')]);
    expect([ra.rows[0]?.n, rb.rows[0]?.n]).toEqual([42, 1]);
    expect(await pgliteAssets()).toBe(assets);
  });

  it('a prefetch that found nothing leaves PGlite to load its artifacts itself', async () => {
    const g = globalThis as Slotted;
    const saved = g[SLOT];
    g[SLOT] = Promise.resolve({});
    try {
      const store = new PgliteStore({ dataDir: MEMORY_DATA_DIR });
      stores.push(store);
      expect((await store.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    } finally {
      g[SLOT] = saved;
    }
  });
});
