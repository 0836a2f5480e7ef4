/**
 * The Merkle tree against a straight transcription of RFC 6962 §2.1's recursive definitions,
 * and fast-check properties: proofs verify for every index and size pair, and fail for any
 * other index, leaf, size, root or altered proof. Verification never throws.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProvablyLedgerArgumentError } from '../../src/ledger/errors.js';
import {
  consistencyPath,
  emptyRoot,
  inclusionPath,
  leafHash,
  MerkleTree,
  nodeHash,
  rootFromInclusionProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/merkle.js';

// ---- RFC 6962 §2.1 definitions, literally (slices and recursion; test-only) ---------------
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}
function mth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0] as Uint8Array;
  const s = k(d.length);
  return nodeHash(mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s
    ? [...path(m, d.slice(0, s)), mth(d.slice(s))]
    : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}
function subproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const s = k(d.length);
  return m <= s
    ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))]
    : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
const flip = (b: Uint8Array, bit = 0) => {
  const c = new Uint8Array(b); // a copy (Buffer#slice would be a view)
  c[bit >> 3] = (c[bit >> 3] as number) ^ (1 << (bit & 7));
  return c;
};

describe('hashing', () => {
  it('uses the RFC 6962 prefixes', () => {
    const data = Buffer.from('abc');
    expect(hex(leafHash(data))).toBe(
      hex(
        createHash('sha256')
          .update(Buffer.from([0]))
          .update(data)
          .digest(),
      ),
    );
    const l = leafHash(Buffer.from('l'));
    const r = leafHash(Buffer.from('r'));
    expect(hex(nodeHash(l, r))).toBe(
      hex(
        createHash('sha256')
          .update(Buffer.from([1]))
          .update(l)
          .update(r)
          .digest(),
      ),
    );
    expect(hex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(rootHash([]))).toBe(hex(emptyRoot()));
  });
});

describe('MerkleTree against the RFC definitions', () => {
  const all = leaves(70);
  it('roots, paths and proofs match for every size up to 70', () => {
    const tree = new MerkleTree();
    expect(hex(tree.root())).toBe(hex(emptyRoot()));
    for (let n = 1; n <= all.length; n++) {
      tree.append(all[n - 1] as Uint8Array);
      const d = all.slice(0, n);
      expect(hex(tree.root())).toBe(hex(mth(d)));
      for (let m = 0; m < n; m++) expect(tree.inclusionPath(m).map(hex)).toEqual(path(m, d).map(hex));
      for (let m = 1; m <= n; m++)
        expect(tree.consistencyPath(m).map(hex)).toEqual(subproof(m, d, true).map(hex));
    }
  });

  it('answers for earlier sizes the same as a tree of that size', () => {
    const big = new MerkleTree(all);
    for (const n of [1, 2, 3, 7, 8, 9, 31, 32, 33, 69]) {
      const small = new MerkleTree(all.slice(0, n));
      expect(hex(big.root(n))).toBe(hex(small.root()));
      for (let m = 0; m < n; m++)
        expect(big.inclusionPath(m, n).map(hex)).toEqual(small.inclusionPath(m).map(hex));
      for (let m = 1; m <= n; m++) {
        expect(big.consistencyPath(m, n).map(hex)).toEqual(small.consistencyPath(m).map(hex));
      }
    }
    expect(inclusionPath(all, 3, 9).map(hex)).toEqual(path(3, all.slice(0, 9)).map(hex));
    expect(consistencyPath(all, 3, 9).map(hex)).toEqual(subproof(3, all.slice(0, 9), true).map(hex));
  });

  it('refuses impossible requests with ProvablyLedgerArgumentError', () => {
    const tree = new MerkleTree(all.slice(0, 5));
    const bad = [
      () => tree.root(6),
      () => tree.root(-1),
      () => tree.root(1.5),
      () => tree.inclusionPath(5),
      () => tree.inclusionPath(0, 0),
      () => tree.inclusionPath(-1),
      () => tree.consistencyPath(0),
      () => tree.consistencyPath(6),
      () => tree.consistencyPath(3, 2),
      () => tree.append(new Uint8Array(31)),
      () => tree.leaf(5),
    ];
    for (const f of bad) expect(f).toThrow(ProvablyLedgerArgumentError);
  });

  it('hands out copies: changing a returned hash does not change the tree', () => {
    const tree = new MerkleTree(all.slice(0, 6));
    const before = hex(tree.root());
    tree.root().fill(0);
    tree.leaf(0).fill(0);
    for (const h of tree.inclusionPath(0)) h.fill(0);
    expect(hex(tree.root())).toBe(before);
  });
});

describe('verification works past 32-bit sizes', () => {
  // A tree whose leaves are all the same hash: every subtree of a given size has the same
  // hash, so roots and proofs of huge trees are cheap to compute by size alone.
  const h0 = leafHash(Buffer.from('same'));
  const memo = new Map<number, Uint8Array>();
  const mthOf = (n: number): Uint8Array => {
    if (n === 1) return h0;
    const hit = memo.get(n);
    if (hit) return hit;
    const s = k(n);
    const h = nodeHash(mthOf(s), mthOf(n - s));
    memo.set(n, h);
    return h;
  };
  const pathOf = (m: number, n: number): Uint8Array[] => {
    if (n === 1) return [];
    const s = k(n);
    return m < s ? [...pathOf(m, s), mthOf(n - s)] : [...pathOf(m - s, n - s), mthOf(s)];
  };
  const proofOf = (m: number, n: number, b: boolean): Uint8Array[] => {
    if (m === n) return b ? [] : [mthOf(n)];
    const s = k(n);
    return m <= s ? [...proofOf(m, s, b), mthOf(n - s)] : [...proofOf(m - s, n - s, false), mthOf(s)];
  };

  it.each([
    [2 ** 33 + 5, 2 ** 34 + 3],
    [2 ** 40 - 1, 2 ** 40],
    [0, 2 ** 52 + 1],
    [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
  ])('inclusion of %d in %d', (index, size) => {
    const proof = pathOf(index, size);
    expect(
      verifyInclusion({ leafIndex: index, treeSize: size, leafHash: h0, proof, rootHash: mthOf(size) }),
    ).toEqual({
      ok: true,
    });
    expect(
      verifyInclusion({ leafIndex: index, treeSize: size, leafHash: flip(h0), proof, rootHash: mthOf(size) })
        .ok,
    ).toBe(false);
    expect(
      verifyInclusion({ leafIndex: index, treeSize: size, leafHash: h0, proof, rootHash: flip(mthOf(size)) })
        .ok,
    ).toBe(false);
  });

  it.each([
    [2 ** 33 + 5, 2 ** 34 + 3],
    [2 ** 32, 2 ** 40 + 7],
    [3, Number.MAX_SAFE_INTEGER],
  ])('consistency %d → %d', (m, n) => {
    const proof = proofOf(m, n, true);
    expect(verifyConsistency({ size1: m, size2: n, root1: mthOf(m), root2: mthOf(n), proof })).toEqual({
      ok: true,
    });
    expect(verifyConsistency({ size1: m, size2: n, root1: mthOf(m), root2: flip(mthOf(n)), proof }).ok).toBe(
      false,
    );
  });
});

describe('properties', () => {
  // Distinct leaves: with equal leaves another index (or size) can legitimately verify.
  const leafSet = fc
    .uniqueArray(fc.uint8Array({ minLength: 0, maxLength: 40 }), {
      minLength: 1,
      maxLength: 150,
      selector: (d) => Buffer.from(d).toString('hex'),
    })
    .map((datas) => datas.map((d) => leafHash(d)));

  it('inclusion verifies for every index, and fails for any other index, leaf, size or root', () => {
    fc.assert(
      fc.property(leafSet, fc.nat(), fc.nat(), (hashes, r1, r2) => {
        const tree = new MerkleTree(hashes);
        const n = tree.size;
        const root = tree.root();
        const longer = new MerkleTree([...hashes, leafHash(Buffer.from('one more'))]);
        for (let i = 0; i < n; i++) {
          const proof = tree.inclusionPath(i);
          const leaf = tree.leaf(i);
          expect(
            verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaf, proof, rootHash: root }),
          ).toEqual({
            ok: true,
          });
          // Any other index with this proof and leaf.
          const j = (i + 1 + (r1 % Math.max(1, n))) % n;
          if (j !== i) {
            expect(
              verifyInclusion({ leafIndex: j, treeSize: n, leafHash: leaf, proof, rootHash: root }).ok,
            ).toBe(false);
          }
          // Any other leaf (including another leaf of the same tree, when it differs).
          const other = tree.leaf((i + 1) % n);
          if (hex(other) !== hex(leaf)) {
            expect(
              verifyInclusion({ leafIndex: i, treeSize: n, leafHash: other, proof, rootHash: root }).ok,
            ).toBe(false);
          }
          expect(
            verifyInclusion({
              leafIndex: i,
              treeSize: n,
              leafHash: flip(leaf, r2 % 256),
              proof,
              rootHash: root,
            }).ok,
          ).toBe(false);
          expect(
            verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaf, proof, rootHash: flip(root) }).ok,
          ).toBe(false);
          // Another size with that size's root. (The same root under another size can verify:
          // a root means nothing without its size, which is why checkpoints sign both.)
          expect(
            verifyInclusion({ leafIndex: i, treeSize: n + 1, leafHash: leaf, proof, rootHash: longer.root() })
              .ok,
          ).toBe(false);
          if (proof.length > 0) {
            const p = r2 % proof.length;
            const altered = proof.map((h, x) => (x === p ? flip(h, r1 % 256) : h));
            expect(
              verifyInclusion({ leafIndex: i, treeSize: n, leafHash: leaf, proof: altered, rootHash: root })
                .ok,
            ).toBe(false);
            expect(
              verifyInclusion({
                leafIndex: i,
                treeSize: n,
                leafHash: leaf,
                proof: proof.slice(0, -1),
                rootHash: root,
              }),
            ).toMatchObject({ ok: false, reason: 'bad-proof-length' });
          }
          expect(
            verifyInclusion({
              leafIndex: i,
              treeSize: n,
              leafHash: leaf,
              proof: [...proof, root],
              rootHash: root,
            }),
          ).toMatchObject({ ok: false });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('consistency verifies between any two sizes m ≤ n and fails for altered roots or proofs', () => {
    fc.assert(
      fc.property(leafSet, fc.nat(), (hashes, r) => {
        const tree = new MerkleTree(hashes);
        const n = tree.size;
        for (let size2 = 1; size2 <= n; size2++) {
          for (let size1 = 1; size1 <= size2; size1++) {
            const proof = tree.consistencyPath(size1, size2);
            const root1 = tree.root(size1);
            const root2 = tree.root(size2);
            expect(verifyConsistency({ size1, size2, root1, root2, proof })).toEqual({ ok: true });
            expect(verifyConsistency({ size1, size2, root1: flip(root1, r % 256), root2, proof }).ok).toBe(
              false,
            );
            expect(verifyConsistency({ size1, size2, root1, root2: flip(root2, r % 256), proof }).ok).toBe(
              false,
            );
            if (size1 < size2) {
              expect(
                verifyConsistency({ size1: size2, size2: size1, root1: root2, root2: root1, proof }).ok,
              ).toBe(false);
              if (size2 < n) {
                const root3 = tree.root(size2 + 1);
                expect(verifyConsistency({ size1, size2: size2 + 1, root1, root2: root3, proof }).ok).toBe(
                  false,
                );
              }
              const p = r % proof.length;
              const altered = proof.map((h, x) => (x === p ? flip(h, r % 256) : h));
              expect(verifyConsistency({ size1, size2, root1, root2, proof: altered }).ok).toBe(false);
              expect(verifyConsistency({ size1, size2, root1, root2, proof: proof.slice(1) }).ok).toBe(false);
              expect(verifyConsistency({ size1, size2, root1, root2, proof: [...proof, root2] }).ok).toBe(
                false,
              );
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it('an inclusion proof leads to the root of its own tree size only', () => {
    fc.assert(
      fc.property(leafSet, (hashes) => {
        const tree = new MerkleTree(hashes);
        for (let i = 0; i < tree.size; i++) {
          const computed = rootFromInclusionProof({
            leafIndex: i,
            treeSize: tree.size,
            leafHash: tree.leaf(i),
            proof: tree.inclusionPath(i),
          });
          expect(computed.ok && hex(computed.root)).toBe(hex(tree.root()));
        }
      }),
      { numRuns: 30 },
    );
  });

  it('verification never throws on arbitrary input of the right types (or the wrong ones)', () => {
    const size = fc.oneof(
      fc.integer({ min: -3, max: 40 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, -0, 1.5, Number.MAX_SAFE_INTEGER),
    );
    const bytes = fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.constant(new Uint8Array(32)));
    const proof = fc.array(bytes, { maxLength: 8 });
    fc.assert(
      fc.property(size, size, bytes, bytes, proof, (a, b, h1, h2, p) => {
        expect(() =>
          verifyInclusion({ leafIndex: a, treeSize: b, leafHash: h1, proof: p, rootHash: h2 }),
        ).not.toThrow();
        expect(() => verifyConsistency({ size1: a, size2: b, root1: h1, root2: h2, proof: p })).not.toThrow();
      }),
      { numRuns: 2000 },
    );
    const junk = [
      null,
      undefined,
      'x',
      1,
      {},
      [],
      { proof: 'no' },
      { leafIndex: 0, treeSize: 1, leafHash: 'x', proof: [] },
    ];
    for (const j of junk) {
      expect(verifyInclusion(j as never).ok).toBe(false);
      expect(verifyConsistency(j as never).ok).toBe(false);
    }
    expect(
      verifyInclusion({
        leafIndex: 0,
        treeSize: 2,
        leafHash: new Uint8Array(32),
        proof: ['x'] as never,
        rootHash: new Uint8Array(32),
      }),
    ).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('random leaves: incremental appends and one-shot building agree', () => {
    const hashes = Array.from({ length: 257 }, () => leafHash(randomBytes(16)));
    const a = new MerkleTree();
    for (const h of hashes) a.append(h);
    expect(hex(a.root())).toBe(hex(new MerkleTree(hashes).root()));
    expect(hex(a.root())).toBe(hex(mth(hashes)));
  });
});
