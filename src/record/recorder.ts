/**
 * The recorder: turns each governed call into one provably_intercepts row and makes it durable
 * before the caller sees the end of the body.
 *
 * Rows go through a small group-commit queue. A finish() that arrives while the store is idle is
 * written at once (one INSERT, one round trip, no timer waiting for company); finishes that
 * arrive while INSERTs are in flight wait and leave together as the next multi-row INSERT. Each
 * finish() settles when the statement carrying ITS row commits. The queue is bounded (rows and
 * bytes): past the bound a row is refused at once rather than held in memory without limit.
 *
 * Store failures follow the policy: `closed` rejects finish() with ProvablyStoreError, `open`
 * resolves it, counts the row as dropped and warns once per outage. A store that failed at the
 * connection level is not kept: the next batch asks the factory again, so recording resumes when
 * the database comes back.
 */
import { diag } from '../diag/index.js';
import { ProvablyStoreError, type StoreErrorReason } from '../errors/index.js';
import type { Store } from '../store/types.js';
import { Call, type CallSink, type RecordedCall } from './call.js';
import {
  ALWAYS_REDACTED_HEADERS,
  parseHeaderList,
  parseMaxBodyBytes,
  parseStoreErrorPolicy,
  type RecorderConfig,
} from './config.js';
import { describeCause, isConnectionLevel, isRowLevel, RowContentError, reasonOf } from './failures.js';
import { normalizeHeaders, type StoredHeaders } from './headers.js';
import type {
  RecorderBatchOptions,
  RecorderOptions,
  RecorderStats,
  StoreRecorder,
} from './recorder-options.js';
import { BODY_INDEX, InsertSql, type RecordedRow, rowValues } from './row.js';
import type { CallRequest, CallScope, HeaderMap } from './types.js';

export type { RecordedCall } from './call.js';
export type {
  RecorderBatchOptions,
  RecorderOptions,
  RecorderStats,
  StoreRecorder,
} from './recorder-options.js';
export type { RecordedRow } from './row.js';

const DEFAULT_BATCH: Required<RecorderBatchOptions> = {
  maxRows: 256,
  maxBytes: 32 * 1024 * 1024,
  maxConcurrent: 0, // 0: chosen per backend, see maxInFlight()
  maxQueuedRows: 10_000,
  maxQueuedBytes: 512 * 1024 * 1024,
};

interface Entry {
  row: RecordedRow;
  values: unknown[];
  /** Kept body bytes (for batch and queue bounds). */
  bytes: number;
  /** "GET https://host/path" for messages. */
  label: string;
  kind: 'finish' | 'fail';
  /** Counted in inFlightRows/inFlightBytes until settled. */
  inFlight: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** Told when the row is committed (before resolve), so the call can say it was stored. */
  onStored: (() => void) | undefined;
}

export function createRecorder(options: RecorderOptions): StoreRecorder {
  return new GroupCommitRecorder(options);
}

class GroupCommitRecorder implements StoreRecorder, CallSink {
  readonly config: Readonly<RecorderConfig>;
  private readonly factory: () => Store | Promise<Store>;
  private readonly withinBatch: RecorderOptions['withinBatch'];
  private readonly extendInsert: RecorderOptions['extendInsert'];
  private readonly onCommitted: RecorderOptions['onCommitted'];
  private readonly outside: <T>(fn: () => T) => T;
  private readonly batch: Required<RecorderBatchOptions>;
  private readonly redact: ReadonlySet<string>;

  private storePromise: Promise<Store> | null = null;
  /** The backend of the last store obtained (unknown before the first batch). */
  private backend: Store['backend'] | undefined;
  private pumpScheduled = false;
  private readonly queue: Entry[] = [];
  private queuedBytes = 0;
  private inFlightBatches = 0;
  private inFlightRows = 0;
  private inFlightBytes = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private outage = false;
  private droppedThisOutage = 0;
  private readonly counters = {
    recorded: 0,
    dropped: 0,
    rejected: 0,
    storeErrors: 0,
    batches: 0,
    largestBatch: 0,
  };
  private readonly insertSql = new InsertSql();

