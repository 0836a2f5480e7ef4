/**
 * The leaf of one intercept record in its org's Merkle log.
 *
 * Leaf bytes = UTF-8 of the RFC 8785 (JCS) canonical JSON of one flat object. Every key is always
 * present. The leaf hash is RFC 6962's SHA-256(0x00 ‖ leaf bytes). A record's leaf_version column
 * says which format its leaf has; a log holds both (rows written before version 2 keep their
 * version-1 leaves, byte for byte).
 *
 * Version 1 (rows written before migration 5; exactly these 20 keys):
 *
 *   leaf_index        the record's position in the log (binds the order: a leaf moved to
 *                     another index no longer matches, so verifyLog can name the exact index)
 *   id, org_id, agent_id, action_name, intercept_index, trace_id, span_id, method, url, status,
 *   request_headers, response_headers, content_encoding, body_sha256, body_size,
 *   body_truncated, error, duration_ms
 *                     the record's content columns as stored (null where the column is null;
 *                     headers as the stored JSON objects)
 *   started_at        ISO 8601 in UTC with milliseconds, as Date.prototype.toISOString writes it
 *
 * Version 2 (every row the recorder writes since; 29 keys) — version 1's keys, plus:
 *
 *   leaf_kind         "intercept": which kind of record the leaf commits to. Another kind of
 *                     record (a policy decision) gets its own leaf_kind and its own fields in the
 *                     same log; the kind makes the two byte strings disjoint by construction.
 *   leaf_version      2
 *   peer_address, peer_port, peer_protocol, peer_tls_cert_sha256, peer_tls_subject,
 *   peer_tls_subject_alt_name, peer_proxy
 *                     WHO ANSWERED: the connection that carried the call as its socket saw it —
 *                     remote address and port, "http/1.1" or "h2", the SHA-256 (lower-case hex)
 *                     of the certificate the TLS server presented with its subject and
 *                     subjectAltName, the origin of the egress proxy it went through. Null where
 *                     absent (plain TCP: no TLS fields; no connection: all null).
 *
 * A version-1 record cannot hold a peer (the leaf refuses one rather than drop it, and the
 * database refuses such a row), so a peer edited into an old row is caught, never ignored.
 *
 * Not in the leaf:
 * - response_body: body_sha256 (SHA-256 of every byte received) and body_size bind the body.
 *   verifyLog checks the kept bytes against them when the body was kept whole; a truncated
 *   body's kept prefix is bound only through its length (it cannot be hashed against a digest
 *   of the whole stream).
 * - created_at: the database's insert time is storage metadata, not what the agent did; the
 *   log's own order (leaf_index) is the order that is proven.
 * - sub-millisecond digits of started_at: the recorder writes millisecond times; the store
 *   reads refuse (appendLeaves) or flag (verifyLog) a started_at carrying finer digits.
 *
 * Pure and deterministic: the same record and index give the same bytes on any machine.
 */
import canonicalize from 'canonicalize';
import type { InterceptRecord } from '../record/read.js';
import { ProvablyLeafContentError } from './errors.js';
import { leafHash } from './merkle.js';

/** The leaf kind of intercept records (src/ledger's other kinds, if any, have their own). */
export const INTERCEPT_LEAF_KIND = 'intercept';

/**
 * The fields of an intercept record that the leaf binds (InterceptRecord has them all). A record
 * without leafVersion is a version-1 record.
 */
export type LeafRecord = Partial<Pick<InterceptRecord, 'leafVersion' | 'peer'>> &
  Pick<
    InterceptRecord,
    | 'id'
    | 'orgId'
    | 'agentId'
    | 'actionName'
    | 'interceptIndex'
    | 'traceId'
    | 'spanId'
    | 'method'
    | 'url'
    | 'status'
    | 'requestHeaders'
    | 'responseHeaders'
    | 'contentEncoding'
    | 'bodySha256'
    | 'bodySize'
    | 'bodyTruncated'
    | 'error'
    | 'startedAt'
    | 'durationMs'
  >;

/** The object whose canonical JSON is a version-1 leaf (snake_case, as the columns are named). */
export interface LeafContentV1 {
  leaf_index: number;
  id: string;
  org_id: string;
  agent_id: string;
  action_name: string;
  intercept_index: number | null;
  trace_id: string | null;
  span_id: string | null;
  method: string;
  url: string;
  status: number | null;
  request_headers: unknown;
  response_headers: unknown;
  content_encoding: string | null;
  /** Lower-case hex SHA-256 of the whole response body as received (wire bytes); null: no response. */
  body_sha256: string | null;
  body_size: number;
  body_truncated: boolean;
  error: string | null;
  /** UTC with milliseconds, as toISOString writes it. */
  started_at: string;
  duration_ms: number | null;
}

/** The peer fields of a version-2 leaf (the stored peer_* columns). */
export interface LeafPeerFields {
  peer_address: string | null;
  peer_port: number | null;
  peer_protocol: string | null;
  peer_tls_cert_sha256: string | null;
  peer_tls_subject: string | null;
  peer_tls_subject_alt_name: string | null;
  peer_proxy: string | null;
}

/** A version-2 leaf: version 1's fields, its kind and version, and who answered. */
export interface LeafContentV2 extends LeafContentV1, LeafPeerFields {
  leaf_kind: typeof INTERCEPT_LEAF_KIND;
  leaf_version: 2;
}

