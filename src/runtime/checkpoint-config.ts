/**
 * When the running process issues checkpoints. Apart from the scheduler (checkpoints.ts) because
 * the preload validates these settings at startup, and the scheduler pulls in the ledger, which
 * must load only with the first governed call.
 */
import { type Env, readPositiveInt } from '../config/index.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../exit/index.js';

export const DEFAULT_CHECKPOINT_EVERY = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
export { DEFAULT_SHUTDOWN_TIMEOUT_MS };

export interface CheckpointConfig {
  /** PROVABLY_CHECKPOINT_EVERY: new leaves per checkpoint. */
  every: number;
  /** PROVABLY_CHECKPOINT_INTERVAL_MS: the longest a leaf waits for one. */
  intervalMs: number;
  /** PROVABLY_SHUTDOWN_TIMEOUT_MS: the longest SIGINT/SIGTERM wait for rows and a checkpoint. */
  shutdownTimeoutMs: number;
}

/** Throws ProvablyConfigError naming the setting when one is not a positive integer. */
export function readCheckpointConfig(env: Env): CheckpointConfig {
  return {
    every: readPositiveInt(env, 'PROVABLY_CHECKPOINT_EVERY', DEFAULT_CHECKPOINT_EVERY),
    intervalMs: readPositiveInt(env, 'PROVABLY_CHECKPOINT_INTERVAL_MS', DEFAULT_CHECKPOINT_INTERVAL_MS),
    shutdownTimeoutMs: readPositiveInt(env, 'PROVABLY_SHUTDOWN_TIMEOUT_MS', DEFAULT_SHUTDOWN_TIMEOUT_MS),
  };
}
