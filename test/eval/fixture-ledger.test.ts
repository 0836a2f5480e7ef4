// The test ledger is itself checked: its proofs must be real RFC 6962 proofs, or the
// evaluator's proof tests would prove nothing.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  auditPath,
  FixtureLedger,
  fixtureVerifier,
  leafHash,
  newSigningKey,
  nodeHash,
  ORG,
  recordCall,
  treeRoot,
  verifyInclusion,
} from './fixture-ledger.js';

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

describe('fixture ledger (RFC 6962)', () => {
  it('hashes the empty tree, one leaf and two leaves as RFC 6962 defines', () => {
    expect(treeRoot([]).toString('hex')).toBe(createHash('sha256').digest('hex'));
    const [a, b] = leaves(2) as [Buffer, Buffer];
    expect(treeRoot([a])).toEqual(a);
    expect(treeRoot([a, b])).toEqual(nodeHash(a, b));
    // 3 leaves split at 2: MTH = H(1 ‖ H(1 ‖ a ‖ b) ‖ c).
    const c = leaves(3)[2] as Buffer;
    expect(treeRoot([a, b, c])).toEqual(nodeHash(nodeHash(a, b), c));
    // Leaf and node hashes are domain-separated.
    expect(leafHash(Buffer.concat([a, b]))).not.toEqual(nodeHash(a, b));
  });

  it('verifies every audit path of every tree up to 33 leaves, and nothing else', () => {
    for (let n = 1; n <= 33; n++) {
      const tree = leaves(n);
      const root = treeRoot(tree);
      for (let m = 0; m < n; m++) {
        const path = auditPath(m, tree);
        const leaf = tree[m] as Buffer;
        expect(verifyInclusion(m, n, leaf, path, root)).toBe(true);
        if (n > 1) {
          expect(verifyInclusion((m + 1) % n, n, leaf, path, root)).toBe(false);
          expect(verifyInclusion(m, n, tree[(m + 1) % n] as Buffer, path, root)).toBe(false);
          expect(verifyInclusion(m, n, leaf, path.slice(1), root)).toBe(false);
          expect(verifyInclusion(m, n * 2, leaf, path, root)).toBe(false);
        }
        expect(verifyInclusion(m, n, leaf, [...path, leaf], root)).toBe(false);
        expect(verifyInclusion(n, n, leaf, path, root)).toBe(false);
      }
    }
  });

  it('signs checkpoints that the verifier accepts only with the right key', () => {
    const key = newSigningKey('k1');
    const ledger = new FixtureLedger(ORG, key);
    const call = recordCall(ledger, { body: { a: 1 } });
    recordCall(ledger, { body: { b: 2 } });
    const bundle = ledger.bundle(call.index, call.record, call.wire);
    const verifier = fixtureVerifier();
    expect(verifier.verify(bundle, [key.trusted])).toEqual({ ok: true });
    expect(verifier.verify(bundle, [newSigningKey('k1').trusted])).toMatchObject({ ok: false });
    expect(verifier.verify(bundle, [newSigningKey('k2').trusted])).toMatchObject({ ok: false });
    const forged = { ...bundle, checkpoint: { ...bundle.checkpoint, tree_size: 3 } };
    expect(verifier.verify(forged, [key.trusted])).toMatchObject({
      ok: false,
      reason: 'checkpoint signature does not verify',
    });
  });
});
