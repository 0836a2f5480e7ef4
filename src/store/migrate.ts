/**
 * Schema migrations, and the one-connection contract they need from a store.
 *
 * `migrate()` applies pending MIGRATIONS in order, each in its own transaction, recording
 * version, name and a sha256 of the SQL in schema_migrations. It holds a session-level
 * advisory lock on one dedicated connection the whole time, so two processes migrating the
 * same database at once take turns: the second one finds everything applied and does nothing.
 */
import { createHash } from 'node:crypto';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import type { Queryable, QueryResult, Store } from './types.js';

/** One dedicated connection: statements on it run in order, on the same server session. */
export interface Session extends Queryable {
  /** A transaction on this same connection (BEGIN/COMMIT/ROLLBACK). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** A store that can lend one connection for a while: what migrations (and locks) need. */
export interface SessionStore extends Store {
  /**
   * Runs `fn` with one connection held for its whole duration (PGlite: exclusive use of its
   * only connection, so nothing else runs meanwhile). It bypasses first-use preparation
   * (auto-migrate), which is itself built on it.
   */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
}

/** What the backends' low-level executor returns: the result plus the command tag. */
export type ExecResult = QueryResult<Record<string, unknown>> & { command: string };
export type Exec = (sql: string, params?: readonly unknown[]) => Promise<ExecResult>;

/**
 * BEGIN, `fn`, COMMIT (or ROLLBACK when `fn` throws, rethrowing its error). The `tx` handle
 * refuses use after the transaction ended, so a stray late query cannot run outside it.
 * `onBroken` is told when the connection may be left inside a transaction (ROLLBACK failed),
 * so the caller can discard it rather than reuse it.
 */
export async function runTransaction<T>(
  exec: Exec,
  fn: (tx: Queryable) => Promise<T>,
  onBroken: () => void = () => {},
): Promise<T> {
  await exec('BEGIN');
  let open = true;
  const tx: Queryable = {
    query: <R>(sql: string, params?: readonly unknown[]) =>
      open
        ? (exec(sql, params) as Promise<QueryResult<R>>)
        : Promise.reject(
            new ProvablyStoreError(
              'query',
              'closed',
              'the transaction this handle belongs to has already ended',
            ),
          ),
  };
  let result: T;
  try {
    result = await fn(tx);
  } catch (err) {
    open = false;
    try {
      await exec('ROLLBACK');
    } catch (rollbackErr) {
      onBroken();
      diag.debug('ROLLBACK failed after an error inside a transaction', rollbackErr);
    }
    throw err;
  }
  open = false;
  let commit: ExecResult;
  try {
    commit = await exec('COMMIT');
  } catch (err) {
    onBroken();
    throw err;
  }
  // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK and no error: that
  // happens when `fn` caught a failed statement's error and returned normally.
  if (commit.command === 'ROLLBACK') {
    throw new ProvablyStoreError(
      'transaction',
      'query',
      'the transaction was rolled back at COMMIT because a statement inside it failed (its error was caught inside the transaction function)',
    );
  }
  return result;
}

// pg_advisory_lock(int4, int4): 0x70727662 spells "prvb"; 1 = migrations.
const LOCK_KEY = [1886549602, 1] as const;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  checksum text NOT NULL
)`;

export interface MigrateResult {
  /** Versions applied by this call, in order (empty when the schema was already current). */
  applied: number[];
  /** Highest version recorded after the call. */
  current: number;
}

export interface SchemaStatus {
  /** Highest version recorded in the database (0 when nothing was ever applied). */
  current: number;
  /** Highest version this build of provably ships. */
  latest: number;
  /** Versions this build ships that the database lacks. */
  pending: number[];
}

export interface MigrateOptions {
  /** Defaults to the shipped MIGRATIONS; tests pass their own lists. */
  migrations?: readonly Migration[];
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql, 'utf8').digest('hex');
}

export async function migrate(store: Store, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = checkList(options.migrations ?? MIGRATIONS);
  const current = await alreadyCurrent(store, migrations);
  if (current !== undefined) return { applied: [], current };
  return onSession(store, 'migrate', async (s) => {
    await s.query('SELECT pg_advisory_lock($1, $2)', LOCK_KEY);
    try {
      await s.query(CREATE_TABLE);
      const recorded = await readRecorded(s);
      verifyChecksums(recorded, migrations);
      const applied: number[] = [];
      for (const m of migrations) {
        if (recorded.has(m.version)) continue;
        await applyOne(s, m);
        applied.push(m.version);
      }
      const current = Math.max(0, ...recorded.keys(), ...applied);
      warnIfAhead(current, migrations);
      return { applied, current };
    } finally {
      // A failed unlock means the session is gone, and with it the lock: nothing to undo.
      await s.query('SELECT pg_advisory_unlock($1, $2)', LOCK_KEY).catch(() => {});
    }
  });
}

export async function schemaStatus(store: Store, options: MigrateOptions = {}): Promise<SchemaStatus> {
  const migrations = checkList(options.migrations ?? MIGRATIONS);
  return onSession(store, 'schema status', async (s) => {
    const exists = await s.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    const recorded = exists.rows[0]?.t ? await readRecorded(s) : new Map<number, Recorded>();
    const latest = migrations.at(-1)?.version ?? 0;
    return {
      current: Math.max(0, ...recorded.keys()),
      latest,
      pending: migrations.filter((m) => !recorded.has(m.version)).map((m) => m.version),
    };
  });
}

/**
 * The common case, every shipped migration already recorded with its checksum, answered by one
 * lock-free read: the full path (advisory lock, CREATE TABLE IF NOT EXISTS, read, unlock) is
 * four statements, ~0.1 s of CPU on a just-opened embedded store. Safe without the lock because
 * migrations only ever add rows: a set that is complete cannot become incomplete. Anything else
 * (no table yet, a missing version, a checksum that differs, an error) takes the full path,
 * which applies or reports it as before.
 */
async function alreadyCurrent(store: Store, migrations: readonly Migration[]): Promise<number | undefined> {
  let recorded: Map<number, Recorded>;
  try {
    // Through withSession when there is one: it bypasses a prepared store's first-use work.
    const session = (store as Partial<SessionStore>).withSession;
    recorded = await (typeof session === 'function'
      ? (session.call(store, readRecorded) as Promise<Map<number, Recorded>>)
      : readRecorded(store));
  } catch (err) {
    // A store that cannot be reached or opened would fail the full path the same way, after a
    // second wait (a connect timeout twice): report it now. Anything else (no table yet) → full path.
    if (err instanceof ProvablyStoreError && UNREACHABLE.has(err.reason))
      throw renameOperation(err, 'migrate');
    return undefined;
  }
  for (const m of migrations) {
    if (recorded.get(m.version)?.checksum !== migrationChecksum(m)) return undefined;
  }
  const current = Math.max(0, ...recorded.keys());
  warnIfAhead(current, migrations);
  return current;
}

const UNREACHABLE = new Set([
  'connection-refused',
  'auth',
  'missing-database',
  'locked',
  'data-dir',
  'closed',
]);

interface Recorded {
  name: string;
  checksum: string;
}

async function readRecorded(s: Queryable): Promise<Map<number, Recorded>> {
  const res = await s.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  );
  return new Map(res.rows.map((r) => [r.version, { name: r.name, checksum: r.checksum }]));
}

async function applyOne(s: Session, m: Migration): Promise<void> {
  try {
    await s.transaction(async (tx) => {
      await tx.query(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        migrationChecksum(m),
      ]);
    });
  } catch (err) {
    const e = err instanceof ProvablyStoreError ? err : undefined;
    throw new ProvablyStoreError(
      'migrate',
      e?.reason ?? 'unknown',
      `migration ${m.version} (${m.name}) failed and was rolled back: ${e ? detailOf(e) : String(err)}`,
      { cause: e?.cause ?? err },
    );
  }
  diag.info(`applied migration ${m.version} (${m.name})`);
}

function verifyChecksums(recorded: Map<number, Recorded>, migrations: readonly Migration[]): void {
  for (const m of migrations) {
    const r = recorded.get(m.version);
    if (r === undefined) continue;
    const expected = migrationChecksum(m);
    if (r.checksum !== expected) {
      throw new ProvablyStoreError(
        'migrate',
        'query',
        `migration ${m.version} (${m.name}) was applied with checksum ${r.checksum.slice(0, 12)}… but this ` +
          `provably ships ${expected.slice(0, 12)}…: the database was migrated by a different build, or a ` +
          'shipped migration was edited (never edit one: add the next migration instead)',
      );
    }
  }
}

function warnIfAhead(current: number, migrations: readonly Migration[]): void {
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    diag.once(
      'schema-ahead',
      'warn',
      `the database schema is at version ${current}, newer than this provably knows (${latest}); upgrade provably`,
    );
  }
}

function checkList(migrations: readonly Migration[]): readonly Migration[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new ProvablyStoreError(
        'migrate',
        'unknown',
        `migration list is not gap-free from 1: position ${i} holds version ${m.version}`,
      );
    }
  });
  return migrations;
}

async function onSession<T>(store: Store, operation: string, fn: (s: Session) => Promise<T>): Promise<T> {
  if (typeof (store as Partial<SessionStore>).withSession !== 'function') {
    throw new ProvablyStoreError(
      operation,
      'unknown',
      'this store cannot lend a dedicated connection; open it with openStore()',
    );
  }
  try {
    return await (store as SessionStore).withSession(fn);
  } catch (err) {
    throw renameOperation(err, operation);
  }
}

/** Re-labels a store error raised by a lower layer ("query") with the caller's operation. */
export function renameOperation(err: unknown, operation: string): unknown {
  if (!(err instanceof ProvablyStoreError) || err.operation === operation) return err;
  return new ProvablyStoreError(operation, err.reason, detailOf(err), { cause: err.cause ?? err });
}

function detailOf(e: ProvablyStoreError): string {
  const prefix = `store ${e.operation} failed (${e.reason}): `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}
