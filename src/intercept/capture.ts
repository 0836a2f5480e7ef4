/**
 * Capture: one governed call on its way to the recorder. Adapters feed it the response head and
 * wire chunks; at end of body it commits the row and only then releases end-of-body (and, with a
 * body hook, the hooked body) to the caller, so a caller that has read the body knows the row is
 * stored. Every recorder call is guarded (see core.ts for the rules).
 */
import type { Readable } from 'node:stream';
import { diag } from '../diag/index.js';
import { ProvablyBlockedError } from '../errors/index.js';
import type { CallPeer, CallRecording, CallScope, HeaderMap } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';
import { activeRecorder, counters, internalError } from './core.js';
import type { InterceptBodyHook } from './types.js';

let bodyHook: InterceptBodyHook | undefined;

export function setBodyHook(hook: InterceptBodyHook | undefined): void {
  bodyHook = hook;
}

const OPEN = 0;
const FINISHING = 1;
const DONE = 2;

export interface Delivery {
  /** Hands the (hooked) buffered body to the caller; only called when the capture buffered it. */
  body(bytes: Buffer): void;
  /** Releases end-of-body to the caller. */
  end(): void;
  /** Fails the caller's read (finish() rejected, or `end` threw). */
  error(err: unknown): void;
}

/**
 * One governed call on its way to the recorder. Every recorder call is guarded; the only thing
 * that reaches the caller is finish()'s rejection (fail-closed store), through `Delivery.error`.
 */
export class Capture {
  #rec: CallRecording | undefined;
  #state = OPEN;
  #responded = false;
  /** Body kept for the caller when a body hook applies (the caller sees it only at the end). */
  readonly buffered: Buffer[] | undefined;
  readonly #interceptIndex: number | null;
  /** The transport's own way to abort this request (undici: onConnect's abort, a controller). */
  #abort: ((err: Error) => void) | undefined;

  constructor(rec: CallRecording | undefined, interceptIndex: number | null) {
    this.#rec = rec;
    this.#interceptIndex = interceptIndex;
    this.buffered = rec !== undefined && bodyHook !== undefined && interceptIndex !== null ? [] : undefined;
  }

  get open(): boolean {
    return this.#state === OPEN;
  }

  /** Remembers how the transport aborts this request (see refuse). */
  onAbort(abort: (err: Error) => void): void {
    this.#abort = abort;
  }

  /**
   * Refuses the call before any byte of it is written (its connection goes elsewhere): nothing
   * answered, so nothing is recorded; the caller gets `err` through the transport's abort.
   * Returns false when the transport gave no abort (the caller must fail the socket instead).
   */
  refuse(err: Error): boolean {
    this.#state = DONE;
    const abort = this.#abort;
    if (abort === undefined) return false;
    abort(err);
    return true;
  }

