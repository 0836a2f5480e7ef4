/**
 * Handler decoration for governed undici calls (see undici.ts). The decorated handler has the
 * same API generation as the one it wraps (undici 8 / `onRequestStart` handlers vs the
 * onConnect/onHeaders/onData/onComplete/onError handlers of Node's fetch and undici 6/7),
 * forwards everything unchanged and live, and holds back only the end of the body until the row
 * is committed.
 */
import type { HeaderMap } from '../record/types.js';
import type { Capture } from './capture.js';
import { rawHeadersToMap, requestHeadersToMap } from './headers.js';

type Rec = Record<PropertyKey, unknown>;

export function wrapHandler(handler: Rec, capture: Capture): object {
  return typeof handler.onRequestStart === 'function'
    ? new ModernHandler(handler as unknown as Modern, capture)
    : new LegacyHandler(handler as unknown as Legacy, capture);
}

/** Callbacks both generations have and that carry nothing to record: passed on as they are. */
interface Shared {
  onBodySent?(chunk: unknown): unknown;
  onRequestSent?(): unknown;
  onResponseStarted?(): unknown;
}

/**
 * What both decorations share. The wrapped handler and the capture stay in private fields, so the
 * decorated object has no own properties for undici (or anyone) to trip over.
 */
abstract class Decorated<H extends Shared> {
  readonly #h: H;
  readonly #c: Capture;
  constructor(handler: H, capture: Capture) {
    this.#h = handler;
    this.#c = capture;
  }
  protected get inner(): H {
    return this.#h;
  }
  protected get capture(): Capture {
    return this.#c;
  }
  onResponseStarted(): unknown {
    return this.#h.onResponseStarted?.();
  }
  onBodySent(chunk: unknown): unknown {
    return this.#h.onBodySent?.(chunk);
  }
  onRequestSent(): unknown {
    return this.#h.onRequestSent?.();
  }
}

interface Legacy extends Shared {
  onConnect?(abort: unknown, context?: unknown): unknown;
  onHeaders?(statusCode: number, rawHeaders: unknown, resume: unknown, statusText: unknown): unknown;
  onData?(chunk: Uint8Array): unknown;
  onComplete?(trailers: unknown): unknown;
  onError?(err: unknown): unknown;
  onUpgrade?(statusCode: number, rawHeaders: unknown, socket: unknown): unknown;
}

class LegacyHandler extends Decorated<Legacy> {
  onConnect(abort: unknown, context?: unknown): unknown {
    if (typeof abort === 'function') this.capture.onAbort((err) => (abort as (e: Error) => void)(err));
    return this.inner.onConnect?.(abort, context);
  }
  onUpgrade(statusCode: number, rawHeaders: unknown, socket: unknown): unknown {
    this.capture.response(statusCode, () => rawHeadersToMap(rawHeaders));
    this.capture.finishDetached();
    return this.inner.onUpgrade?.(statusCode, rawHeaders, socket);
  }
  onHeaders(statusCode: number, rawHeaders: unknown, resume: unknown, statusText: unknown): unknown {
    if (statusCode >= 200) this.capture.response(statusCode, () => rawHeadersToMap(rawHeaders));
    return this.inner.onHeaders?.(statusCode, rawHeaders, resume, statusText);
  }
  onData(chunk: Uint8Array): unknown {
    if (this.capture.chunk(chunk)) return true;
    return this.inner.onData?.(chunk);
  }
  onComplete(trailers: unknown): void {
    const h = this.inner;
    this.capture.release({
      body: (bytes) => h.onData?.(bytes),
      end: () => h.onComplete?.(trailers),
      error: (err) => h.onError?.(err),
    });
  }
  onError(err: unknown): unknown {
    this.capture.fail(err);
    const h = this.inner;
    if (typeof h.onError !== 'function') throw err;
    return h.onError(err);
  }
}

interface Modern extends Shared {
  onRequestStart?(controller: unknown, context: unknown): unknown;
  onRequestUpgrade?(controller: unknown, statusCode: number, headers: unknown, socket: unknown): unknown;
  onResponseStart?(
    controller: unknown,
    statusCode: number,
    headers: unknown,
    statusMessage?: unknown,
  ): unknown;
  onResponseData?(controller: unknown, chunk: Uint8Array): unknown;
  onResponseEnd?(controller: unknown, trailers: unknown): unknown;
  onResponseError?(controller: unknown, err: unknown): unknown;
}

class ModernHandler extends Decorated<Modern> {
  onRequestStart(controller: unknown, context: unknown): unknown {
    const abort = (controller as { abort?: unknown } | null)?.abort;
    if (typeof abort === 'function') this.capture.onAbort((err) => abort.call(controller, err));
    return this.inner.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: unknown, statusCode: number, headers: unknown, socket: unknown): unknown {
    this.capture.response(statusCode, () => modernHeaders(headers));
    this.capture.finishDetached();
    return this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStart(
    controller: unknown,
    statusCode: number,
    headers: unknown,
    statusMessage?: unknown,
  ): unknown {
    if (statusCode >= 200) this.capture.response(statusCode, () => modernHeaders(headers));
    return this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: unknown, chunk: Uint8Array): unknown {
    if (this.capture.chunk(chunk)) return undefined;
    return this.inner.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: unknown, trailers: unknown): void {
    const h = this.inner;
    this.capture.release({
      body: (bytes) => h.onResponseData?.(controller, bytes),
      end: () => h.onResponseEnd?.(controller, trailers),
      error: (err) => h.onResponseError?.(controller, err),
    });
  }
  onResponseError(controller: unknown, err: unknown): unknown {
    this.capture.fail(err);
    const h = this.inner;
    if (typeof h.onResponseError !== 'function') throw err;
    return h.onResponseError(controller, err);
  }
}

function modernHeaders(headers: unknown): HeaderMap {
  if (Array.isArray(headers)) return rawHeadersToMap(headers);
  return requestHeadersToMap(headers);
}
