/**
 * The read side of provably_intercepts, for the CLI and the evaluator: typed rows in camelCase.
 */
import { checkOrgId } from '../config/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import type { Queryable } from '../store/types.js';
import { ProvablyInvalidIdError } from './errors.js';
import type { StoredHeaders } from './headers.js';
import type { RecordPeer } from './types.js';

/**
 * The leaf format a row is logged with (src/ledger/leaf.ts): 1 for rows written before the peer
 * was recorded (migration 5), 2 since.
 */
export type LeafVersion = 1 | 2;

/** The leaf version the recorder writes. */
export const CURRENT_LEAF_VERSION: LeafVersion = 2;

/** One recorded call, as stored. */
export interface InterceptRecord {
  id: string;
  orgId: string;
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
  traceId: string | null;
  spanId: string | null;
  method: string;
  url: string;
  /** Null when no response arrived. */
  status: number | null;
  /** Lower-cased names; credentials appear as "[REDACTED]". */
  requestHeaders: StoredHeaders;
  responseHeaders: StoredHeaders | null;
  /**
   * The kept wire bytes (still content-encoded; see decodeBody). Null when no response arrived,
   * or when the rows were listed with `withBody: false`.
   */
  responseBody: Uint8Array | null;
  contentEncoding: string | null;
  /** Hex SHA-256 of the whole body stream (not only the kept bytes); null when no response arrived. */
  bodySha256: string | null;
  /** Bytes in the whole body stream. */
  bodySize: number;
  /** True when bodySize exceeds the bytes kept. */
  bodyTruncated: boolean;
  /** Why the call failed, or null. */
  error: string | null;
  startedAt: Date;
  /**
   * False when the stored started_at carries digits finer than a millisecond, which startedAt
   * (a Date) cannot hold — the recorder never writes such a time, so the row was edited, and
   * this record is not exactly the row. Set by getIntercept and listIntercepts.
   */
  startedAtExact?: boolean;
  durationMs: number | null;
  createdAt: Date;
  /** The format of this record's leaf: 1 (written before peers were recorded) or 2. */
  leafVersion: LeafVersion;
  /**
   * Who answered: the connection that carried the call, as the socket saw it. Null for version-1
   * records, and for version-2 records whose call never got a connection (refused, blocked).
   */
  peer: RecordPeer | null;
}

export interface ListInterceptsOptions {
  orgId: string;
  agentId?: string;
  actionName?: string;
  traceId?: string;
  /** Only rows created at or after this instant. */
  since?: Date;
  /** At most this many rows (default 100, at most 10 000). */
  limit?: number;
  /** `desc` (default): newest first. */
  order?: 'asc' | 'desc';
  /** Load response bodies (default true); false leaves responseBody null and reads much less. */
  withBody?: boolean;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID (any case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * A record id as the tables store it (trimmed, lower case). Throws ProvablyInvalidIdError for
 * anything that is not a UUID, before a driver ever sees it.
 */
export function recordIdOf(id: unknown): string {
  if (typeof id !== 'string' || !UUID.test(id.trim())) throw new ProvablyInvalidIdError(id);
  return id.trim().toLowerCase();
}

/** The peer columns of provably_intercepts (migration 5), also the peer fields of a v2 leaf. */
export const PEER_COLUMNS = [
  'peer_address',
  'peer_port',
  'peer_protocol',
  'peer_tls_cert_sha256',
  'peer_tls_subject',
  'peer_tls_subject_alt_name',
  'peer_proxy',
] as const;

/**
 * The provably_intercepts columns the recorder writes (created_at is the database's): table
 * order, which is also the order of the leaf row type provably_intercept_leaf_row (migration 5).
 */
export const WRITTEN_COLUMNS = [
  'id',
  'org_id',
  'agent_id',
  'action_name',
  'intercept_index',
  'trace_id',
  'span_id',
  'method',
  'url',
  'status',
  'request_headers',
  'response_headers',
  'response_body',
  'content_encoding',
  'body_sha256',
  'body_size',
  'body_truncated',
  'error',
  'started_at',
  'duration_ms',
  'leaf_version',
  ...PEER_COLUMNS,
] as const;

/** Every provably_intercepts column but the body, in table order. */
export const INTERCEPT_COLUMNS: readonly string[] = [
  ...WRITTEN_COLUMNS.filter((c) => c !== 'response_body'),
  'created_at',
];
/** Whether started_at fits a millisecond Date (see InterceptRecord.startedAtExact). */
const STARTED_EXACT = `(started_at = date_trunc('milliseconds', started_at)) AS started_exact`;
const WITHOUT_BODY = `${INTERCEPT_COLUMNS.join(', ')}, ${STARTED_EXACT}`;
const WITH_BODY = `${WITHOUT_BODY}, response_body`;
/**
 * PGlite decodes a bytea result at ~0.14 s per MiB; base64 text is ~10× cheaper (measured:
 * 16 MiB in 2.3 s vs 0.2 s). PostgreSQL returns the bytes as they are.
 */
const WITH_BODY_BASE64 = `${WITHOUT_BODY}, encode(response_body, 'base64') AS response_body`;

function bodyColumns(store: Queryable, withBody: boolean): { columns: string; base64: boolean } {
  if (!withBody) return { columns: WITHOUT_BODY, base64: false };
  const base64 = (store as { backend?: unknown }).backend === 'pglite';
  return { columns: base64 ? WITH_BODY_BASE64 : WITH_BODY, base64 };
}

export async function listIntercepts(
  store: Queryable,
  options: ListInterceptsOptions,
): Promise<InterceptRecord[]> {
  if (options === null || typeof options !== 'object') {
    throw new ProvablyConfigError('listIntercepts', 'expected an options object with orgId');
  }
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  add('org_id = ?', checkOrgId(options.orgId, 'orgId'));
  if (options.agentId !== undefined) add('agent_id = ?', text(options.agentId, 'agentId'));
  if (options.actionName !== undefined) add('action_name = ?', text(options.actionName, 'actionName'));
  if (options.traceId !== undefined) add('trace_id = ?', text(options.traceId, 'traceId'));
  if (options.since !== undefined) {
    if (!(options.since instanceof Date) || Number.isNaN(options.since.getTime())) {
      throw new ProvablyConfigError('since', `expected a valid Date, got ${String(options.since)}`);
    }
    add('created_at >= ?', options.since);
  }
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ProvablyConfigError(
      'limit',
      `expected an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`,
    );
  }
  const order = options.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') {
    throw new ProvablyConfigError('order', `expected "asc" or "desc", got ${JSON.stringify(order)}`);
  }
  const dir = order === 'asc' ? 'ASC' : 'DESC';
  params.push(limit);
  const { columns, base64 } = bodyColumns(store, options.withBody !== false);
  const sql =
    `SELECT ${columns} FROM provably_intercepts WHERE ${where.join(' AND ')} ` +
    `ORDER BY created_at ${dir}, started_at ${dir}, id ${dir} LIMIT $${params.length}`;
  const result = await store.query<Record<string, unknown>>(sql, params);
  return result.rows.map((row) => toRecord(row, base64));
}

