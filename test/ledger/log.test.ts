/**
 * The log in the store, on both backends: appending (inside the caller's transaction too),
 * checkpoints, proofs that verify offline against a signed checkpoint, and verifyLog on an
 * intact log (records written by the real recorder included).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { ProvablyStoreError } from '../../src/errors/index.js';
import {
  ProvablyLedgerArgumentError,
  ProvablyLedgerIntegrityError,
  ProvablyLedgerRecordError,
} from '../../src/ledger/errors.js';
import {
  appendLeaves,
  appendLeavesByOrg,
  consistencyProof,
  emptyRoot,
  generateSigningKeyPem,
  inclusionProof,
  inclusionProofs,
  issueCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  recordLeafHash,
  signerFromPem,
  trustedKeysOf,
  verifyCheckpoint,
  verifyCheckpointConsistency,
  verifyLog,
  verifyRecordProof,
} from '../../src/ledger/index.js';
import { createRecorder, getIntercept, ProvablyInvalidIdError } from '../../src/record/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { insertRecords, installTamper, lit, tamper } from './fixtures.js';

const signer = signerFromPem(generateSigningKeyPem());
const trustedKeys = trustedKeysOf(signer);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describeEachBackend('ledger log', (backend) => {
  const store = useTestStore(backend);
  beforeAll(async () => {
    await installTamper(store().raw);
  });

  it('creates append-only ledger tables', async () => {
    const org = 'log-ao';
    const ids = await insertRecords(store(), org, 2);
    await appendLeaves(store(), org, ids);
    await issueCheckpoint(store(), org, signer);
    for (const sql of [
      `UPDATE provably_ledger_leaves SET leaf_index = 9 WHERE org_id = '${org}'`,
      `DELETE FROM provably_ledger_leaves WHERE org_id = '${org}'`,
      'TRUNCATE provably_ledger_leaves',
      `UPDATE provably_checkpoints SET tree_size = 9 WHERE org_id = '${org}'`,
      `DELETE FROM provably_checkpoints WHERE org_id = '${org}'`,
      'TRUNCATE provably_checkpoints',
    ]) {
      const err = await rejection(store().query(sql));
      expect(err, sql).toBeInstanceOf(ProvablyStoreError);
      expect((err as ProvablyStoreError).reason).toBe('append-only');
    }
  });

  it('appends gap-free from 0, each leaf built from the stored row', async () => {
    const org = 'log-append';
    const ids = await insertRecords(store(), org, 12);
    const first = await appendLeaves(store(), org, ids.slice(0, 5));
    expect(first.leaves.map((l) => l.leafIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(first.treeSize).toBe(5);
    const second = await appendLeaves(
      store(),
      org,
      ids.slice(5).map((id) => ({ id: id.toUpperCase() })),
    );
    expect(second.leaves.map((l) => l.leafIndex)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(second.leaves.map((l) => l.recordId)).toEqual(ids.slice(5));
    for (const leaf of [...first.leaves, ...second.leaves]) {
      const record = await getIntercept(store(), leaf.recordId);
      expect(leaf.leafHash).toBe(hex(recordLeafHash(record as NonNullable<typeof record>, leaf.leafIndex)));
    }
    const stored = await store().query<{ leaf_index: number; record_id: string; leaf_hash: Uint8Array }>(
      'SELECT leaf_index, record_id, leaf_hash FROM provably_ledger_leaves WHERE org_id = $1 ORDER BY leaf_index',
      [org],
    );
    expect(stored.rows.map((r) => [r.leaf_index, r.record_id, hex(r.leaf_hash)])).toEqual(
      [...first.leaves, ...second.leaves].map((l) => [l.leafIndex, l.recordId, l.leafHash]),
    );
    expect((await appendLeaves(store(), org, [])).treeSize).toBe(12);
  });

  it("commits the leaves with the caller's transaction, or not at all", async () => {
    const org = 'log-tx';
    await expect(
      store().transaction(async (tx) => {
        const ids = await insertRecords(tx, org, 3);
        await appendLeaves(tx, org, ids);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    const none = await store().query(
      'SELECT count(*)::int AS n FROM provably_ledger_leaves WHERE org_id = $1',
      [org],
    );
    expect(none.rows[0]).toEqual({ n: 0 });
    const result = await store().transaction(async (tx) => {
      const ids = await insertRecords(tx, org, 3, 2);
      return appendLeaves(tx, org, ids);
    });
    // No index was used up by the rolled-back batch.
    expect(result.leaves.map((l) => l.leafIndex)).toEqual([0, 1, 2]);
  });

  it('refuses records that are missing, of another org, already logged or repeated; appends nothing then', async () => {
    const org = 'log-refuse';
    const ids = await insertRecords(store(), org, 3);
    const elsewhere = await insertRecords(store(), 'log-refuse-other', 1);
    await appendLeaves(store(), org, [ids[0] as string]);
    const cases: [unknown[], string][] = [
      [[ids[1], randomUUID()], 'not-found'],
      [[ids[1], elsewhere[0]], 'org-mismatch'],
      [[ids[1], ids[0]], 'already-logged'],
      [[ids[1], ids[2], ids[1]], 'duplicate'],
    ];
    for (const [list, reason] of cases) {
      const err = await rejection(appendLeaves(store(), org, list as string[]));
      expect(err).toBeInstanceOf(ProvablyLedgerRecordError);
      expect((err as ProvablyLedgerRecordError).reason).toBe(reason);
      expect((err as ProvablyLedgerRecordError).code).toBe('PROVABLY_LEDGER_RECORD');
    }
    expect(await rejection(appendLeaves(store(), org, ['nope']))).toBeInstanceOf(ProvablyInvalidIdError);
    const count = await store().query(
      'SELECT count(*)::int AS n FROM provably_ledger_leaves WHERE org_id = $1',
      [org],
    );
    expect(count.rows[0]).toEqual({ n: 1 });
  });

  it('appendLeavesByOrg appends each org in one transaction', async () => {
    const a = await insertRecords(store(), 'log-by-a', 2);
    const b = await insertRecords(store(), 'log-by-b', 3);
    const results = await appendLeavesByOrg(store(), [
      { id: b[0] as string, orgId: 'log-by-b' },
      { id: a[0] as string, orgId: 'log-by-a' },
      { id: b[1] as string, orgId: 'log-by-b' },
      { id: a[1] as string, orgId: 'log-by-a' },
      { id: b[2] as string, orgId: 'log-by-b' },
    ]);
    expect(results.map((r) => [r.orgId, r.leaves.map((l) => [l.recordId, l.leafIndex])])).toEqual([
      [
        'log-by-a',
        [
          [a[0], 0],
          [a[1], 1],
        ],
      ],
      [
        'log-by-b',
        [
          [b[0], 0],
          [b[1], 1],
          [b[2], 2],
        ],
      ],
    ]);
  });

  it('issues signed checkpoints whose proofs verify offline with only the public key', async () => {
    const org = 'log-proofs';
    const ids = await insertRecords(store(), org, 37, 3);
    await expect(inclusionProof(store(), org, ids[0] as string)).rejects.toBeInstanceOf(
      ProvablyLedgerRecordError,
    );
    await appendLeaves(store(), org, ids.slice(0, 13));
    const cp1 = await issueCheckpoint(store(), org, signer, {
      now: () => new Date('2025-05-01T00:00:00.000Z'),
    });
    await appendLeaves(store(), org, ids.slice(13));
    const cp2 = await issueCheckpoint(store(), org, signer);
    expect(cp1).toMatchObject({
      org_id: org,
      tree_size: 13,
      timestamp: '2025-05-01T00:00:00.000Z',
      key_id: signer.keyId,
    });
    expect(cp2.tree_size).toBe(37);
    // Stored and read back exactly as signed.
    expect(await listCheckpoints(store(), org)).toEqual([cp1, cp2]);
    expect(await latestCheckpoint(store(), org)).toEqual(cp2);
    expect(verifyCheckpoint(cp2, trustedKeys).ok).toBe(true);

    // Several records under one tree read: the same proofs as one by one, in the order given.
    const picked = [ids[30], ids[0], ids[12]] as string[];
    const batch = await inclusionProofs(
      store(),
      org,
      picked.map((id) => id.toUpperCase()),
      37,
    );
    expect(batch).toEqual(await Promise.all(picked.map((id) => inclusionProof(store(), org, id, 37))));
    await expect(
      inclusionProofs(store(), org, [ids[0] as string, ids[20] as string], 13),
    ).rejects.toMatchObject({
      reason: 'not-logged',
    });
    expect(await inclusionProofs(store(), org, [])).toEqual([]);

    // Offline: a verifier holding the checkpoints, the proofs, the records and the public key.
    const offline = JSON.parse(JSON.stringify({ cp1, cp2, publicKeyPem: signer.publicKeyPem }));
    const keys = trustedKeysOf(offline.publicKeyPem);
    for (const [i, id] of ids.entries()) {
      const record = await getIntercept(store(), id);
      const proof = JSON.parse(JSON.stringify(await inclusionProof(store(), org, id)));
      expect(proof).toMatchObject({ leafIndex: i, treeSize: 37, rootHash: cp2.root_hash });
      expect(
        verifyRecordProof({ proof, checkpoint: offline.cp2, trustedKeys: keys, record: record ?? undefined }),
      ).toEqual({
        ok: true,
      });
      // Against the older checkpoint too, when it covers the record.
      if (i < 13) {
        const old = await inclusionProof(store(), org, id, 13);
        expect(verifyRecordProof({ proof: old, checkpoint: offline.cp1, trustedKeys: keys })).toEqual({
          ok: true,
        });
      } else {
        await expect(inclusionProof(store(), org, id, 13)).rejects.toMatchObject({ reason: 'not-logged' });
      }
      if (i % 9 === 0 && record) {
        const changed = { ...record, status: (record.status ?? 0) + 1 };
        expect(
          verifyRecordProof({ proof, checkpoint: offline.cp2, trustedKeys: keys, record: changed }),
        ).toMatchObject({
          ok: false,
          reason: 'leaf-mismatch',
        });
        expect(verifyRecordProof({ proof, checkpoint: offline.cp1, trustedKeys: keys })).toMatchObject({
          ok: false,
          reason: 'checkpoint-mismatch',
        });
        expect(
          verifyRecordProof({
            proof,
            checkpoint: offline.cp2,
            trustedKeys: trustedKeysOf(generateSigningKeyPem()),
          }),
        ).toMatchObject({
          ok: false,
          reason: 'unknown-key',
        });
        const badPath = {
          ...proof,
          proof: proof.proof.map((h: string, x: number) =>
            x === 0 ? h.replace(/^./, h[0] === '0' ? '1' : '0') : h,
          ),
        };
        expect(
          verifyRecordProof({ proof: badPath, checkpoint: offline.cp2, trustedKeys: keys }),
        ).toMatchObject({
          ok: false,
          reason: 'root-mismatch',
        });
      }
    }

    const consistency = JSON.parse(JSON.stringify(await consistencyProof(store(), org, 13, 37)));
    expect(consistency).toMatchObject({ size1: 13, size2: 37, root1: cp1.root_hash, root2: cp2.root_hash });
    expect(
      verifyCheckpointConsistency({
        older: offline.cp1,
        newer: offline.cp2,
        proof: consistency,
        trustedKeys: keys,
      }),
    ).toEqual({
      ok: true,
    });
    const forged = { ...consistency, proof: consistency.proof.slice(1) };
    expect(
      verifyCheckpointConsistency({
        older: offline.cp1,
        newer: offline.cp2,
        proof: forged,
        trustedKeys: keys,
      }).ok,
    ).toBe(false);
    await expect(consistencyProof(store(), org, 0, 5)).rejects.toBeInstanceOf(ProvablyLedgerArgumentError);
    await expect(consistencyProof(store(), org, 5, 38)).rejects.toBeInstanceOf(ProvablyLedgerArgumentError);
    await expect(inclusionProof(store(), org, ids[0] as string, 38)).rejects.toBeInstanceOf(
      ProvablyLedgerArgumentError,
    );

    const report = await verifyLog(store(), org, { trustedKeys });
    expect(report).toMatchObject({
      ok: true,
      treeSize: 37,
      rootHash: cp2.root_hash,
      checkpoints: 2,
      verifiedCheckpoints: 2,
      uncheckpointedLeaves: 0,
      unloggedRecords: 0,
      firstBroken: null,
      problems: [],
    });
    expect(report.latestVerified).toEqual(cp2);
  });

  it('checkpoints an empty log with the empty root', async () => {
    const cp = await issueCheckpoint(store(), 'log-empty', signer);
    expect(cp).toMatchObject({ tree_size: 0, root_hash: hex(emptyRoot()) });
    expect(await verifyLog(store(), 'log-empty', { trustedKeys })).toMatchObject({
      ok: true,
      treeSize: 0,
      verifiedCheckpoints: 1,
    });
  });

  it('verifyLog reports progress, uncheckpointed leaves and unlogged records', async () => {
    const org = 'log-verify';
    const ids = await insertRecords(store(), org, 25, 4);
    await appendLeaves(store(), org, ids.slice(0, 10));
    await issueCheckpoint(store(), org, signer);
    await appendLeaves(store(), org, ids.slice(10, 20));
    const progress: unknown[] = [];
    const report = await verifyLog(store(), org, {
      trustedKeys,
      pageSize: 7,
      onProgress: (p) => progress.push(p),
    });
    expect(progress).toEqual([
      { phase: 'leaves', done: 7, total: 20 },
      { phase: 'leaves', done: 14, total: 20 },
      { phase: 'leaves', done: 20, total: 20 },
      { phase: 'checkpoints', done: 1, total: 1 },
    ]);
    expect(report).toMatchObject({ ok: false, treeSize: 20, uncheckpointedLeaves: 10, unloggedRecords: 5 });
    expect(report.firstBroken).toMatchObject({ kind: 'record-unlogged', leafIndex: null });
    expect(ids.slice(20)).toContain(report.firstBroken?.recordId);
    expect(await verifyLog(store(), org, { trustedKeys, allowUnlogged: true })).toMatchObject({
      ok: true,
      unloggedRecords: 5,
    });
    // Without the signer's key the checkpoint proves nothing.
    const untrusted = await verifyLog(store(), org, { trustedKeys: {}, allowUnlogged: true });
    expect(untrusted).toMatchObject({ ok: false, verifiedCheckpoints: 0 });
    expect(untrusted.firstBroken).toMatchObject({ kind: 'checkpoint-invalid', changed: 'checkpoint' });
    expect(untrusted.firstBroken?.detail).toContain('unknown-key');
  });

  it('records written by the real recorder verify, bodies included', async () => {
    const org = 'log-recorder';
    const rec = createRecorder({ store: () => store(), env: {}, maxBodyBytes: 64 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const call = rec.start(
        { orgId: org, agentId: 'a', actionName: 'act', interceptIndex: i, traceId: null, spanId: null },
        {
          method: 'POST',
          url: `https://api.example.com/${i}`,
          headers: { 'X-Trace': 't', Authorization: 'secret' },
          startedAt: new Date(),
        },
      );
      ids.push(call.id);
      if (i === 5) {
        await call.fail(new Error('connection reset'));
        continue;
      }
      call.response(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
      call.chunk(randomBytes(i * 30)); // 0, 30, 60: whole; 90, 120: truncated at 64
      await call.finish();
    }
    await rec.close();
    await appendLeaves(store(), org, ids);
    await issueCheckpoint(store(), org, signer);
    expect(await verifyLog(store(), org, { trustedKeys })).toMatchObject({
      ok: true,
      treeSize: 6,
      verifiedCheckpoints: 1,
    });
  });

  it('issueCheckpoint refuses to sign a log that no longer matches its records or its last checkpoint', async () => {
    const org = 'log-refuse-sign';
    const ids = await insertRecords(store(), org, 6, 5);
    await appendLeaves(store(), org, ids.slice(0, 4));
    await issueCheckpoint(store(), org, signer);
    await appendLeaves(store(), org, ids.slice(4));
    // A record added since the checkpoint is changed: refused.
    await tamper(store().raw, [
      `UPDATE provably_intercepts SET url = url || '#x' WHERE id = ${lit(ids[5] as string)}`,
    ]);
    const err = await rejection(issueCheckpoint(store(), org, signer));
    expect(err).toBeInstanceOf(ProvablyLedgerIntegrityError);
    expect((err as Error).message).toContain('leaf 5');
    // A checkpointed leaf is changed: a full recheck refuses.
    await tamper(store().raw, [
      `UPDATE provably_intercepts SET url = substr(url, 1, length(url) - 2) WHERE id = ${lit(ids[5] as string)}`,
      `UPDATE provably_ledger_leaves SET leaf_hash = sha256(leaf_hash) WHERE org_id = ${lit(org)} AND leaf_index = 1`,
    ]);
    const err2 = await rejection(issueCheckpoint(store(), org, signer, { recheckAll: true }));
    expect(err2).toBeInstanceOf(ProvablyLedgerIntegrityError);
    expect((err2 as Error).message).toContain('no longer match checkpoint');
    expect((await listCheckpoints(store(), org)).length).toBe(1);
    // The default (incremental) issuance does not reread checkpointed leaves: it extends the
    // signed range, so the new checkpoint still signs the true tree, and verifyLog names the
    // changed leaf row.
    const cp2 = await issueCheckpoint(store(), org, signer);
    expect(cp2.tree_size).toBe(6);
    const report = await verifyLog(store(), org, { trustedKeys: trustedKeysOf(signer) });
    expect(report.firstBroken).toMatchObject({ kind: 'record-mismatch', leafIndex: 1, changed: 'leaf' });
    expect(report.verifiedCheckpoints).toBe(2);
  });
});
