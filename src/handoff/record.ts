/**
 * A stored row as the record content a proof bundle carries (the fields the ledger's leaf
 * commits to). Shared by the payload builder and the evaluator's store check.
 */
import type { InterceptRecord } from '../record/read.js';
import type { HandoffHeaders, HandoffRecordContent, HandoffRecordContentV1 } from './types.js';

/**
 * The canonical content of a stored record: snake_case, started_at as RFC 3339 (UTC, ms); for a
 * version-2 record also its kind, version and peer (null fields where the row has none). A
 * version-1 record that holds a peer (an edited row) keeps it visible, so the leaf refuses it.
 */
export function recordContentOf(record: InterceptRecord): HandoffRecordContent {
  const v1: HandoffRecordContentV1 = {
    id: record.id,
    org_id: record.orgId,
    agent_id: record.agentId,
    action_name: record.actionName,
    intercept_index: record.interceptIndex,
    trace_id: record.traceId,
    span_id: record.spanId,
    method: record.method,
    url: record.url,
    status: record.status,
    request_headers: copyHeaders(record.requestHeaders),
    response_headers: record.responseHeaders === null ? null : copyHeaders(record.responseHeaders),
    content_encoding: record.contentEncoding,
    body_sha256: record.bodySha256,
    body_size: record.bodySize,
    body_truncated: record.bodyTruncated,
    error: record.error,
    started_at: record.startedAt.toISOString(),
    duration_ms: record.durationMs,
  };
  if (record.leafVersion === 1 && record.peer === null) return v1;
  const peer = record.peer;
  return {
    ...v1,
    leaf_kind: 'intercept',
    // An unknown version stays visible (the leaf then refuses it) rather than becoming 2.
    leaf_version: record.leafVersion as 2,
    peer_address: peer?.address ?? null,
    peer_port: peer?.port ?? null,
    peer_protocol: peer?.protocol ?? null,
    peer_tls_cert_sha256: peer?.tls?.certSha256 ?? null,
    peer_tls_subject: peer?.tls?.subject ?? null,
    peer_tls_subject_alt_name: peer?.tls?.subjectAltName ?? null,
    peer_proxy: peer?.proxy ?? null,
  };
}

function copyHeaders(headers: HandoffHeaders): HandoffHeaders {
  const out: HandoffHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name] as string | string[];
    // defineProperty: a header named "__proto__" stays an ordinary entry.
    Object.defineProperty(out, name, {
      value: Array.isArray(value) ? [...value] : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
