// A data dir that cannot be used (a path through a file, e.g. PROVABLY_DATA_DIR=/dev/null/x) fails
// with a typed ProvablyStoreError whose reason names it — never a bare ENOTDIR.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import { openStore } from '../../src/store/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provably-datadir-'));
  await writeFile(join(dir, 'a-file'), 'not a directory');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('an unusable embedded data dir', () => {
  for (const [name, path] of [
    ['/dev/null/x', '/dev/null/x'],
    ['a path through a regular file', () => join(dir, 'a-file', 'x')],
  ] as const) {
    it(`${name}: ProvablyStoreError reason data-dir naming the directory and the setting`, async () => {
      const dataDir = typeof path === 'function' ? path() : path;
      const store = openStore({ env: { PROVABLY_DATA_DIR: dataDir }, databaseUrl: undefined });
      const err = await store.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      await store.close().catch(() => {});
      expect(err).toBeInstanceOf(ProvablyStoreError);
      expect((err as ProvablyStoreError).reason).toBe('data-dir');
      expect((err as ProvablyStoreError).message).toContain(dataDir);
      expect((err as ProvablyStoreError).message).toContain('PROVABLY_DATA_DIR');
      expect((err as ProvablyStoreError).message).toContain('ENOTDIR');
    });
  }
});
