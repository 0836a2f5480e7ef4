/**
 * Trusted public keys for the commands that verify: given files, else this installation's own
 * key — read, never created (a fresh key would sign nothing and only make every claim CAUGHT).
 */
import { readFileSync } from 'node:fs';
import { ProvablyConfigError } from '../errors/index.js';
import { publicKeyInfo, type TrustedKeys, trustedKeysOf } from '../ledger/index.js';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function loadTrustedKeys(files: readonly string[] | undefined): TrustedKeys {
  if (!files || files.length === 0) return trustedKeysOf(publicKeyInfo({ create: false }));
  const pems = files.map((file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ProvablyConfigError('--trusted-key', `cannot read ${file}: ${(err as Error).message}`);
    }
  });
  try {
    return trustedKeysOf(...pems);
  } catch (err) {
    throw new ProvablyConfigError(
      '--trusted-key',
      `not an Ed25519 public key PEM: ${(err as Error).message}`,
    );
  }
}
