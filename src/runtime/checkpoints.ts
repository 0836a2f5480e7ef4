/**
 * Issues signed checkpoints for the orgs this process records into: after every
 * PROVABLY_CHECKPOINT_EVERY new leaves, at the latest PROVABLY_CHECKPOINT_INTERVAL_MS after the
 * first uncovered one, and once more when the host runs out of work — so records become
 * provable without anyone asking. Failures are logged and retried; they never reach the host.
 */
import type { Env } from '../config/index.js';
import { diag } from '../diag/index.js';
import { type Checkpoint, issueCheckpoint, loadSigner, type Signer } from '../ledger/index.js';
import type { Store } from '../store/index.js';

import { readCheckpointConfig } from './checkpoint-config.js';

export { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_MS } from './checkpoint-config.js';

export interface CheckpointScheduler {
  /** Count leaves appended for an org (called from the recorder's batch transaction's caller). */
  noteLeaves(orgId: string, count: number): void;
  /** Issues checkpoints for every org with uncovered leaves now. */
  flush(): Promise<void>;
  close(): void;
}

export function createCheckpointScheduler(options: {
  store: () => Store;
  env: Env;
  runOutsideScope: <T>(fn: () => T) => T;
  /** Told about every checkpoint issued (traces); must not throw (guarded anyway). */
  onIssued?: (cp: Checkpoint) => void;
}): CheckpointScheduler {
  const { every, intervalMs } = readCheckpointConfig(options.env);
  const uncovered = new Map<string, number>();
  /** Orgs whose last attempt failed → their uncovered count then (flush skips them until it grows). */
  const failedAt = new Map<string, number>();
  let signer: Signer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const issue = (orgs: string[]): Promise<void> =>
    options.runOutsideScope(async () => {
      for (const orgId of orgs) {
        const pending = uncovered.get(orgId) ?? 0;
        if (pending === 0) continue;
        uncovered.set(orgId, 0);
        try {
          // Bug fix: loading the key was outside the try, so an unusable key failed silently
          // (no warning, no retry) until exit. It is loaded here, logged and retried like any
          // other failure (and picked up once the key is fixed).
          signer ??= loadSigner({ env: options.env });
          const cp = await issueCheckpoint(options.store(), orgId, signer);
          failedAt.delete(orgId);
          diag.debug(`checkpoint for org ${orgId}: tree size ${cp.tree_size}`);
          try {
            options.onIssued?.(cp);
          } catch (err) {
            diag.once('checkpoint:onIssued', 'warn', 'a checkpoint listener failed', err);
          }
        } catch (err) {
          const now = (uncovered.get(orgId) ?? 0) + pending;
          uncovered.set(orgId, now);
          failedAt.set(orgId, now);
          diag.once(
            `checkpoint:${orgId}`,
            'warn',
            `could not issue a checkpoint for org ${orgId}; will retry`,
            err,
          );
          // Bug fix: the retry waited for the org's next leaf; now it comes after the interval.
          arm();
        }
      }
    });

  const run = (orgs: string[]): Promise<void> => {
    const next = (running ?? Promise.resolve()).then(() => issue(orgs));
    running = next.catch(() => {});
    return next;
  };

  const arm = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void run([...uncovered.keys()]);
    }, intervalMs);
    timer.unref();
  };

  return {
    noteLeaves(orgId, count) {
      const total = (uncovered.get(orgId) ?? 0) + count;
      uncovered.set(orgId, total);
      if (total >= every) void run([orgId]);
      else arm();
    },
    flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      // Bug fix: flush runs at every beforeExit, and a failed attempt is I/O, which brings
      // beforeExit back: with the store down at exit the host never exited (it retried in a
      // loop). An org whose last attempt failed is retried here only when it has new leaves;
      // otherwise the (unref'd) timer retries it while the process lives.
      const orgs = [...uncovered.keys()].filter((org) => failedAt.get(org) !== uncovered.get(org));
      if (orgs.length < uncovered.size) arm();
      return run(orgs);
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
