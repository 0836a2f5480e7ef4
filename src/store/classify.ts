/**
 * Turns whatever a driver throws (`pg`, PGlite, Node's socket layer) into a ProvablyStoreError
 * that names the operation and classifies the cause, so callers never see a bare driver stack
 * and can branch on `reason`. The driver error stays available as `cause`.
 */
import { ProvablyStoreError, type StoreErrorReason } from '../errors/index.js';

/** Context that makes a message actionable: where we were connecting. Never holds a password. */
export interface ErrorContext {
  /** e.g. `postgres://app@db.internal:5432/provably`, or `embedded store in /srv/.provably`. */
  target?: string;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

// SQLSTATEs that mean "the server is not (or no longer) reachable for us".
const CONNECT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const OUR_TABLES = /\b(provably_\w+|trusted_endpoints|schema_migrations)\b/;

export function classifyStoreError(
  operation: string,
  err: unknown,
  ctx: ErrorContext = {},
): ProvablyStoreError {
  if (err instanceof ProvablyStoreError) return err;
  const [reason, detail] = classify(err, ctx);
  return new ProvablyStoreError(operation, reason, detail, { cause: err });
}

function classify(err: unknown, ctx: ErrorContext): [StoreErrorReason, string] {
  const message = messageOf(err);
  if (err instanceof UnsafeIntegerError) return ['query', message];
  const where = ctx.target ? ` (${ctx.target})` : '';
  const sqlstate = sqlstateOf(err);
  if (sqlstate !== undefined) {
    const text = `${message} [SQLSTATE ${sqlstate}]`;
    if (sqlstate === 'PVA01') return ['append-only', text];
    if (sqlstate === '28P01' || sqlstate === '28000') {
      return ['auth', `the server rejected the credentials${where}: ${text}`];
    }
    if (sqlstate === '3D000') {
      return ['missing-database', `${text}${where}; create it (e.g. createdb) or fix the database URL`];
    }
    if (sqlstate.startsWith('08') || CONNECT_SQLSTATES.has(sqlstate)) {
      return ['connection-refused', `the server is not accepting our connection${where}: ${text}`];
    }
    if (sqlstate === '42P01' && OUR_TABLES.test(message)) {
      return ['missing-migration', `${text}; the provably schema is missing: run \`provably migrate\``];
    }
    return ['query', text];
  }
  const code = errnoOf(err);
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return ['connection-refused', `could not connect${where}: ${message} (${code}); is the server running?`];
  }
  if (/^SASL|password/i.test(message)) {
    return ['auth', `authentication failed${where}: ${message}`];
  }
  if (/Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message)) {
    return ['connection-refused', `the connection failed${where}: ${message}`];
  }
  if (/after calling end on the pool|Client was closed|PGlite is clos(ed|ing)/i.test(message)) {
    return ['closed', `${message}; the store was closed`];
  }
  return ['unknown', message || String(err)];
}

function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0) {
    return err.errors.map(messageOf).join('; ');
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A PostgreSQL error code: five characters from the server (pg and PGlite both set `code`). */
function sqlstateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  return undefined;
}

/** A Node system error code; happy-eyeballs connects throw an AggregateError of them. */
function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const c = errnoOf(inner);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}

/** `postgres://user@host:port/db` for messages: the password is never shown. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return 'the configured PostgreSQL server';
  }
}

/** Raised by the int8 parsers; classified as a query error rather than silently rounded. */
export class UnsafeIntegerError extends Error {
  readonly text: string;
  constructor(text: string) {
    super(
      `int8 value ${text} is outside JavaScript's safe integer range (±${Number.MAX_SAFE_INTEGER}); ` +
        'provably refuses to round it (cast it to text in the query to read it exactly)',
    );
    this.name = 'UnsafeIntegerError';
    this.text = text;
  }
}

/** int8 text → number, refusing values a double cannot hold exactly. Shared by both backends. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UnsafeIntegerError(text);
  return n;
}
