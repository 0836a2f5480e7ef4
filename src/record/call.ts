/**
 * One governed call being recorded: collects status, headers and body as the transport reports
 * them, and hands the finished row to the recorder. Never throws into the transport.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { BodyCapture } from './body.js';
import type { RecorderConfig } from './config.js';
import { describeCause, describeError } from './failures.js';
import { cleanText, headerValue, type StoredHeaders } from './headers.js';
import { CURRENT_LEAF_VERSION } from './read.js';
import type { RecordedRow } from './row.js';
import type {
  CallPeer,
  CallRecording,
  CallRequest,
  CallScope,
  HeaderMap,
  RecordPeer,
  StoredCallSummary,
} from './types.js';

const INT4_MAX = 2_147_483_647;

/** What a Call hands its finished row to (the recorder). */
export interface CallSink {
  readonly config: Readonly<RecorderConfig>;
  normalize(headers: HeaderMap | null | undefined): StoredHeaders;
  submit(
    row: RecordedRow,
    kept: Uint8Array | null,
    label: string,
    kind: 'finish' | 'fail',
    onStored?: () => void,
  ): Promise<void>;
}

/** One call being recorded; `id` is the row's primary key, known before it is written. */
export interface RecordedCall extends CallRecording {
  readonly id: string;
}

export class Call implements RecordedCall {
  readonly id: string = randomUUID();
  private readonly recorder: CallSink;
  private readonly scope: CallScope;
  private readonly method: string;
  private readonly url: string;
  private readonly startedAt: Date;
  private readonly requestHeaders: StoredHeaders;
  /** performance.now() at start() and how far startedAt lies before it. */
  private readonly t0: number;
  private readonly lagMs: number;
  private readonly body: BodyCapture;
  private status: number | null = null;
  private responseHeaders: StoredHeaders | null = null;
  private done: Promise<void> | null = null;
  /** The connection that carried the call, as it will be stored (and bound by the leaf). */
  private connectedPeer: RecordPeer | null = null;
  /** The row as committed; null until (and unless) the store confirmed it. */
  private storedRow: RecordedRow | null = null;

  constructor(recorder: CallSink, scope: CallScope, request: CallRequest) {
    this.t0 = performance.now();
    this.recorder = recorder;
    this.scope = scope;
    this.method = cleanText(String(request.method ?? ''));
    this.url = redactUrl(cleanText(String(request.url ?? '')));
    const started = request.startedAt instanceof Date ? request.startedAt : new Date();
    this.startedAt = Number.isNaN(started.getTime()) ? new Date() : started;
    this.lagMs = Math.max(0, Date.now() - this.startedAt.getTime());
    this.requestHeaders = recorder.normalize(request.headers);
    this.body = new BodyCapture(recorder.config.maxBodyBytes);
  }

  peer(peer: CallPeer): void {
    if (this.done !== null) return;
    try {
      this.connectedPeer = storedPeer(peer);
    } catch (err) {
      // Never into the transport; the row keeps the last peer that could be read.
      diag.once('record.peer', 'warn', 'could not read the peer of a recorded call', err);
    }
  }

  response(status: number, headers: HeaderMap): void {
    if (this.done !== null) return;
    try {
      this.status = Number.isInteger(status) && status >= 0 && status <= INT4_MAX ? status : null;
      this.responseHeaders = this.recorder.normalize(headers);
    } catch (err) {
      diag.once('record.response', 'warn', 'could not read response headers of a recorded call', err);
    }
  }

  chunk(bytes: Uint8Array): void {
    if (this.done !== null) return;
    try {
      if (bytes instanceof Uint8Array) this.body.push(bytes);
    } catch (err) {
      diag.once('record.chunk', 'warn', 'could not capture a body chunk of a recorded call', err);
    }
  }

  finish(): Promise<void> {
    if (this.done === null) this.done = this.submit(null, 'finish');
    return this.done;
  }

  fail(error: unknown): Promise<void> {
    if (this.done === null) {
      this.done = this.submit(describeError(error), 'fail');
      return this.done;
    }
    return this.done.then(noop, noop);
  }