  constructor(options: RecorderOptions) {
    if (options === null || typeof options !== 'object' || typeof options.store !== 'function') {
      throw new TypeError('createRecorder: options.store must be a function returning a Store');
    }
    const env = options.env ?? process.env;
    // Each setting comes from its option when given, else from its variable (read only then).
    this.config = Object.freeze({
      maxBodyBytes:
        options.maxBodyBytes === undefined
          ? parseMaxBodyBytes(env.PROVABLY_MAX_BODY_BYTES, 'PROVABLY_MAX_BODY_BYTES')
          : parseMaxBodyBytes(options.maxBodyBytes, 'maxBodyBytes'),
      onStoreError:
        options.onStoreError === undefined
          ? parseStoreErrorPolicy(env.PROVABLY_ON_STORE_ERROR, 'PROVABLY_ON_STORE_ERROR')
          : parseStoreErrorPolicy(String(options.onStoreError), 'onStoreError'),
      redactHeaders:
        options.redactHeaders === undefined
          ? parseHeaderList(env.PROVABLY_REDACT_HEADERS, 'PROVABLY_REDACT_HEADERS')
          : parseHeaderList(options.redactHeaders, 'redactHeaders'),
    });
    this.redact = new Set([...ALWAYS_REDACTED_HEADERS, ...this.config.redactHeaders]);
    this.factory = options.store;
    this.withinBatch = options.withinBatch;
    this.extendInsert = options.extendInsert;
    this.onCommitted = options.onCommitted;
    this.outside = options.runOutsideScope ?? ((fn) => fn());
    this.batch = { ...DEFAULT_BATCH };
    for (const key of Object.keys(DEFAULT_BATCH) as (keyof RecorderBatchOptions)[]) {
      // (maxConcurrent's default 0 means "per backend"; a given value must still be >= 1.)
      const v = options.batch?.[key];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 1) {
        throw new TypeError(`createRecorder: batch.${key} must be a positive integer, got ${String(v)}`);
      }
      this.batch[key] = v;
    }
  }

  start(scope: CallScope, request: CallRequest): RecordedCall {
    return new Call(this, scope, request);
  }

  stats(): RecorderStats {
    return {
      ...this.counters,
      pending: this.queue.length + this.inFlightRows,
      storeDown: this.outage,
    };
  }

  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** @internal Used by Call. */
  normalize(headers: HeaderMap | null | undefined): StoredHeaders {
    return normalizeHeaders(headers, this.redact);
  }

  /** @internal Hands one finished row to the queue; settles per policy. */
  submit(
    row: RecordedRow,
    kept: Uint8Array | null,
    label: string,
    kind: Entry['kind'],
    onStored?: () => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const bytes = kept?.byteLength ?? 0;
      const values = rowValues(row, kept);
      const entry: Entry = { row, values, bytes, label, kind, inFlight: false, resolve, reject, onStored };
      if (this.closed) {
        this.settleFailed(
          [entry],
          new ProvablyStoreError('record', 'closed', 'the recorder is closed'),
          'closed',
        );
        return;
      }
      const rows = this.queue.length + this.inFlightRows;
      const queuedBytes = this.queuedBytes + this.inFlightBytes;
      if (rows >= this.batch.maxQueuedRows || (rows > 0 && queuedBytes + bytes > this.batch.maxQueuedBytes)) {
        const err = new ProvablyStoreError(
          'record',
          'unknown',
          `the recording queue is full (${rows} calls, ${queuedBytes} body bytes waiting for the store)`,
        );
        this.noteFailure(err);
        this.settleFailed([entry], err, 'unknown');
        return;
      }
      this.queue.push(entry);
      this.queuedBytes += bytes;
      if (this.backend === 'pglite') this.schedulePump();
      else this.pump();
    });
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlightBatches === 0;
  }

  /** Starts INSERTs while there is room in flight and rows waiting. */
  private pump(): void {
    while (this.inFlightBatches < this.maxInFlight() && this.queue.length > 0) {
      const batch = this.take();
      this.inFlightBatches++;
      for (const e of batch) {
        e.inFlight = true;
        this.inFlightRows++;
        this.inFlightBytes += e.bytes;
      }
      const done = (): void => {
        this.inFlightBatches--;
        this.pump();
      };
      try {
        // Every await inside write() continues in the context it starts in: outside all scopes.
        this.outside(() => this.write(batch)).then(done, done);
      } catch (err) {
        // runOutsideScope itself threw: the batch never started.
        this.noteFailure(err);
        this.settleFailed(batch, err, 'unknown');
        done();
      }
    }
    if (this.isIdle() && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * PGlite runs a statement synchronously inside the microtask drain, so a finish() always finds
   * it idle and group commit would degenerate to one row per INSERT. Waiting one turn of the event
   * loop (setImmediate: a yield, not a timer) lets the finishes of the same I/O phase share it.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private maxInFlight(): number {
    if (this.batch.maxConcurrent > 0) return this.batch.maxConcurrent;
    return this.backend === 'pglite' ? 1 : 2;
  }

  private take(): Entry[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.batch.maxRows) {
      const next = (this.queue[n] as Entry).bytes;
      if (n > 0 && bytes + next > this.batch.maxBytes) break;
      bytes += next;
      n++;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n);
  }

  /** Writes one batch and settles its members. Never rejects. */
  private async write(batch: Entry[]): Promise<void> {
    let store: Store;
    let storePromise: Promise<Store>;
    try {
      storePromise = this.getStore();
      store = await storePromise;
      this.backend = store.backend;
    } catch (err) {
      this.noteFailure(err);
      this.settleFailed(batch, err, reasonOf(err, 'unknown'));
      return;
    }
    try {
      await this.insert(store, batch);
      this.noteSuccess(batch.length);
      for (const e of batch) this.succeeded(e);
      return;
    } catch (err) {
      if (isConnectionLevel(err) && this.storePromise === storePromise) this.storePromise = null;
      if (batch.length > 1 && isRowLevel(err)) {
        // One row the database refuses must not take its neighbours down: retry them alone.
        for (const e of batch) await this.writeAlone(store, e);
        return;
      }
      this.noteFailure(err);
      this.settleFailed(batch, err, reasonOf(err, 'unknown'));
    }
  }

  private async writeAlone(store: Store, e: Entry): Promise<void> {
    try {
      await this.insert(store, [e]);
      this.noteSuccess(1);
      this.succeeded(e);
    } catch (err) {
      this.noteFailure(err);
      this.settleFailed([e], err, reasonOf(err, 'query'));
    }
  }

  private async insert(store: Store, batch: Entry[]): Promise<void> {
    const pglite = store.backend === 'pglite';
    const params: unknown[] = [];
    for (const e of batch) {
      for (let i = 0; i < e.values.length; i++) {
        const v = e.values[i];
        params.push(
          pglite && i === BODY_INDEX && v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
        );
      }
    }
    const sql = this.insertSql.text(batch.length, pglite);
    const rows = batch.map((e) => ({ id: e.row.id, orgId: e.row.orgId }));
    if (this.extendInsert !== undefined) {
      let statement: { sql: string; params: unknown[] };
      try {
        statement = this.extendInsert({ sql, params, rows: batch.map((e) => e.row) });
      } catch (err) {
        throw new RowContentError(err);
      }
      await store.query(statement.sql, statement.params);
    } else if (this.withinBatch !== undefined) {
      const hook = this.withinBatch;
      await store.transaction(async (tx) => {
        await tx.query(sql, params);
        await hook(tx, rows);
      });
    } else {
      await store.query(sql, params);
    }
    try {
      this.onCommitted?.(rows);
    } catch (err) {
      diag.once('recorder.onCommitted', 'warn', 'a committed-batch listener failed', err);
    }
  }

  private getStore(): Promise<Store> {
    if (this.storePromise === null) {
      const p = Promise.resolve()
        .then(() => this.factory())
        .then((s) => {
          if (s === null || typeof s !== 'object' || typeof s.query !== 'function') {
            throw new ProvablyStoreError(
              'open',
              'unknown',
              'the store factory returned something that is not a Store',
            );
          }
          return s;
        });
      this.storePromise = p;
      // A factory that failed is asked again next time.
      p.catch(() => {
        if (this.storePromise === p) this.storePromise = null;
      });
    }
    return this.storePromise;
  }

  private noteSuccess(rows: number): void {
    this.counters.recorded += rows;
    this.counters.batches++;
    if (rows > this.counters.largestBatch) this.counters.largestBatch = rows;
    if (this.outage) {
      this.outage = false;
      const lost = this.droppedThisOutage;
      this.droppedThisOutage = 0;
      if (lost > 0) {
        diag.warn(
          `recording resumed: the store is reachable again; ${lost} call(s) were not recorded meanwhile`,
        );
      } else {
        diag.info('recording resumed: the store is reachable again');
      }
    }
  }

  private noteFailure(err: unknown): void {
    this.counters.storeErrors++;
    if (this.outage) return;
    this.outage = true;
    const policy = this.config.onStoreError;
    diag.warn(
      policy === 'open'
        ? 'cannot write intercept rows; PROVABLY_ON_STORE_ERROR=open lets calls through unrecorded until the store is back'
        : 'cannot write intercept rows; PROVABLY_ON_STORE_ERROR=closed fails those calls until the store is back',
      err,
    );
  }

  /** A row leaves the in-flight count before its caller hears about it (stats stay exact). */
  private leave(e: Entry): void {
    if (!e.inFlight) return;
    e.inFlight = false;
    this.inFlightRows--;
    this.inFlightBytes -= e.bytes;
  }

  private succeeded(e: Entry): void {
    this.leave(e);
    try {
      e.onStored?.();
    } catch (err) {
      diag.once('recorder.onStored', 'warn', 'a stored-row listener failed', err);
    }
    e.resolve();
  }

  /** Settles rows that were not stored: fail() rows and policy `open` resolve, `closed` rejects. */
  private settleFailed(batch: Entry[], cause: unknown, reason: StoreErrorReason): void {
    const detail = describeCause(cause);
    for (const e of batch) {
      this.leave(e);
      if (e.kind === 'finish' && this.config.onStoreError === 'closed') {
        this.counters.rejected++;
        e.reject(
          new ProvablyStoreError(
            `record ${e.label}`,
            reason,
            `the call's intercept row was not stored: ${detail}`,
            {
              cause,
            },
          ),
        );
      } else {
        this.counters.dropped++;
        this.droppedThisOutage++;
        e.resolve();
      }
    }
  }
}