  /** Who answered: the connection bound to the call (before response()); lazy, guarded. */
  peer(get: () => CallPeer | undefined): void {
    if (this.#rec === undefined || this.#state !== OPEN) return;
    try {
      const peer = get();
      if (peer !== undefined) this.#rec.peer(peer);
    } catch (err) {
      internalError('recorder peer() threw', err);
    }
  }

  response(status: number, headers: () => HeaderMap): void {
    if (this.#rec === undefined || this.#responded || this.#state !== OPEN) return;
    this.#responded = true;
    try {
      this.#rec.response(status, headers());
    } catch (err) {
      internalError('recorder response() threw', err);
    }
  }

  /** Records one wire chunk. Returns true when the caller must NOT get it now (buffered for the hook). */
  chunk(bytes: Uint8Array): boolean {
    if (this.#rec === undefined || this.#state !== OPEN) return false;
    try {
      this.#rec.chunk(bytes);
    } catch (err) {
      internalError('recorder chunk() threw', err);
    }
    if (this.buffered !== undefined) {
      this.buffered.push(Buffer.from(bytes));
      return true;
    }
    return false;
  }

  fail(err: unknown): void {
    if (this.#state !== OPEN) return;
    this.#state = DONE;
    // Refused by provably before anything answered (the connection guard): nothing to record.
    if (!this.#responded && err instanceof ProvablyBlockedError) return;
    const rec = this.#rec;
    if (rec === undefined) return;
    try {
      Promise.resolve(rec.fail(err)).catch((e: unknown) => internalError('recorder fail() rejected', e));
    } catch (e) {
      internalError('recorder fail() threw', e);
    }
  }

  /** Finishes without holding anything back (upgrades: the socket now belongs to the caller). */
  finishDetached(): void {
    if (this.#state !== OPEN) return;
    this.#state = DONE;
    const rec = this.#rec;
    if (rec === undefined) return;
    try {
      Promise.resolve(rec.finish()).catch((e: unknown) =>
        diag.warn('interception: recording an upgraded call failed', e),
      );
    } catch (e) {
      internalError('recorder finish() threw', e);
    }
  }

  /**
   * The body ended on the wire: commit the row, then release end-of-body (and, with a body hook,
   * the hooked body) to the caller; if the commit fails, fail the caller's read with its error.
   */
  release(delivery: Delivery): void {
    if (this.#state !== OPEN || this.#rec === undefined) {
      this.#state = DONE;
      deliverEnd(delivery);
      return;
    }
    this.#state = FINISHING;
    let committed: Promise<void>;
    try {
      committed = Promise.resolve(this.#rec.finish());
    } catch (err) {
      committed = Promise.reject(err);
    }
    committed.then(
      () => {
        this.#state = DONE;
        if (this.buffered !== undefined) {
          try {
            delivery.body(this.#hooked(Buffer.concat(this.buffered)));
          } catch (err) {
            deliverError(delivery, err);
            return;
          }
        }
        deliverEnd(delivery);
      },
      (err: unknown) => {
        this.#state = DONE;
        deliverError(delivery, err);
      },
    );
  }

  #hooked(raw: Buffer): Buffer {
    const hook = bodyHook;
    const index = this.#interceptIndex;
    if (hook === undefined || index === null) return raw;
    let out: unknown;
    try {
      // The hook gets its own copy: if it scribbles on it and then throws, the caller still
      // gets the original bytes.
      out = hook(index, new Uint8Array(raw));
    } catch (err) {
      internalError('the intercept body hook threw; the original body was delivered', err);
      return raw;
    }
    if (out === undefined) return raw;
    if (typeof out === 'string') return Buffer.from(out, 'utf8');
    if (out instanceof Uint8Array) return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    internalError('the intercept body hook returned neither bytes, a string nor undefined', typeof out);
    return raw;
  }
}

function deliverEnd(delivery: Delivery): void {
  try {
    delivery.end();
  } catch (err) {
    // What undici itself does when a handler's completion callback throws.
    deliverError(delivery, err);
  }
}

function deliverError(delivery: Delivery, err: unknown): void {
  try {
    delivery.error(err);
  } catch (e) {
    internalError('delivering an error to the caller threw', e);
  }
}

/** Starts a recording for an allowed call; without a working recorder the call goes out uncaptured. */
export function startCapture(
  scope: ActiveScope,
  orgId: string,
  method: string,
  url: string,
  headers: HeaderMap,
  startedAt: Date,
): Capture {
  let rec: CallRecording | undefined;
  try {
    const recorder = activeRecorder();
    if (recorder === undefined) throw new Error('interception is not installed');
    const callScope: CallScope = {
      orgId,
      agentId: scope.agentId,
      actionName: scope.actionName,
      interceptIndex: scope.interceptIndex,
      traceId: scope.traceId,
      spanId: scope.spanId,
    };
    rec = recorder.start(callScope, { method, url, headers, startedAt });
    counters.recorded++;
  } catch (err) {
    internalError('recorder start() threw; the call went out unrecorded', err);
    rec = undefined;
  }
  return new Capture(rec, scope.interceptIndex);
}

/** Whether a body observed by observePush has ended (set by its end, or by the caller's close). */
export interface BodyState {
  ended: boolean;
}

/**
 * Wraps THAT readable's own `push` (a node:http response, an HTTP/2 stream — never the
 * prototype): every chunk is recorded and passed on live, so backpressure and timing stay the
 * stream's own; end-of-body is held and handed to `hold` as a `release` that lets it through once
 * the row is committed (`fail` fails the caller's read instead).
 */
export function observePush(
  readable: Readable,
  capture: Capture,
  label: string,
  hold: (release: () => void) => void,
  fail: (err: unknown) => void,
): BodyState {
  const push = readable.push;
  const state: BodyState = { ended: false };
  // Between the first end-of-body and its release, a second push(null) must not slip through:
  // Node's http client pushes null again when the socket closes after a complete response
  // (`Connection: close`, `agent: false`, a caller's own createConnection), which would end the
  // caller's read before the row is committed.
  let holding = false;
  readable.push = function observedPush(this: Readable, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) {
      if (holding) return false;
      if (state.ended) return push.call(this, chunk);
      state.ended = true;
      holding = true;
      hold(() =>
        capture.release({
          body: (bytes) => push.call(readable, bytes),
          end: () => {
            holding = false;
            return push.call(readable, null);
          },
          error: (err) => {
            holding = false;
            fail(err);
          },
        }),
      );
      return false;
    }
    if (!state.ended) {
      try {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : (chunk as Uint8Array);
        if (capture.chunk(bytes)) return true; // kept for the body hook; released at the end
      } catch (err) {
        internalError(`recording ${label} body chunk failed`, err);
      }
    }
    return push.call(this, chunk, encoding);
  };
  return state;
}
