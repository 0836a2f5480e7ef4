import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSigner, ProvablySigningKeyError } from '../../src/ledger/index.js';
import { cleanEnv, runCli } from '../helpers/cli.js';

// Verifying commands read this installation's key but never create one: a key minted by a
// verifier signed nothing, so every claim would look CAUGHT instead of the setup being wrong.
describe('verifiers never mint a signing key', () => {
  it('loadSigner({ create: false }) refuses with reason "missing" and writes nothing', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-keys-')), '.provably');
    const err = (() => {
      try {
        loadSigner({ env: { PROVABLY_DATA_DIR: dir }, create: false });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProvablySigningKeyError);
    expect((err as ProvablySigningKeyError).reason).toBe('missing');
    expect(existsSync(join(dir, 'signing-key.pem'))).toBe(false);
  });

  it('`provably verify` in a fresh data dir exits 2 with one line and creates no key', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-keys-')), '.provably');
    const res = await runCli(['verify'], cleanEnv({ PROVABLY_DATA_DIR: dir }));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^provably: signing key .* missing: no signing key exists yet/);
    expect(existsSync(join(dir, 'signing-key.pem'))).toBe(false);
  });
});
