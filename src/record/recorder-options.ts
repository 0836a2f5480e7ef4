/**
 * The recorder's options, stats and interface (see recorder.ts).
 */
import type { Env } from '../config/index.js';
import type { Queryable, Store } from '../store/types.js';
import type { RecordedCall } from './call.js';
import type { RecorderConfig, StoreErrorPolicy } from './config.js';
import type { RecordedRow } from './row.js';
import type { CallRequest, CallScope, Recorder } from './types.js';

export interface RecorderBatchOptions {
  /** Rows per INSERT (default 256). */
  maxRows?: number;
  /** Kept body bytes per INSERT (default 32 MiB); a single larger row still goes alone. */
  maxBytes?: number;
  /**
   * INSERTs in flight at once. Default 2 on PostgreSQL (the pool runs them on two connections),
   * 1 on PGlite (one connection: a second statement would only wait inside the store, in a
   * smaller batch).
   */
  maxConcurrent?: number;
  /** Rows waiting or in flight before new rows are refused (default 10 000). */
  maxQueuedRows?: number;
  /** Body bytes waiting or in flight before new rows are refused (default 512 MiB). */
  maxQueuedBytes?: number;
}

export interface RecorderOptions {
  /**
   * Where rows go. Called lazily for the first batch and again after a connection-level failure,
   * so it should hand out the process's shared store (e.g. the default store), reopening it when
   * it was closed. The recorder never closes a store.
   */
  store: () => Store | Promise<Store>;
  /** Default: PROVABLY_MAX_BODY_BYTES, else 16 MiB. */
  maxBodyBytes?: number;
  /** Default: PROVABLY_ON_STORE_ERROR, else `closed`. */
  onStoreError?: StoreErrorPolicy;
  /** Extra header names to redact. Default: PROVABLY_REDACT_HEADERS. The built-in list always applies. */
  redactHeaders?: readonly string[];
  /**
   * Runs the recorder's own store I/O outside every provably scope (pass the scope module's
   * selfEgress) so it is never recorded or blocked. Default: runs `fn` as is.
   */
  runOutsideScope?: <T>(fn: () => T) => T;
  /** Where omitted settings are read from. Default: process.env. */
  env?: Env;
  /**
   * Runs in the same transaction as each batch's INSERT, with the rows just written, so whatever
   * it adds (the ledger's leaves) commits together with the rows or not at all. A failure fails
   * the batch like a failed INSERT. Without it a batch is one plain INSERT statement.
   */
  withinBatch?: (tx: Queryable, rows: readonly { id: string; orgId: string }[]) => Promise<unknown>;
  /**
   * Turns each batch's INSERT into ONE statement that also writes what must commit with the
   * rows (the ledger's appendInStatement: the rows' leaves), so a batch costs one round trip
   * and no transaction. Given the INSERT (no RETURNING, parameters $1…$n) and each row's
   * content as written. Throwing refuses the batch's rows as a row-level failure (they are
   * retried alone). Takes precedence over withinBatch.
   */
  extendInsert?: (insert: { sql: string; params: unknown[]; rows: readonly RecordedRow[] }) => {
    sql: string;
    params: unknown[];
  };
  /** Told about each batch once it is committed (e.g. to schedule checkpoints). Must not throw. */
  onCommitted?: (rows: readonly { id: string; orgId: string }[]) => void;
  batch?: RecorderBatchOptions;
}

export interface RecorderStats {
  /** Rows committed. */
  recorded: number;
  /** Rows that could not be stored and whose caller was not told (policy `open`, or fail() rows). */
  dropped: number;
  /** finish() calls rejected with ProvablyStoreError (policy `closed`). */
  rejected: number;
  /** Failed store operations (a failed batch counts once). */
  storeErrors: number;
  /** INSERT statements committed. */
  batches: number;
  /** Largest batch committed so far. */
  largestBatch: number;
  /** Rows waiting for or inside an INSERT right now. */
  pending: number;
  /** The last store operation failed and none has succeeded since. */
  storeDown: boolean;
}

export interface StoreRecorder extends Recorder {
  start(scope: CallScope, request: CallRequest): RecordedCall;
  /** The resolved settings. */
  readonly config: Readonly<RecorderConfig>;
  stats(): RecorderStats;
  /** Resolves when every row handed over so far has been written or has failed. Never rejects. */
  flush(): Promise<void>;
  /** Refuses new rows (as a store error, per policy), then flushes. Does not close the store. */
  close(): Promise<void>;
}