  private submit(error: string | null, kind: 'finish' | 'fail'): Promise<void> {
    const durationMs = this.lagMs + (performance.now() - this.t0);
    const label = `${this.method} ${labelUrl(this.url)}`;
    let row: RecordedRow;
    let kept: Uint8Array | null;
    try {
      const hasBody = this.body.touched || this.status !== null;
      kept = hasBody ? this.body.keptBytes() : null;
      row = {
        id: this.id,
        orgId: this.scope.orgId,
        agentId: this.scope.agentId,
        actionName: this.scope.actionName,
        interceptIndex: int4OrNull(this.scope.interceptIndex),
        traceId: this.scope.traceId ?? null,
        spanId: this.scope.spanId ?? null,
        method: this.method,
        url: this.url,
        status: this.status,
        requestHeaders: this.requestHeaders,
        responseHeaders: this.responseHeaders,
        contentEncoding: headerValue(this.responseHeaders, 'content-encoding'),
        bodySha256: hasBody ? this.body.sha256() : null,
        bodySize: this.body.size,
        bodyTruncated: this.body.truncated,
        error,
        startedAt: this.startedAt,
        durationMs,
        leafVersion: CURRENT_LEAF_VERSION,
        peer: this.connectedPeer,
      };
    } catch (err) {
      // Only a bug gets here; report it through the same policy as a store failure.
      diag.once('record.row', 'error', 'could not build an intercept row', err);
      return kind === 'fail'
        ? Promise.resolve()
        : Promise.reject(
            new ProvablyStoreError(`record ${label}`, 'unknown', describeCause(err), { cause: err }),
          );
    }
    return this.recorder.submit(row, kept, label, kind, () => {
      this.storedRow = row;
    });
  }

  stored(): StoredCallSummary | undefined {
    const row = this.storedRow;
    if (row === null) return undefined;
    const peer = row.peer;
    return {
      id: row.id,
      orgId: row.orgId,
      method: row.method,
      url: row.url,
      status: row.status,
      bodySha256: row.bodySha256,
      bodySize: row.bodySize,
      bodyTruncated: row.bodyTruncated,
      error: row.error,
      peer:
        peer === null
          ? null
          : {
              address: peer.address,
              port: peer.port,
              protocol: peer.protocol,
              tlsCertSha256: peer.tls?.certSha256 ?? null,
              proxy: peer.proxy,
            },
    };
  }
}

function noop(): void {}

/**
 * A copy of the adapter's peer in the form the columns hold: text cleaned as every stored text
 * is (PostgreSQL text holds no NUL, JSON no lone surrogate), a port outside 0–65535 or not an
 * integer stored as null. Copied, so the adapter's object changing later cannot change the row.
 */
function storedPeer(peer: CallPeer): RecordPeer | null {
  if (peer === null || typeof peer !== 'object') return null;
  const port = peer.port;
  const tls = peer.tls;
  return {
    address: textOrNull(peer.address),
    port: typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65_535 ? port : null,
    protocol: textOrNull(peer.protocol),
    tls:
      tls === null || typeof tls !== 'object'
        ? null
        : {
            certSha256: textOrNull(tls.certSha256),
            subject: textOrNull(tls.subject),
            subjectAltName: textOrNull(tls.subjectAltName),
          },
    proxy: textOrNull(peer.proxy),
  };
}

/** In `u` mode a surrogate range matches only surrogates that are not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/gu;

function textOrNull(v: unknown): string | null {
  return typeof v === 'string' ? cleanText(v).replace(LONE_SURROGATE, '\uFFFD') : null;
}

function int4OrNull(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= -INT4_MAX - 1 && v <= INT4_MAX ? v : null;
}

/** Credentials in the URL's userinfo are never stored either. */
function redactUrl(url: string): string {
  if (!url.includes('@')) return url;
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = 'REDACTED';
    u.password = '';
    return u.href;
  } catch {
    return url;
  }
}

/** Origin and path only (no query: it may carry tokens), for error messages. */
function labelUrl(url: string): string {
  let shown = url;
  try {
    const u = new URL(url);
    shown = `${u.origin}${u.pathname}`;
  } catch {
    shown = url.split('?')[0] ?? url;
  }
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}
