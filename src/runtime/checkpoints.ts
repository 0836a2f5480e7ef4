/**
 * Issues signed checkpoints for the orgs this process records into: after every
 * PROVABLY_CHECKPOINT_EVERY new leaves, at the latest PROVABLY_CHECKPOINT_INTERVAL_MS after the
 * first uncovered one, and once more when the host runs out of work — so records become
 * provable without anyone asking. Failures are logged and retried; they never reach the host.
 */
import { type Env, readPositiveInt } from '../config/index.js';
import { diag } from '../diag/index.js';
import { issueCheckpoint, loadSigner, type Signer } from '../ledger/index.js';
import type { Store } from '../store/index.js';

export const DEFAULT_CHECKPOINT_EVERY = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

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
}): CheckpointScheduler {
  const every = readPositiveInt(options.env, 'PROVABLY_CHECKPOINT_EVERY', DEFAULT_CHECKPOINT_EVERY);
  const intervalMs = readPositiveInt(
    options.env,
    'PROVABLY_CHECKPOINT_INTERVAL_MS',
    DEFAULT_CHECKPOINT_INTERVAL_MS,
  );
  const uncovered = new Map<string, number>();
  let signer: Signer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const issue = (orgs: string[]): Promise<void> =>
    options.runOutsideScope(async () => {
      signer ??= loadSigner({ env: options.env });
      for (const orgId of orgs) {
        const pending = uncovered.get(orgId) ?? 0;
        if (pending === 0) continue;
        uncovered.set(orgId, 0);
        try {
          const cp = await issueCheckpoint(options.store(), orgId, signer);
          diag.debug(`checkpoint for org ${orgId}: tree size ${cp.tree_size}`);
        } catch (err) {
          uncovered.set(orgId, (uncovered.get(orgId) ?? 0) + pending);
          diag.once(
            `checkpoint:${orgId}`,
            'warn',
            `could not issue a checkpoint for org ${orgId}; will retry`,
            err,
          );
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
      return run([...uncovered.keys()]);
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
