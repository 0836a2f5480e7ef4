/**
 * The PostgreSQL store: a `pg` Pool, created on first use (nothing connects before the first
 * query; `pg` itself is loaded then too).
 *
 * Values are normalized through this pool's own `types` (int8 → number, refusing unsafe
 * values): pg's process-wide parsers (pg.types.setTypeParser) are never touched, because the
 * host application may use pg with its own expectations.
 */
import { Socket } from 'node:net';
import type { CustomTypesConfig, QueryResult as PgResult, Pool, PoolClient } from 'pg';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { classifyStoreError, describePostgresUrl, parseInt8 } from './classify.js';
import { type Exec, type ExecResult, runTransaction, type Session, type SessionStore } from './migrate.js';
import { markOwnSocket } from './own-sockets.js';
import type { Queryable, QueryResult } from './types.js';

export interface PostgresStoreOptions {
  /** Connection string, e.g. postgres://user:pass@host:5432/db. */
  url: string;
  /** Maximum pooled connections (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing (default 10 s; pg's own default waits forever). */
  connectTimeoutMs?: number;
}

type PgModule = typeof import('pg');

const INT8 = 20;
const INT8_ARRAY = 1016;
const TEXT_ARRAY = 1009;

export class PostgresStore implements SessionStore {
  readonly backend = 'postgres' as const;
  /** The connection string as given (it may hold a password: never log it; see `location`). */
  readonly url: string;
  /** The URL without its password, for messages. */
  readonly location: string;
  readonly #poolSize: number;
  readonly #connectTimeoutMs: number;
  #pool: Promise<Pool> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.url = options.url;
    this.location = describePostgresUrl(options.url);
    this.#poolSize = options.poolSize ?? 10;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  async query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    const pool = await this.#getPool('query');
    try {
      return normalize(await pool.query(sql, params as unknown[] | undefined)) as QueryResult<R>;
    } catch (err) {
      throw classifyStoreError('query', err, { target: this.location });
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#withClient('transaction', (exec, broken) => runTransaction(exec, fn, broken));
  }

  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return this.#withClient('session', (exec, broken) => {
      // A session may leave state on its connection (advisory locks, SET, temp tables): it is
      // closed afterwards, never handed back to the pool. Sessions are rare (migrate, checks).
      broken();
      return fn({ query: exec as Session['query'], transaction: (inner) => runTransaction(exec, inner) });
    });
  }

  /** The underlying pool, created if needed: raw access for tools and tests. */
  pool(): Promise<Pool> {
    return this.#getPool('open');
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pool = await this.#pool?.catch(() => undefined);
      await pool
        ?.end()
        .catch((err: unknown) => diag.warn(`closing the pool for ${this.location} failed`, err));
    })();
    return this.#closing;
  }

  /** Checks out one client for `fn`; a client that may be unusable afterwards is discarded. */
  async #withClient<T>(operation: string, fn: (exec: Exec, broken: () => void) => Promise<T>): Promise<T> {
    const pool = await this.#getPool(operation);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw classifyStoreError(operation, err, { target: this.location });
    }
    // A checked-out client has no pool listener: without ours, a dropped connection would
    // emit an unhandled 'error' and crash the host process.
    let lost: unknown;
    const onError = (err: unknown) => {
      lost = err;
      diag.warn(`PostgreSQL connection to ${this.location} failed while in use`, err);
    };
    client.on('error', onError);
    let discard = false;
    const exec: Exec = async (sql, params) => {
      try {
        return normalize(await client.query(sql, params as unknown[] | undefined));
      } catch (err) {
        throw classifyStoreError('query', err, { target: this.location });
      }
    };
    try {
      return await fn(exec, () => {
        discard = true;
      });
    } finally {
      client.off('error', onError);
      // release(err) destroys the client instead of returning it to the pool.
      client.release(discard || lost !== undefined ? new Error('discarded by provably') : undefined);
    }
  }

  #getPool(operation: string): Promise<Pool> {
    if (this.#closing) {
      return Promise.reject(
        new ProvablyStoreError(operation, 'closed', `the store for ${this.location} was closed`),
      );
    }
    this.#pool ??= this.#createPool();
    return this.#pool;
  }

  async #createPool(): Promise<Pool> {
    // pg is CommonJS: its API is the default export under ESM (and under tsup's CJS interop).
    const mod = (await import('pg')) as PgModule & { default?: PgModule };
    const pg = mod.default ?? mod;
    const pool = new pg.Pool({
      connectionString: this.url,
      max: this.#poolSize,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      // Idle pooled connections must not keep the host process alive once its work is done.
      allowExitOnIdle: true,
      application_name: 'provably',
      types: typesFor(pg),
      // pg's own default (a plain net.Socket), marked as provably's: the connection guard lets
      // the store reach its database from inside a scope.
      stream: () => markOwnSocket(new Socket()),
    });
    // An idle client whose connection drops (server restart, network) is reported, not thrown.
    pool.on('error', (err) => diag.warn(`idle PostgreSQL connection to ${this.location} failed`, err));
    return pool;
  }
}

/** Per-pool parsers: pg's defaults except int8 (and int8[]) → number, refusing unsafe values. */
function typesFor(pg: PgModule): CustomTypesConfig {
  type Oid = Parameters<PgModule['types']['getTypeParser']>[0];
  const textArray = pg.types.getTypeParser(TEXT_ARRAY as Oid, 'text') as (v: string) => unknown;
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (format !== 'binary') {
        if (oid === INT8) return parseInt8;
        if (oid === INT8_ARRAY) return (v: string) => mapDeep(textArray(v), parseInt8);
      }
      return pg.types.getTypeParser(oid, format ?? 'text');
    }) as CustomTypesConfig['getTypeParser'],
  };
}

function mapDeep(v: unknown, f: (s: string) => unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => mapDeep(x, f));
  return typeof v === 'string' ? f(v) : v;
}

/** A multi-statement script yields one result per statement: keep the last, as PGlite does. */
function normalize(res: PgResult | PgResult[]): ExecResult {
  const last = Array.isArray(res) ? res.at(-1) : res;
  const rows = (last?.rows ?? []) as Record<string, unknown>[];
  return { rows, rowCount: last?.rowCount ?? rows.length, command: last?.command ?? '' };
}
