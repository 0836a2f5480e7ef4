/**
 * Incremental checkpoints: the compact range stored with each checkpoint, extended by the next
 * one with only the leaves added since; the fallbacks that reread the log; and ensureCheckpoint
 * reusing a checkpoint that already covers the whole log.
 */
import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  CompactRange,
  ensureCheckpoint,
  generateSigningKeyPem,
  issueCheckpoint,
  leafHash,
  listCheckpoints,
  MerkleTree,
  ProvablyLedgerIntegrityError,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
} from '../../src/ledger/index.js';
import type { Queryable } from '../../src/store/types.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { insertRecords, installTamper, lit, tamper } from './fixtures.js';

const signer = signerFromPem(generateSigningKeyPem());
const other = signerFromPem(generateSigningKeyPem());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('CompactRange', () => {
  it('gives the RFC 6962 root at every size up to 140, and survives its stored form', () => {
    const tree = new MerkleTree();
    let range = CompactRange.empty();
    expect(hex(range.root())).toBe(hex(tree.root()));
    for (let i = 0; i < 140; i++) {
      const h = leafHash(Buffer.from(`leaf ${i}`));
      tree.append(h);
      range.append(h);
      expect(hex(range.root()), `size ${i + 1}`).toBe(hex(tree.root()));
      if (i % 7 === 0) range = CompactRange.parse(range.size, range.bytes());
    }
  });

  it('refuses a stored form that does not fit the size', () => {
    const range = CompactRange.empty();
    range.append(leafHash(Buffer.from('a')));
    range.append(leafHash(Buffer.from('b')));
    range.append(leafHash(Buffer.from('c'))); // size 3: two subtree roots
    expect(() => CompactRange.parse(4, range.bytes())).toThrow(/1 subtree roots/);
    expect(() => CompactRange.parse(3, range.bytes().subarray(0, 32))).toThrow(/2 subtree roots/);
  });
});

async function append(q: Queryable, org: string, n: number, seed: number): Promise<void> {
  await appendLeaves(q, org, await insertRecords(q, org, n, seed));
}

/** `q` counting the leaf rows its statements return: how much of the log a checkpoint reads. */
function counting(q: Queryable): { q: Queryable; read: () => number } {
  let rows = 0;
  return {
    q: {
      query: async (sql, params) => {
        const result = await q.query(sql, params);
        if (/provably_ledger_leaves/.test(sql) && /leaf_hash/.test(sql)) rows += result.rows.length;
        return result as never;
      },
    },
    read: () => rows,
  };
}

describeEachBackend('incremental checkpoints', (backend) => {
  const store = useTestStore(backend);
  const issueCounted = (org: string, s = signer, options = {}) =>
    store().transaction(async (tx) => {
      const c = counting(tx);
      const cp = await issueCheckpoint(c.q, org, s, options);
      return { cp, read: c.read() };
    });

  it('a checkpoint reads only the leaves added since the last one, and the chain verifies', async () => {
    const org = 'inc-chain';
    await append(store(), org, 300, 1);
    expect((await issueCounted(org)).read).toBe(300);
    for (let round = 0; round < 3; round++) {
      await append(store(), org, 7, 10 + round);
      const { cp, read } = await issueCounted(org);
      expect(read).toBe(7);
      expect(cp.tree_size).toBe(300 + 7 * (round + 1));
    }
    // Nothing new: nothing read, the same root signed again.
    const again = await issueCounted(org);
    expect(again.read).toBe(0);
    const report = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(report).toMatchObject({ ok: true, treeSize: 321, verifiedCheckpoints: 5 });
  });

  it("rereads the log when the latest checkpoint is another key's, has no range, or its range is wrong", async () => {
    await installTamper(store().raw);
    const org = 'inc-fallback';
    await append(store(), org, 20, 2);
    await issueCheckpoint(store(), org, other);
    await append(store(), org, 3, 3);
    // Another key's checkpoint: its range is not trusted, the 20 leaves it covers are reread.
    expect((await issueCounted(org)).read).toBe(23);
    await append(store(), org, 2, 4);
    // A checkpoint row whose stored range is gone (as before migration 4) or does not give its root.
    await tamper(store().raw, [
      `UPDATE provably_checkpoints SET frontier = NULL WHERE org_id = ${lit(org)} AND tree_size = 23`,
    ]);
    expect((await issueCounted(org)).read).toBe(25);
    await append(store(), org, 1, 5);
    await tamper(store().raw, [
      `UPDATE provably_checkpoints SET frontier = sha256(frontier) || substr(frontier, 33)
       WHERE org_id = ${lit(org)} AND tree_size = 25`,
    ]);
    expect((await issueCounted(org)).read).toBe(26);
    const report = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer, other) });
    expect(report).toMatchObject({ ok: true, treeSize: 26, verifiedCheckpoints: 4 });
  });

  it('a new record that no longer matches its leaf is still refused', async () => {
    await installTamper(store().raw);
    const org = 'inc-refuse';
    await append(store(), org, 5, 6);
    await issueCheckpoint(store(), org, signer);
    const ids = await insertRecords(store(), org, 2, 7);
    await appendLeaves(store(), org, ids);
    await tamper(store().raw, [
      `UPDATE provably_intercepts SET method = 'DELETE' WHERE id = ${lit(ids[1] as string)}`,
    ]);
    const err = await issueCheckpoint(store(), org, signer).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvablyLedgerIntegrityError);
    expect((err as Error).message).toContain('leaf 6');
  });

  it('ensureCheckpoint reuses a checkpoint of this key that covers the whole log, else issues one', async () => {
    const org = 'inc-ensure';
    await append(store(), org, 4, 8);
    const first = await ensureCheckpoint(store(), org, signer);
    expect(first.tree_size).toBe(4);
    expect(await ensureCheckpoint(store(), org, signer)).toEqual(first);
    expect((await listCheckpoints(store(), org)).length).toBe(1);
    // Another signer's key: not reused.
    const theirs = await ensureCheckpoint(store(), org, other);
    expect(theirs.key_id).toBe(other.keyId);
    expect(theirs.id).not.toBe(first.id);
    await append(store(), org, 1, 9);
    const grown = await ensureCheckpoint(store(), org, signer);
    expect(grown.tree_size).toBe(5);
    expect((await listCheckpoints(store(), org)).length).toBe(3);
  });
});
