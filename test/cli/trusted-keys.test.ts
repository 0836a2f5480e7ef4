import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueCheckpoint, loadSigner, ProvablySigningKeyError } from '../../src/ledger/index.js';
import { recordRun, withEnvStore } from '../fixtures/handoff/records.js';
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

  it('`provably verify` in a fresh data dir: nothing to check, exit 0, and creates no key', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-keys-')), '.provably');
    const res = await runCli(['verify'], cleanEnv({ PROVABLY_DATA_DIR: dir }));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^OK org default: 0 records/);
    expect(existsSync(join(dir, 'signing-key.pem'))).toBe(false);
  });

  it('`provably verify` with records but no key: leaves checked, exit 3 with how to sign; no key created', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-keys-')), '.provably');
    const env = cleanEnv({ PROVABLY_DATA_DIR: dir });
    await withEnvStore(env, (store) =>
      recordRun(store, {
        orgId: 'default',
        calls: [{ action: 'a', url: 'https://x.example/1', body: { a: 1 } }],
      }),
    );
    const res = await runCli(['verify'], env);
    expect(res.code, res.stderr).toBe(3);
    expect(res.stdout).toMatch(/^UNSIGNED org default: 1 records/);
    expect(res.stdout).toContain('no signing key exists yet; run `provably checkpoint --all`');
    expect(existsSync(join(dir, 'signing-key.pem'))).toBe(false);
  });

  it('`provably verify` with checkpoints but no key to check them: exit 2, one line naming the missing key', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'provably-keys-')), '.provably');
    const env = cleanEnv({ PROVABLY_DATA_DIR: dir });
    await withEnvStore(env, async (store) => {
      await recordRun(store, {
        orgId: 'default',
        calls: [{ action: 'a', url: 'https://x.example/1', body: { a: 1 } }],
      });
      await issueCheckpoint(store, 'default', loadSigner({ env }));
    });
    rmSync(join(dir, 'signing-key.pem'));
    const res = await runCli(['verify'], env);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^provably: signing key .* missing: no signing key exists yet/);
    expect(existsSync(join(dir, 'signing-key.pem'))).toBe(false);
  });
});
