/**
 * 10,000 records: appending, checkpointing, proving and verifying the whole log stay quick.
 * LEDGER_SCALE_RECORDS changes the count.
 */
import { expect, it } from 'vitest';
import {
  appendLeaves,
  generateSigningKeyPem,
  inclusionProof,
  issueCheckpoint,
  signerFromPem,
  trustedKeysOf,
  verifyLog,
  verifyRecordProof,
} from '../../src/ledger/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';
import { insertRecords } from './fixtures.js';

const COUNT = Number(process.env.LEDGER_SCALE_RECORDS ?? 10_000);
const signer = signerFromPem(generateSigningKeyPem());

describeEachBackend('ledger at scale', (backend) => {
  const store = useTestStore(backend);

  it(`appends, checkpoints, proves and verifies ${COUNT} records`, async () => {
    const org = 'scale';
    const ids: string[] = [];
    for (let at = 0; at < COUNT; at += 1000) {
      ids.push(...(await insertRecords(store(), org, Math.min(1000, COUNT - at), at + 1)));
    }
    const t: Record<string, number> = {};
    let t0 = performance.now();
    for (let at = 0; at < COUNT; at += 1000) await appendLeaves(store(), org, ids.slice(at, at + 1000));
    t.appendMs = performance.now() - t0;
    t0 = performance.now();
    const cp = await issueCheckpoint(store(), org, signer);
    t.checkpointMs = performance.now() - t0;
    expect(cp.tree_size).toBe(COUNT);
    t0 = performance.now();
    const proof = await inclusionProof(store(), org, ids[COUNT - 7] as string);
    t.proofMs = performance.now() - t0;
    expect(verifyRecordProof({ proof, checkpoint: cp, trustedKeys: trustedKeysOf(signer) })).toEqual({
      ok: true,
    });
    t0 = performance.now();
    let progressCalls = 0;
    const report = await verifyLog(store(), org, {
      trustedKeys: trustedKeysOf(signer),
      onProgress: () => progressCalls++,
    });
    t.verifyMs = performance.now() - t0;
    expect(report).toMatchObject({ ok: true, treeSize: COUNT, verifiedCheckpoints: 1 });
    expect(progressCalls).toBeGreaterThanOrEqual(Math.ceil(COUNT / 1000));
    console.log(
      `[${backend.name}] ${COUNT} records: ${JSON.stringify(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)])))}`,
    );
    // Generous bounds: a regression to quadratic work would blow far past them.
    expect(t.verifyMs).toBeLessThan(COUNT * 3);
    expect(t.checkpointMs).toBeLessThan(COUNT);
  }, 300_000);
});
