/**
 * The checkpoint signer of a long-running provably process (`provably serve`): signs every org
 * log that has records no checkpoint covers, so that agents that exit abruptly — a
 * `process.exit()` right after their calls, kill -9, a crash — still get their records signed
 * within PROVABLY_CHECKPOINT_INTERVAL_MS. It sweeps every quarter of the interval: a record that
 * lands just after a sweep waits at most a quarter interval plus one sweep. Failures are logged
 * and retried at the next sweep; they never stop the service.
 */

import type { Env } from '../config/index.js';
import { type Signer, signUnsignedLogs, unsignedLogs } from '../ledger/index.js';
import { readCheckpointConfig } from '../runtime/checkpoint-config.js';
import type { Store } from '../store/index.js';
import type { ServiceLog } from './log.js';

export interface CheckpointSignerOptions {
  store: Store;
  /**
   * The key, or how to load it: called at the first sweep that finds something to sign, so a
   * service with nothing to sign (e.g. `--independent`) never loads or creates a key. A failure
   * to load is logged and retried at the next sweep.
   */
  signer: Signer | (() => Signer);
  log: ServiceLog;
  env?: Env;
  /** The longest a record may stay unsigned (default PROVABLY_CHECKPOINT_INTERVAL_MS, 60 s). */
  intervalMs?: number;
}

export interface CheckpointSigner {
  /** One sweep now (also what the timer runs); resolves to the number of checkpoints issued. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  close(): Promise<void>;
}

export function startCheckpointSigner(options: CheckpointSignerOptions): CheckpointSigner {
  const intervalMs = options.intervalMs ?? readCheckpointConfig(options.env ?? process.env).intervalMs;
  const period = Math.max(50, Math.floor(intervalMs / 4));
  let running: Promise<number> | undefined;
  let closed = false;
  const failing = new Set<string>();
  let signer = typeof options.signer === 'function' ? undefined : options.signer;
  const loadSigner = options.signer as () => Signer;

  const once = async (): Promise<number> => {
    let issued = 0;
    try {
      const pending = await unsignedLogs(options.store);
      if (pending.length === 0) return 0;
      signer ??= loadSigner();
      const orgs = pending.map((p) => p.orgId);
      for (const outcome of await signUnsignedLogs(options.store, signer, { orgs })) {
        if (outcome.ok) {
          issued += 1;
          failing.delete(outcome.orgId);
          options.log.info('checkpoint', {
            org_id: outcome.orgId,
            tree_size: outcome.checkpoint.tree_size,
            key_id: outcome.checkpoint.key_id,
          });
        } else if (!failing.has(outcome.orgId)) {
          // Logged once per failing streak: a damaged log would otherwise flood the log.
          failing.add(outcome.orgId);
          options.log.error('checkpoint failed', { org_id: outcome.orgId, error: describe(outcome.error) });
        }
      }
    } catch (err) {
      options.log.error('checkpoint sweep failed', { error: describe(err) });
    }
    return issued;
  };

  const sweep = (): Promise<number> => {
    // Sweeps never overlap: a slow one makes the next tick join it.
    running ??= once().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    if (!closed) void sweep();
  }, period);
  // The HTTP server keeps the process alive; the signer alone must not.
  timer.unref();
  void sweep();

  return {
    sweep,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
