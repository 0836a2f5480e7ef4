// The raised WebAssembly tiering budget while the embedded store opens (wasm-tiering.ts): set by
// the first open, restored to V8's default by the last one, even when an open fails; never set
// when the user chose a budget or turned it off; and a store still opens and answers with it.
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { lazyTierUpApplies, ownProcessTuning, withLazyWasmTierUp } from '../../src/store/wasm-tiering.js';

const RAISED = '--wasm-tiering-budget=130000000';
const DEFAULT = '--wasm-tiering-budget=13000000';
const saved = { ...process.env };

afterEach(() => {
  for (const k of ['PROVABLY_PGLITE_LAZY_TIERUP', 'NODE_OPTIONS']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('lazy WebAssembly tier-up while the embedded store opens', () => {
  it('applies by default in provably’s own processes (the CLI) on the V8 versions it knows (Node 22, 24, 26)', () => {
    expect(lazyTierUpApplies({}, [], true)).toBe(true);
  });

  it('in a host’s process (an agent under the preload) only when opted in', () => {
    expect(lazyTierUpApplies({}, [], false)).toBe(false);
    for (const on of ['1', 'true', 'yes', 'ON']) {
      expect(lazyTierUpApplies({ PROVABLY_PGLITE_LAZY_TIERUP: on }, [], false)).toBe(true);
    }
    expect(lazyTierUpApplies({ PROVABLY_PGLITE_LAZY_TIERUP: '0' }, [], true)).toBe(false);
  });

  it('leaves a budget the user chose alone (node flag or NODE_OPTIONS), and obeys the off switch', () => {
    expect(lazyTierUpApplies({}, ['--wasm-tiering-budget=5'], true)).toBe(false);
    expect(lazyTierUpApplies({}, ['--wasm_tiering_budget=5'], true)).toBe(false);
    expect(
      lazyTierUpApplies({ NODE_OPTIONS: '--max-old-space-size=512 --wasm-tiering-budget=9' }, [], true),
    ).toBe(false);
    for (const off of ['0', 'false', 'no', 'OFF']) {
      expect(lazyTierUpApplies({ PROVABLY_PGLITE_LAZY_TIERUP: off }, [], true)).toBe(false);
    }
    expect(lazyTierUpApplies({ PROVABLY_PGLITE_LAZY_TIERUP: '1' }, [], false)).toBe(true);
  });

  it('raises once for overlapping opens and restores after the last, also when one fails', async () => {
    ownProcessTuning(); // as the CLI does: this file's process stands for provably's own
    const set: string[] = [];
    const record = (flag: string) => set.push(flag);
    let finishA!: () => void;
    const a = withLazyWasmTierUp(() => new Promise<string>((r) => (finishA = () => r('a'))), record);
    const b = withLazyWasmTierUp(() => Promise.reject(new Error('open failed')), record);
    await expect(b).rejects.toThrow('open failed');
    expect(set).toEqual([RAISED]); // a is still opening: not restored yet
    finishA();
    expect(await a).toBe('a');
    expect(set).toEqual([RAISED, DEFAULT]);
    // A later open raises it again.
    await withLazyWasmTierUp(async () => 1, record);
    expect(set).toEqual([RAISED, DEFAULT, RAISED, DEFAULT]);
  });

  it('never fails an open because the flag could not be set', async () => {
    const broken = () => {
      throw new Error('flags frozen');
    };
    expect(await withLazyWasmTierUp(async () => 'opened', broken)).toBe('opened');
  });

  it('sets nothing when turned off', async () => {
    process.env.PROVABLY_PGLITE_LAZY_TIERUP = '0';
    const set: string[] = [];
    await withLazyWasmTierUp(
      async () => 1,
      (f) => set.push(f),
    );
    expect(set).toEqual([]);
  });

  it('an embedded store opened under it (the real flag) opens, migrates and answers', async () => {
    const store = openStore({ dataDir: 'memory://', autoMigrate: true });
    try {
      const r = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(r.rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
