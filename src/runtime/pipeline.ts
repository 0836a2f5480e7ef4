/**
 * The heavy half of a running provably — trusted-set cache, recorder, ledger, checkpoints,
 * store — loaded by start.ts with a dynamic import on the first governed call, so a process
 * that never enters a scope never loads (or pays startup time for) any of it.
 */
import type { Env } from '../config/index.js';
import { appendInStatement } from '../ledger/index.js';
import { createRecorder, type StoreRecorder } from '../record/index.js';
import { selfEgress, traceCheckpointIssued } from '../scope/index.js';
import { closeDefaultStore, getDefaultStore } from '../store/index.js';
import { createTrustedSetCache, type TrustedSetCache } from '../trust/index.js';
import { type CheckpointScheduler, createCheckpointScheduler } from './checkpoints.js';

export interface Pipeline {
  gate: TrustedSetCache;
  recorder: StoreRecorder;
  checkpoints: CheckpointScheduler;
  /** Waits for rows in flight, then checkpoints what they added. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createPipeline(env: Env, refreshMs: number): Pipeline {
  const gate = createTrustedSetCache({ store: getDefaultStore, refreshMs, runOutsideScope: selfEgress });
  const checkpoints = createCheckpointScheduler({
    store: getDefaultStore,
    env,
    runOutsideScope: selfEgress,
    onIssued: (cp) =>
      traceCheckpointIssued({
        orgId: cp.org_id,
        treeSize: cp.tree_size,
        rootHash: cp.root_hash,
        keyId: cp.key_id,
        timestamp: cp.timestamp,
      }),
  });
  const recorder = createRecorder({
    store: getDefaultStore,
    runOutsideScope: selfEgress,
    env,
    // Every row becomes a leaf of its org's Merkle log in the same statement as its INSERT (one
    // round trip per batch): a row is never committed without its leaf.
    extendInsert: (insert) => appendInStatement(insert),
    onCommitted: (rows) => {
      const perOrg = new Map<string, number>();
      for (const r of rows) perOrg.set(r.orgId, (perOrg.get(r.orgId) ?? 0) + 1);
      for (const [org, n] of perOrg) checkpoints.noteLeaves(org, n);
    },
  });
  return {
    gate,
    recorder,
    checkpoints,
    async flush() {
      await recorder.flush();
      await checkpoints.flush();
    },
    async close() {
      gate.close();
      await recorder.close();
      await checkpoints.flush();
      checkpoints.close();
      await closeDefaultStore();
    },
  };
}
