import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablySigningKeyError } from '../../src/ledger/errors.js';
import {
  generateSigningKeyPem,
  keyIdOf,
  loadSigner,
  publicKeyInfo,
  SIGNING_KEY_FILE,
  signerFromPem,
  trustedKeysOf,
} from '../../src/ledger/keys.js';
import { runSourceChild, srcModule } from '../helpers/backends.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'provably-keys-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  configureDiag({ level: 'warn', sink: (l) => lines.push(l) });
});
afterEach(() => {
  configureDiag({ level: 'warn', sink: (l) => process.stderr.write(`${l}\n`) });
});

describe('key id', () => {
  it('is the hex of the first 8 bytes of SHA-256 over the raw 32-byte public key', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    // The raw key is the last 32 bytes of the SPKI DER (12-byte Ed25519 prefix).
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const raw = der.subarray(der.length - 32);
    const want = createHash('sha256').update(raw).digest('hex').slice(0, 16);
    expect(keyIdOf(publicKey)).toBe(want);
    expect(keyIdOf(publicKey.export({ type: 'spki', format: 'pem' }).toString())).toBe(want);
    expect(want).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('loadSigner', () => {
  it('generates <data dir>/signing-key.pem with mode 0600 once, logs it once, and reuses it', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const env = { PROVABLY_DATA_DIR: dir };
    const first = loadSigner({ env });
    const file = join(dir, SIGNING_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(lines.filter((l) => l.includes('generated a new checkpoint signing key'))).toHaveLength(1);
    expect(lines[0]).toContain(first.keyId);
    expect(lines[0]).toContain(file);
    const again = loadSigner({ env });
    expect(again.keyId).toBe(first.keyId);
    expect(publicKeyInfo({ env })).toEqual({ keyId: first.keyId, publicKeyPem: first.publicKeyPem });
    expect(lines.filter((l) => l.includes('generated'))).toHaveLength(1);
    // Nothing secret in the log line, and no temporary file left behind.
    expect(lines.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('signs with Ed25519: signatures verify under the public key', () => {
    const signer = loadSigner({ env: { PROVABLY_DATA_DIR: tempDir() } });
    const msg = new TextEncoder().encode('hello');
    const sig = signer.sign(msg);
    expect(sig.byteLength).toBe(64);
    expect(verify(null, msg, createPublicKey(signer.publicKeyPem), sig)).toBe(true);
    expect(createPublicKey(signer.publicKeyPem).asymmetricKeyType).toBe('ed25519');
    expect(signer.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(JSON.stringify(signer)).not.toContain('PRIVATE');
  });

  it('takes PROVABLY_SIGNING_KEY as PEM text (also one line with \\n escapes) or as a file path', () => {
    const pem = generateSigningKeyPem();
    const want = signerFromPem(pem).keyId;
    const dir = tempDir();
    expect(loadSigner({ env: { PROVABLY_SIGNING_KEY: pem, PROVABLY_DATA_DIR: dir } }).keyId).toBe(want);
    expect(loadSigner({ env: { PROVABLY_SIGNING_KEY: pem.trim().replaceAll('\n', '\\n') } }).keyId).toBe(
      want,
    );
    const file = join(dir, 'my-key.pem');
    writeFileSync(file, pem, { mode: 0o600 });
    expect(loadSigner({ env: { PROVABLY_SIGNING_KEY: file } }).keyId).toBe(want);
    // A configured key never writes a key file.
    expect(() => statSync(join(dir, SIGNING_KEY_FILE))).toThrow();
    expect(lines).toEqual([]);
  });

  it('warns once when the key file is readable by others', () => {
    const dir = tempDir();
    const file = join(dir, 'open.pem');
    writeFileSync(file, generateSigningKeyPem(), { mode: 0o644 });
    loadSigner({ env: { PROVABLY_SIGNING_KEY: file } });
    loadSigner({ env: { PROVABLY_SIGNING_KEY: file } });
    expect(lines.filter((l) => l.includes('readable by other users'))).toHaveLength(1);
  });

  it('refuses keys that are not Ed25519 private keys, and missing files, with ProvablySigningKeyError', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    const cases: [string, string][] = [
      [rsa.toString(), 'invalid'],
      [pub.toString(), 'invalid'],
      ['-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----', 'invalid'],
      [join(tempDir(), 'missing.pem'), 'unreadable'],
    ];
    for (const [value, reason] of cases) {
      let caught: unknown;
      try {
        loadSigner({ env: { PROVABLY_SIGNING_KEY: value } });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProvablySigningKeyError);
      expect((caught as ProvablySigningKeyError).reason).toBe(reason);
      expect((caught as ProvablySigningKeyError).code).toBe('PROVABLY_SIGNING_KEY');
      expect((caught as Error).message).not.toContain('BEGIN');
    }
  });

  it('uses one in-memory key per process for PROVABLY_DATA_DIR=memory:// and warns once', () => {
    const a = loadSigner({ env: { PROVABLY_DATA_DIR: 'memory://' } });
    const b = loadSigner({ env: { PROVABLY_DATA_DIR: 'memory://' } });
    expect(a.keyId).toBe(b.keyId);
    expect(lines.filter((l) => l.includes('ends with this process'))).toHaveLength(1);
  });

  it('trustedKeysOf maps computed key ids to public key PEM', () => {
    const signer = signerFromPem(generateSigningKeyPem());
    const keys = trustedKeysOf(signer, generateSigningKeyPem());
    expect(Object.keys(keys)).toHaveLength(2);
    expect(keys[signer.keyId]).toBe(signer.publicKeyPem);
    for (const pem of Object.values(keys)) expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('processes creating the key at the same time all end up with the same key', async () => {
    const dir = tempDir();
    const code = `
      const { loadSigner } = await import(${JSON.stringify(srcModule('ledger/keys.js'))});
      await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
      console.log('KEY ' + loadSigner().keyId);`;
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        runSourceChild(code, {
          env: { PROVABLY_DATA_DIR: dir, PROVABLY_SIGNING_KEY: undefined, START_AT: startAt },
        }),
      ),
    );
    const ids = results.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      return /KEY ([0-9a-f]{16})/.exec(r.stdout)?.[1];
    });
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toBe(loadSigner({ env: { PROVABLY_DATA_DIR: dir } }).keyId);
    const generated = results.filter((r) => r.stderr.includes('generated a new checkpoint signing key'));
    expect(generated).toHaveLength(1);
  });
});
