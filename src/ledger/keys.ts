/**
 * The Ed25519 key that signs checkpoints (node:crypto only).
 *
 * Where the key comes from (loadSigner):
 * 1. PROVABLY_SIGNING_KEY: the private key as PEM text (PKCS#8, "-----BEGIN PRIVATE KEY-----";
 *    a one-line value with literal "\n" escapes is accepted), or else the path of a PEM file.
 * 2. Otherwise a key file (signingKeyLocation), created on first use with a new key and mode
 *    0600: on PostgreSQL (a database URL is configured) the per-user
 *    `${XDG_CONFIG_HOME:-~/.config}/provably/signing-key.pem` — never the current directory, so
 *    every command and agent of the user finds the same key wherever it runs; on the embedded
 *    store `<PROVABLY_DATA_DIR>/signing-key.pem`, next to the database it signs. Creation is atomic and never overwrites: the key
 *    is written to a private temporary file, then hard-linked into place, so processes starting
 *    together all end up with the one key that won. A warning is logged once (with the key id)
 *    when a key is generated: back it up, and publish its public key.
 * 3. PROVABLY_DATA_DIR=memory:// and no PROVABLY_SIGNING_KEY: a key that lives only as long as
 *    the process (warned once). Its checkpoints cannot be verified after exit without the
 *    public key, so use it only for tests and demos.
 *
 * Key id: the lower-case hex of the first 8 bytes of SHA-256 over the raw 32-byte Ed25519
 * public key (RFC 8032 encoding), i.e. 16 hex characters. It names the key in checkpoints and
 * in trusted-key maps; verification always recomputes it from the trusted public key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Env, readStoreConfig } from '../config/index.js';
import { diag } from '../diag/index.js';
import { ProvablySigningKeyError } from './errors.js';

/** The key file's name inside the data dir. */
export const SIGNING_KEY_FILE = 'signing-key.pem';
const MEMORY_DATA_DIR = 'memory://';

export interface PublicKeyInfo {
  /** 16 hex characters: SHA-256 of the raw public key, first 8 bytes. */
  keyId: string;
  /** The public key as SPKI PEM ("-----BEGIN PUBLIC KEY-----"). */
  publicKeyPem: string;
}

