/**
 * Records in the user's traces: what provably did about a governed call becomes visible on the
 * spans the application already exports.
 *
 * - `provably.intercept` event on the scope span once the call's row is committed (record id,
 *   method, URL, status, body SHA-256 and size, who answered). Added before end-of-body reaches
 *   the caller, so a tool that reads its response adds it while its span is still open.
 * - `provably.blocked` event on the scope span when a call is refused (URL, reason).
 * - `provably.record_id` attribute on the HTTP client span another instrumentation
 *   (@opentelemetry/instrumentation-http / -undici) makes for that call: http's is the active span
 *   when the record starts; undici's is started inside the dispatch provably hands on, so a span
 *   of kind CLIENT starting while a record is being dispatched is that call's (see onSpanStart).
 * - `provably.checkpoint` on a span of its own (`provably checkpoint`): checkpoints are issued in
 *   the background for many calls at once, outside any scope, so no span of the app's is theirs.
 *
 * Everything here is best effort and never throws: spans are the app's, and a span that ended, is
 * not sampled or is not an SDK span simply gets nothing (the row still carries trace and span ids).
 */
import type { Attributes, Span } from '@opentelemetry/api';
import { diag } from '../diag/index.js';
import { sharedState } from './globals.js';
import type { ActiveScope } from './types.js';

export const TRACE_EVENTS = Object.freeze({
  intercept: 'provably.intercept',
  blocked: 'provably.blocked',
  checkpoint: 'provably.checkpoint',
  recordIdAttribute: 'provably.record_id',
  checkpointSpan: 'provably checkpoint',
} as const);

/** OpenTelemetry's SpanKind.CLIENT (the API enum, without loading the API). */
const SPAN_KIND_CLIENT = 2;

interface ScopeSpans {
  /** The span that made the scope (carries its attributes), or interceptContext's span. */
  scope: Span | undefined;
  /** The span active when the request was created (may be a client span below the scope span). */
  active: Span | undefined;
}

const spansOf = new WeakMap<ActiveScope, ScopeSpans>();

/** Remembers which spans a resolved scope came from; returns the scope. Called by resolve.ts. */
export function noteScopeSpans(
  scope: ActiveScope,
  scopeSpan: object | undefined,
  active: object | undefined,
): ActiveScope {
  spansOf.set(scope, { scope: asSpan(scopeSpan), active: asSpan(active) });
  return scope;
}

function asSpan(s: object | undefined): Span | undefined {
  return s !== undefined && typeof (s as { addEvent?: unknown }).addEvent === 'function'
    ? (s as Span)
    : undefined;
}

function recording(span: Span | undefined): span is Span {
  return span !== undefined && typeof span.isRecording === 'function' && span.isRecording();
}

/** What the `provably.intercept` event says about one committed row. */
export interface InterceptEventInfo {
  recordId: string;
  orgId: string;
  method: string;
  url: string;
  status: number | null;
  bodySha256: string | null;
  bodySize: number | null;
  bodyTruncated: boolean;
  error: string | null;
  peer: {
    address: string | null;
    port: number | null;
    protocol: string | null;
    tlsCertSha256: string | null;
    proxy: string | null;
  } | null;
}

/** Adds `provably.intercept` to the scope span of `scope` (a committed row). Never throws. */
export function traceRecorded(scope: ActiveScope, info: InterceptEventInfo): void {
  try {
    const span = spansOf.get(scope)?.scope;
    if (!recording(span)) return;
    const attrs: Attributes = {
      'provably.record_id': info.recordId,
      'provably.org_id': info.orgId,
      'http.request.method': info.method,
      'url.full': info.url,
    };
    if (info.status !== null) attrs['http.response.status_code'] = info.status;
    if (info.bodySha256 !== null) attrs['provably.body_sha256'] = info.bodySha256;
    if (info.bodySize !== null) attrs['provably.body_size'] = info.bodySize;
    if (info.bodyTruncated) attrs['provably.body_truncated'] = true;
    if (info.error !== null) attrs['provably.error'] = info.error;
    const peer = info.peer;
    if (peer !== null) {
      if (peer.address !== null) attrs['network.peer.address'] = peer.address;
      if (peer.port !== null) attrs['network.peer.port'] = peer.port;
      if (peer.protocol !== null) attrs['provably.peer_protocol'] = peer.protocol;
      if (peer.tlsCertSha256 !== null) attrs['provably.peer_tls_cert_sha256'] = peer.tlsCertSha256;
      if (peer.proxy !== null) attrs['provably.peer_proxy'] = peer.proxy;
    }
    span.addEvent(TRACE_EVENTS.intercept, attrs);
  } catch (err) {
    diag.once('scope.trace-recorded', 'warn', 'could not add provably.intercept to a span', err);
  }
}

