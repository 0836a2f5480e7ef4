import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  checkpointMessage,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/ledger/checkpoint.js';
import { ProvablyLedgerArgumentError } from '../../src/ledger/errors.js';
import { generateSigningKeyPem, signerFromPem, trustedKeysOf } from '../../src/ledger/keys.js';

const signer = signerFromPem(generateSigningKeyPem());
const other = signerFromPem(generateSigningKeyPem());
const trusted = trustedKeysOf(signer);
const ROOT = 'ab'.repeat(32);
const TS = '2025-01-02T03:04:05.006Z';

describe('checkpoints', () => {
  const cp = signCheckpoint({ org_id: 'acme', tree_size: 42, root_hash: ROOT, timestamp: TS }, signer);

  it('signs the fixed v1 text', () => {
    const message = checkpointMessage(cp);
    expect(CHECKPOINT_FORMAT).toBe('provably-checkpoint/v1');
    expect(message).toBe(`provably-checkpoint/v1\nacme\n42\n${ROOT}\n${TS}\n`);
    expect(cp).toEqual({
      org_id: 'acme',
      tree_size: 42,
      root_hash: ROOT,
      timestamp: TS,
      key_id: signer.keyId,
      signature: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/),
    });
    // Any Ed25519 implementation can check it from the text alone.
    expect(
      verify(
        null,
        Buffer.from(message),
        createPublicKey(signer.publicKeyPem),
        Buffer.from(cp.signature, 'base64'),
      ),
    ).toBe(true);
    expect(verifyCheckpoint(cp, trusted)).toEqual({ ok: true, checkpoint: cp });
  });

  it('takes Dates and root bytes, and refuses fields without their one accepted form', () => {
    const fromBytes = signCheckpoint(
      { org_id: 'acme', tree_size: 42, root_hash: Buffer.from(ROOT, 'hex'), timestamp: new Date(TS) },
      signer,
    );
    expect(fromBytes.root_hash).toBe(ROOT);
    expect(fromBytes.timestamp).toBe(TS);
    const bad: Record<string, unknown>[] = [
      { org_id: 'a\nb' },
      { org_id: ' acme' },
      { org_id: '' },
      { org_id: 'x'.repeat(201) },
      { tree_size: -1 },
      { tree_size: 1.5 },
      { tree_size: 2 ** 53 },
      { root_hash: ROOT.toUpperCase() },
      { root_hash: ROOT.slice(2) },
      { timestamp: '2025-01-02T03:04:05Z' },
      { timestamp: '2025-01-02T03:04:05.006+00:00' },
      { timestamp: '2025-02-30T03:04:05.006Z' },
      { timestamp: new Date('nope') },
    ];
    for (const change of bad) {
      expect(() =>
        signCheckpoint(
          { org_id: 'acme', tree_size: 1, root_hash: ROOT, timestamp: TS, ...change } as never,
          signer,
        ),
      ).toThrow(ProvablyLedgerArgumentError);
    }
  });

  it('verification fails (typed, no throw) for every altered field', () => {
    const altered: [Partial<Checkpoint>, string][] = [
      [{ org_id: 'acme2' }, 'bad-signature'],
      [{ tree_size: 43 }, 'bad-signature'],
      [{ root_hash: `${ROOT.slice(0, 63)}c` }, 'bad-signature'],
      [{ timestamp: '2025-01-02T03:04:05.007Z' }, 'bad-signature'],
      [{ signature: Buffer.alloc(64, 1).toString('base64') }, 'bad-signature'],
      [{ key_id: other.keyId }, 'unknown-key'],
      [{ key_id: 'ABCDEF0123456789' }, 'malformed'],
      [{ signature: 'not base64!' }, 'malformed'],
      [{ signature: Buffer.alloc(63).toString('base64') }, 'malformed'],
      [{ signature: cp.signature.replace(/==$/, '') }, 'malformed'],
      [{ tree_size: '42' as never }, 'malformed'],
      [{ org_id: 'acme\n42' }, 'malformed'],
      [{ timestamp: '2025-01-02T03:04:05.006' }, 'malformed'],
    ];
    for (const [change, reason] of altered) {
      const result = verifyCheckpoint({ ...cp, ...change }, trusted);
      expect(result, JSON.stringify(change)).toMatchObject({ ok: false, reason });
    }
    for (const junk of [null, undefined, 'x', 42, [], {}]) {
      expect(verifyCheckpoint(junk, trusted).ok).toBe(false);
    }
  });

  it('accepts only a trusted key that really has the key id', () => {
    expect(verifyCheckpoint(cp, {})).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(verifyCheckpoint(cp, { [signer.keyId]: other.publicKeyPem })).toMatchObject({
      ok: false,
      reason: 'bad-key',
    });
    expect(verifyCheckpoint(cp, { [signer.keyId]: 'not a key' })).toMatchObject({
      ok: false,
      reason: 'bad-key',
    });
    const signedByOther = signCheckpoint(
      { org_id: 'acme', tree_size: 42, root_hash: ROOT, timestamp: TS },
      other,
    );
    expect(verifyCheckpoint(signedByOther, trusted)).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(verifyCheckpoint(signedByOther, trustedKeysOf(signer, other)).ok).toBe(true);
    // A signature moved to another key id does not verify there.
    expect(
      verifyCheckpoint({ ...signedByOther, key_id: signer.keyId }, trustedKeysOf(signer, other)),
    ).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('returns only the checkpoint fields', () => {
    const result = verifyCheckpoint({ ...cp, id: 'x', extra: 1 }, trusted);
    expect(result).toEqual({ ok: true, checkpoint: cp });
  });
});