/** The leaf of an intercept record, in the format of its leaf version. */
export type LeafContent = LeafContentV1 | LeafContentV2;

/**
 * The leaf object of `record` at `leafIndex`, in the format of `record.leafVersion` (absent: 1).
 * Throws ProvablyLeafContentError on values JSON cannot hold, an unknown version, or a peer on a
 * version-1 record.
 */
export function leafContent(record: LeafRecord, leafIndex: number): LeafContent {
  const v1 = leafContentV1(record, leafIndex);
  const version = record.leafVersion ?? 1;
  const peer = record.peer ?? null;
  if (version === 1) {
    if (peer !== null) throw new ProvablyLeafContentError('peer', 'a version-1 leaf cannot bind a peer');
    return v1;
  }
  if (version !== 2) {
    throw new ProvablyLeafContentError('leaf_version', `expected 1 or 2, got ${String(version)}`);
  }
  if (peer !== null && typeof peer !== 'object') {
    throw new ProvablyLeafContentError('peer', `expected an object or null, got ${typeof peer}`);
  }
  const tls = peer?.tls ?? null;
  if (tls !== null && typeof tls !== 'object') {
    throw new ProvablyLeafContentError('peer_tls', `expected an object or null, got ${typeof tls}`);
  }
  return {
    ...v1,
    leaf_kind: INTERCEPT_LEAF_KIND,
    leaf_version: 2,
    peer_address: textOrNull(peer?.address, 'peer_address'),
    peer_port: numberOrNull(peer?.port, 'peer_port'),
    peer_protocol: textOrNull(peer?.protocol, 'peer_protocol'),
    peer_tls_cert_sha256: textOrNull(tls?.certSha256, 'peer_tls_cert_sha256'),
    peer_tls_subject: textOrNull(tls?.subject, 'peer_tls_subject'),
    peer_tls_subject_alt_name: textOrNull(tls?.subjectAltName, 'peer_tls_subject_alt_name'),
    peer_proxy: textOrNull(peer?.proxy, 'peer_proxy'),
  };
}

/** Version 1's fields: unchanged since version 1, so old leaves rebuild byte for byte. */
function leafContentV1(record: LeafRecord, leafIndex: number): LeafContentV1 {
  if (record === null || typeof record !== 'object') {
    throw new ProvablyLeafContentError('record', `expected an intercept record, got ${typeof record}`);
  }
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) {
    throw new ProvablyLeafContentError('leaf_index', `expected a safe integer ≥ 0, got ${String(leafIndex)}`);
  }
  const startedAt = record.startedAt;
  if (!(startedAt instanceof Date) || Number.isNaN(startedAt.getTime())) {
    throw new ProvablyLeafContentError('started_at', `expected a valid Date, got ${String(startedAt)}`);
  }
  return {
    leaf_index: leafIndex,
    id: text(record.id, 'id'),
    org_id: text(record.orgId, 'org_id'),
    agent_id: text(record.agentId, 'agent_id'),
    action_name: text(record.actionName, 'action_name'),
    intercept_index: numberOrNull(record.interceptIndex, 'intercept_index'),
    trace_id: textOrNull(record.traceId, 'trace_id'),
    span_id: textOrNull(record.spanId, 'span_id'),
    method: text(record.method, 'method'),
    url: text(record.url, 'url'),
    status: numberOrNull(record.status, 'status'),
    request_headers: record.requestHeaders ?? null,
    response_headers: record.responseHeaders ?? null,
    content_encoding: textOrNull(record.contentEncoding, 'content_encoding'),
    body_sha256: textOrNull(record.bodySha256, 'body_sha256'),
    body_size: numberOrNull(record.bodySize, 'body_size') ?? 0,
    body_truncated: record.bodyTruncated === true,
    error: textOrNull(record.error, 'error'),
    started_at: startedAt.toISOString(),
    duration_ms: numberOrNull(record.durationMs, 'duration_ms'),
  };
}

/** UTF-8 bytes of the RFC 8785 canonical JSON of leafContent(record, leafIndex). */
export function leafBytes(record: LeafRecord, leafIndex: number): Uint8Array {
  const content = leafContent(record, leafIndex);
  let json: string | undefined;
  try {
    json = canonicalize(content);
  } catch (err) {
    // Headers are the only free-form JSON left: a NaN, an Infinity or a lone surrogate in them.
    throw new ProvablyLeafContentError('headers', (err as Error).message, { cause: err });
  }
  if (json === undefined) throw new ProvablyLeafContentError('record', 'has no JSON form');
  return new TextEncoder().encode(json);
}

/** RFC 6962 leaf hash of the record's leaf bytes at `leafIndex`. */
export function recordLeafHash(record: LeafRecord, leafIndex: number): Uint8Array {
  return leafHash(leafBytes(record, leafIndex));
}

/** In `u` mode a surrogate range only matches surrogates that are not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function text(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new ProvablyLeafContentError(field, `expected a string, got ${typeof v}`);
  if (LONE_SURROGATE.test(v)) throw new ProvablyLeafContentError(field, 'holds a lone surrogate');
  return v;
}

function textOrNull(v: unknown, field: string): string | null {
  return v === null || v === undefined ? null : text(v, field);
}

function numberOrNull(v: unknown, field: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ProvablyLeafContentError(field, `expected a finite number, got ${String(v)}`);
  }
  return v;
}