/** The row with this id (optionally only within `orgId`), or null when there is none. */
export async function getIntercept(
  store: Queryable,
  id: string,
  options: { orgId?: string } = {},
): Promise<InterceptRecord | null> {
  const params: unknown[] = [recordIdOf(id)];
  const { columns, base64 } = bodyColumns(store, true);
  let sql = `SELECT ${columns} FROM provably_intercepts WHERE id = $1`;
  if (options.orgId !== undefined) {
    params.push(checkOrgId(options.orgId, 'orgId'));
    sql += ' AND org_id = $2';
  }
  const result = await store.query<Record<string, unknown>>(sql, params);
  const row = result.rows[0];
  return row === undefined ? null : toRecord(row, base64);
}

function text(v: unknown, setting: string): string {
  if (typeof v !== 'string') throw new ProvablyConfigError(setting, `expected a string, got ${typeof v}`);
  return v;
}

/** Maps one row; tolerant of driver differences (int8 as string, jsonb as text, Buffer vs Uint8Array). */
export function toRecord(row: Record<string, unknown>, bodyAsBase64 = false): InterceptRecord {
  return {
    id: String(row.id),
    orgId: String(row.org_id),
    agentId: String(row.agent_id),
    actionName: String(row.action_name),
    interceptIndex: numOrNull(row.intercept_index),
    traceId: strOrNull(row.trace_id),
    spanId: strOrNull(row.span_id),
    method: String(row.method),
    url: String(row.url),
    status: numOrNull(row.status),
    requestHeaders: (json(row.request_headers) as StoredHeaders | null) ?? {},
    responseHeaders: json(row.response_headers) as StoredHeaders | null,
    responseBody: bytesOrNull(row.response_body, bodyAsBase64),
    contentEncoding: strOrNull(row.content_encoding),
    bodySha256: strOrNull(row.body_sha256),
    bodySize: numOrNull(row.body_size) ?? 0,
    bodyTruncated: row.body_truncated === true || row.body_truncated === 't',
    error: strOrNull(row.error),
    startedAt: date(row.started_at),
    ...(row.started_exact === undefined || row.started_exact === null
      ? {}
      : { startedAtExact: row.started_exact === true || row.started_exact === 't' }),
    durationMs: numOrNull(row.duration_ms),
    createdAt: date(row.created_at),
    // A value other than 1 or 2 (an edited row) is kept as it is: the leaf refuses it.
    leafVersion: (numOrNull(row.leaf_version) ?? 1) as LeafVersion,
    peer: peerOf(row),
  };
}

/** The peer columns as stored (see RecordPeer: null exactly when every column is). */
function peerOf(row: Record<string, unknown>): RecordPeer | null {
  const tls =
    row.peer_tls_cert_sha256 == null && row.peer_tls_subject == null && row.peer_tls_subject_alt_name == null
      ? null
      : {
          certSha256: strOrNull(row.peer_tls_cert_sha256),
          subject: strOrNull(row.peer_tls_subject),
          subjectAltName: strOrNull(row.peer_tls_subject_alt_name),
        };
  const address = strOrNull(row.peer_address);
  const port = numOrNull(row.peer_port);
  const protocol = strOrNull(row.peer_protocol);
  const proxy = strOrNull(row.peer_proxy);
  if (address === null && port === null && protocol === null && tls === null && proxy === null) return null;
  return { address, port, protocol, tls, proxy };
}

function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function numOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

function json(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? JSON.parse(v) : v;
}

function bytesOrNull(v: unknown, base64: boolean): Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (base64 && typeof v === 'string') {
    const b = Buffer.from(v, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.startsWith('\\x')) return new Uint8Array(Buffer.from(v.slice(2), 'hex'));
  throw new TypeError(`unexpected response_body value of type ${typeof v}`);
}

function date(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}
