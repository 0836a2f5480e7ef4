/**
 * Every RFC 6962 test vector in ../shared/vectors/rfc6962/ (transparency-dev/merkle testdata):
 * each `wantErr: false` case must verify, each adversarial `wantErr: true` case must be refused
 * with a typed failure (never a throw). The happy paths are also regenerated from the reference
 * tree's leaf data, proof node for proof node.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leafHash, MerkleTree, verifyConsistency, verifyInclusion } from '../../src/ledger/merkle.js';

const VECTORS = fileURLToPath(new URL('../../../shared/vectors/rfc6962/', import.meta.url));
if (!existsSync(join(VECTORS, 'inclusion')) || !existsSync(join(VECTORS, 'consistency'))) {
  throw new Error(
    `RFC 6962 test vectors not found at ${VECTORS} (expected inclusion/ and consistency/ there): ` +
      'the ledger cannot be checked against them',
  );
}

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function load<T>(kind: 'inclusion' | 'consistency'): { file: string; v: T }[] {
  const dir = join(VECTORS, kind);
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ file: `${kind}/${f}`, v: JSON.parse(readFileSync(join(dir, f), 'utf8')) as T }));
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const inclusion = load<InclusionVector>('inclusion');
const consistency = load<ConsistencyVector>('consistency');

describe('RFC 6962 vectors', () => {
  it('found the vectors', () => {
    const count = (xs: { v: { wantErr: boolean } }[], want: boolean) =>
      xs.filter((x) => x.v.wantErr === want).length;
    const counts = {
      inclusion: { accept: count(inclusion, false), reject: count(inclusion, true) },
      consistency: { accept: count(consistency, false), reject: count(consistency, true) },
    };
    console.log(`RFC 6962 vectors in ${relative(process.cwd(), VECTORS)}: ${JSON.stringify(counts)}`);
    // The shared folder held 98 + 98 files when this was written; fewer means a broken glob.
    expect(inclusion.length).toBeGreaterThanOrEqual(98);
    expect(consistency.length).toBeGreaterThanOrEqual(98);
    for (const c of Object.values(counts)) {
      expect(c.accept).toBeGreaterThan(0);
      expect(c.reject).toBeGreaterThan(0);
    }
  });

  describe('inclusion', () => {
    it.each(inclusion.map((x) => [x.file, x.v.desc, x.v] as const))('%s (%s)', (_file, _desc, v) => {
      let result: ReturnType<typeof verifyInclusion> | undefined;
      expect(() => {
        result = verifyInclusion({
          leafIndex: v.leafIdx,
          treeSize: v.treeSize,
          leafHash: b64(v.leafHash),
          proof: (v.proof ?? []).map(b64),
          rootHash: b64(v.root),
        });
      }).not.toThrow();
      if (v.wantErr) {
        expect(result?.ok).toBe(false);
        if (result && !result.ok) expect(typeof result.reason).toBe('string');
      } else {
        expect(result).toEqual({ ok: true });
      }
    });
  });

  describe('consistency', () => {
    it.each(consistency.map((x) => [x.file, x.v.desc, x.v] as const))('%s (%s)', (_file, _desc, v) => {
      let result: ReturnType<typeof verifyConsistency> | undefined;
      expect(() => {
        result = verifyConsistency({
          size1: v.size1,
          size2: v.size2,
          root1: b64(v.root1),
          root2: b64(v.root2),
          proof: (v.proof ?? []).map(b64),
        });
      }).not.toThrow();
      if (v.wantErr) expect(result?.ok).toBe(false);
      else expect(result).toEqual({ ok: true });
    });
  });

  // The 8-leaf reference tree the vectors' happy paths come from (RFC 6962 reference test data).
  const LEAVES = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ].map((h) => leafHash(Buffer.from(h, 'hex')));
  const tree = new MerkleTree(LEAVES);

  it('the reference tree has the vectors’ 8-leaf root', () => {
    const root8 = inclusion.find((x) => x.file === 'inclusion/1/happy-path.json')?.v.root;
    expect(Buffer.from(tree.root()).toString('base64')).toBe(root8);
    expect(Buffer.from(tree.root()).toString('hex')).toBe(
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    );
  });

  it('regenerates every happy-path inclusion proof exactly', () => {
    const happy = inclusion.filter(
      (x) => !x.v.wantErr && x.v.treeSize <= 8 && x.file.match(/^inclusion\/\d\//),
    );
    expect(happy.length).toBeGreaterThan(0);
    for (const { v } of happy) {
      expect(Buffer.from(tree.root(v.treeSize)).toString('base64')).toBe(v.root);
      expect(Buffer.from(tree.leaf(v.leafIdx)).toString('base64')).toBe(v.leafHash);
      const path = tree.inclusionPath(v.leafIdx, v.treeSize).map((h) => Buffer.from(h).toString('base64'));
      expect(path).toEqual(v.proof ?? []);
    }
  });

  it('regenerates every happy-path consistency proof exactly', () => {
    const happy = consistency.filter((x) => !x.v.wantErr && x.file.match(/^consistency\/\d\//));
    expect(happy.length).toBeGreaterThan(0);
    for (const { v } of happy) {
      expect(Buffer.from(tree.root(v.size1)).toString('base64')).toBe(v.root1);
      expect(Buffer.from(tree.root(v.size2)).toString('base64')).toBe(v.root2);
      const proof = tree.consistencyPath(v.size1, v.size2).map((h) => Buffer.from(h).toString('base64'));
      expect(proof).toEqual(v.proof ?? []);
    }
  });
});
