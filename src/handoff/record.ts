/**
 * A stored row as the record content a proof bundle carries (the fields the ledger's leaf
 * commits to). Shared by the payload builder and the evaluator's store check.
 */
import type { InterceptRecord } from '../record/read.js';
import type { HandoffHeaders, HandoffRecordContent } from './types.js';

/** The canonical content of a stored record: snake_case, started_at as RFC 3339 (UTC, ms). */
export function recordContentOf(record: InterceptRecord): HandoffRecordContent {
  return {
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