/** Signs checkpoint messages. Holds the private key; never serializes it. */
export interface Signer extends PublicKeyInfo {
  /** Ed25519 signature (64 bytes) over `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** Key ids → public key PEM: the keys a verifier trusts. */
export type TrustedKeys = Readonly<Record<string, string>>;

export interface LoadSignerOptions {
  /** Where PROVABLY_SIGNING_KEY and PROVABLY_DATA_DIR are read (default process.env). */
  env?: Env;
  /**
   * Generate and store a key when none exists (default true). Verifiers pass false: a command
   * that only checks signatures must never mint a key nothing was signed with.
   */
  create?: boolean;
}

/** The 32 raw bytes of an Ed25519 public key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'ed25519' || typeof jwk.x !== 'string') {
    throw new TypeError(`expected an Ed25519 key, got ${String(key.asymmetricKeyType)}`);
  }
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

/** Key id of an Ed25519 public key (a KeyObject, or PEM of the public or private key). */
export function keyIdOf(key: KeyObject | string): string {
  const object = typeof key === 'string' ? createPublicKey(key) : key;
  const pub = object.type === 'private' ? createPublicKey(object) : object;
  return createHash('sha256').update(rawPublicKey(pub)).digest().subarray(0, 8).toString('hex');
}

/** A signer from an Ed25519 private key in PEM. `source` names it in errors. */
export function signerFromPem(pem: string, source = 'key'): Signer {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new ProvablySigningKeyError('invalid', source, 'not a PEM private key', { cause: err });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ProvablySigningKeyError(
      'invalid',
      source,
      `expected an Ed25519 key, got ${String(privateKey.asymmetricKeyType)}`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKeyPem,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/** A new Ed25519 private key as PKCS#8 PEM. */
export function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

let memorySigner: Signer | undefined;

/** Where the configured signing key comes from (see the module comment). */
export type SigningKeyLocation =
  | { kind: 'env' }
  | { kind: 'memory' }
  | { kind: 'file'; file: string; scope: 'user' | 'data-dir' };

export function signingKeyLocation(env: Env = process.env): SigningKeyLocation {
  const configured = env.PROVABLY_SIGNING_KEY?.trim();
  if (configured) {
    return configured.startsWith('-----BEGIN')
      ? { kind: 'env' }
      : { kind: 'file', file: resolve(configured), scope: 'user' };
  }
  // memory:// asks for a throwaway key on either backend (tests, demos).
  if (env.PROVABLY_DATA_DIR?.trim() === MEMORY_DATA_DIR) return { kind: 'memory' };
  const store = readStoreConfig(env);
  if (store.databaseUrl) {
    // Bug fix: on PostgreSQL the key was looked up under the data dir, i.e. ./.provably of the
    // current directory, so a command run elsewhere did not find (or made another) key.
    const base = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.config');
    return { kind: 'file', file: join(resolve(base), 'provably', SIGNING_KEY_FILE), scope: 'user' };
  }
  return { kind: 'file', file: join(store.dataDir, SIGNING_KEY_FILE), scope: 'data-dir' };
}

/** The checkpoint signer configured by the environment (see the module comment). */
export function loadSigner(options: LoadSignerOptions = {}): Signer {
  const env = options.env ?? process.env;
  const configured = env.PROVABLY_SIGNING_KEY?.trim();
  if (configured) {
    if (configured.startsWith('-----BEGIN')) {
      const pem = configured.includes('\n') ? configured : configured.replaceAll('\\n', '\n');
      return signerFromPem(pem, 'PROVABLY_SIGNING_KEY');
    }
    const file = resolve(configured);
    return signerFromPem(readKeyFile(file), file);
  }
  const location = signingKeyLocation(env);
  if (location.kind === 'memory') {
    if (!memorySigner && options.create === false) {
      throw new ProvablySigningKeyError(
        'missing',
        'memory',
        'no in-memory signing key exists in this process',
      );
    }
    if (!memorySigner) {
      memorySigner = signerFromPem(generateSigningKeyPem(), 'memory');
      diag.once(
        'ledger.memory-key',
        'warn',
        `PROVABLY_DATA_DIR is ${MEMORY_DATA_DIR} and PROVABLY_SIGNING_KEY is not set: checkpoints are ` +
          `signed with a key that ends with this process (key id ${memorySigner.keyId})`,
      );
    }
    return memorySigner;
  }
  if (location.kind !== 'file') throw new Error('unreachable: PROVABLY_SIGNING_KEY was handled above');
  const file = location.file;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
    warnIfExposed(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ProvablySigningKeyError('unreadable', file, describe(err), { cause: err });
    }
    if (options.create === false) {
      throw new ProvablySigningKeyError(
        'missing',
        file,
        'no signing key exists yet (set PROVABLY_SIGNING_KEY, or name the public key to trust)',
      );
    }
    pem = createKeyFile(file);
  }
  return signerFromPem(pem, file);
}

/** keyId and public key PEM of the configured signer (for `provably keys show`). */
export function publicKeyInfo(options: LoadSignerOptions = {}): PublicKeyInfo {
  const { keyId, publicKeyPem } = loadSigner(options);
  return { keyId, publicKeyPem };
}

/** A trusted-key map holding these keys (by their computed key ids). */
export function trustedKeysOf(...keys: readonly (PublicKeyInfo | string)[]): TrustedKeys {
  const out: Record<string, string> = {};
  for (const key of keys) {
    const pem = typeof key === 'string' ? key : key.publicKeyPem;
    const publicPem = createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
    out[keyIdOf(publicPem)] = publicPem;
  }
  return Object.freeze(out);
}

function readKeyFile(file: string): string {
  try {
    const pem = readFileSync(file, 'utf8');
    warnIfExposed(file);
    return pem;
  } catch (err) {
    throw new ProvablySigningKeyError('unreadable', file, describe(err), { cause: err });
  }
}

/** Writes a new key to `file` unless another process got there first; returns the key in place. */
function createKeyFile(file: string): string {
  const pem = generateSigningKeyPem();
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let won = false;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
    // The umask may have removed bits; make it exactly owner read/write.
    chmodSync(tmp, 0o600);
    try {
      linkSync(tmp, file);
      won = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // No hard links on this file system: exclusive create is still atomic against
        // overwriting, though a concurrent reader could see it half-written.
        try {
          writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
          chmodSync(file, 0o600);
          won = true;
        } catch (inner) {
          if ((inner as NodeJS.ErrnoException).code !== 'EEXIST') throw inner;
        }
      }
    }
  } catch (err) {
    throw new ProvablySigningKeyError('unwritable', file, describe(err), { cause: err });
  } finally {
    rmSync(tmp, { force: true });
  }
  if (!won) return readKeyFile(file);
  const keyId = keyIdOf(createPrivateKey(pem));
  diag.once(
    `ledger.generated-key:${file}`,
    'warn',
    `generated a new checkpoint signing key at ${file} (key id ${keyId}); back it up and publish ` +
      'its public key so checkpoints can be verified',
  );
  return pem;
}

function warnIfExposed(file: string): void {
  if (process.platform === 'win32') return;
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      diag.once(
        `ledger.key-mode:${file}`,
        'warn',
        `the signing key ${file} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`,
      );
    }
  } catch {
    // Only a warning: the key was read already.
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  // Node's fs messages already start with the code ("ENOENT: no such file …").
  if (!e?.code) return String(err);
  return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
}
