/**
 * The one store interface every part of provably talks to. Two backends implement it with the
 * same SQL: PostgreSQL through `pg`, and embedded PGlite. Values come back normalized the same
 * way on both: `bytea` → Uint8Array, `jsonb` → parsed JSON, `timestamptz` → Date,
 * `int8`/`bigint` → number (the store refuses values past Number.MAX_SAFE_INTEGER rather than
 * rounding them), `uuid`/`text` → string.
 */

export type StoreBackend = 'postgres' | 'pglite';

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned or affected. */
  rowCount: number;
}

export interface Queryable {
  /** Runs one parameterized statement (`$1`, `$2` …). Failures are ProvablyStoreError. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Store extends Queryable {
  readonly backend: StoreBackend;
  /**
   * Runs `fn` inside one transaction on one connection: committed when `fn` resolves, rolled
   * back when it throws (the error is rethrown).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Releases connections (PostgreSQL) or the data dir and its lock (PGlite). Idempotent. */
  close(): Promise<void>;
}