/** Adds `provably.blocked` to the scope span of `scope`. Never throws. */
export function traceBlocked(scope: ActiveScope, url: string, reason: string): void {
  try {
    const span = spansOf.get(scope)?.scope;
    if (!recording(span)) return;
    span.addEvent(TRACE_EVENTS.blocked, {
      'url.full': url,
      'provably.reason': reason,
      'provably.agent_id': scope.agentId,
      'provably.action_name': scope.actionName,
    });
  } catch (err) {
    diag.once('scope.trace-blocked', 'warn', 'could not add provably.blocked to a span', err);
  }
}

/**
 * A record was started for a call made in `scope`: the active span, when it is a client span
 * below the scope span (instrumentation-http wraps the request in its span), gets the record id.
 */
export function traceRecordStarted(scope: ActiveScope, recordId: string): void {
  try {
    const spans = spansOf.get(scope);
    const active = spans?.active;
    if (active === undefined || active === spans?.scope) return;
    markClientSpan(active, recordId);
  } catch (err) {
    diag.once('scope.trace-started', 'warn', 'could not mark an HTTP client span with its record id', err);
  }
}

/**
 * Marks the record being handed to the next dispatcher layer (synchronously) so that a client
 * span started meanwhile (instrumentation-undici starts it in `undici:request:create`) gets its
 * id. Returns what to pass to exitDispatch.
 */
export function enterDispatch(recordId: string): { recordId: string } | undefined {
  const previous = sharedState.dispatching;
  sharedState.dispatching = { recordId };
  return previous;
}

export function exitDispatch(previous: { recordId: string } | undefined): void {
  sharedState.dispatching = previous;
}

/** Called for every span started through a provider running provably's processor. Never throws. */
export function onSpanStart(span: object): void {
  const pending = sharedState.dispatching;
  if (pending === undefined) return;
  try {
    markClientSpan(span as Span, pending.recordId);
  } catch (err) {
    diag.once(
      'scope.trace-client-span',
      'warn',
      'could not mark an HTTP client span with its record id',
      err,
    );
  }
}

function markClientSpan(span: Span, recordId: string): void {
  if ((span as { kind?: unknown }).kind !== SPAN_KIND_CLIENT || !recording(span)) return;
  span.setAttribute(TRACE_EVENTS.recordIdAttribute, recordId);
}

/** What the `provably.checkpoint` event says. */
export interface CheckpointEventInfo {
  orgId: string;
  treeSize: number;
  rootHash: string;
  keyId: string;
  timestamp: string;
}

/**
 * A checkpoint was issued: a span of its own, `provably checkpoint`, carrying the event, when
 * provably's spans are exported (its own export SDK, or the application's provider). Never throws.
 */
export function traceCheckpoint(
  info: CheckpointEventInfo,
  tracer: { startSpan(name: string, options?: object): Span } | undefined,
): void {
  try {
    const mode = sharedState.wiring.mode;
    if (tracer === undefined || (mode !== 'standalone-export' && mode !== 'app')) return;
    const span = tracer.startSpan(TRACE_EVENTS.checkpointSpan, {
      root: true,
      attributes: { 'provably.org_id': info.orgId },
    });
    span.addEvent(TRACE_EVENTS.checkpoint, {
      'provably.org_id': info.orgId,
      'provably.tree_size': info.treeSize,
      'provably.root_hash': info.rootHash,
      'provably.key_id': info.keyId,
      'provably.checkpoint_timestamp': info.timestamp,
    });
    span.end();
  } catch (err) {
    diag.once('scope.trace-checkpoint', 'warn', 'could not trace an issued checkpoint', err);
  }
}
