/**
 * Real (non-mock) implementations of the interception contracts for tests:
 * - SetGate: a TrustGate over a Set of trusted origins, optionally slow (first answers are
 *   promises) or failing;
 * - MemoryRecorder: a Recorder that keeps every finished/failed call in memory, with an optional
 *   delayed or rejecting finish();
 * - scopes from a test AsyncLocalStorage (the adapters only see `resolveScope`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ProvablyStoreError } from '../../src/errors/index.js';
import type { TrustGate } from '../../src/intercept/types.js';
import type {
  CallPeer,
  CallRecording,
  CallRequest,
  CallScope,
  HeaderMap,
  Recorder,
} from '../../src/record/types.js';
import type { ActiveScope } from '../../src/scope/types.js';

export const ORG = 'org-test';

const storage = new AsyncLocalStorage<ActiveScope>();

export const resolveScope = (): ActiveScope | undefined => storage.getStore();

export function makeScope(overrides: Partial<ActiveScope> = {}): ActiveScope {
  return {
    agentId: 'agent-1',
    actionName: 'action-1',
    interceptIndex: null,
    traceId: null,
    spanId: null,
    ...overrides,
  };
}

/** Runs `fn` inside a provably scope (the default test scope unless one is given). */
export function inScope<T>(fn: () => T, scope: ActiveScope = makeScope()): T {
  return storage.run(scope, fn);
}

export class SetGate implements TrustGate {
  readonly trusted = new Set<string>();
  readonly asked: Array<{ url: string; orgId: string }> = [];
  /** How many of the next answers come back as promises (first-load behaviour). */
  pendingAnswers = 0;
  /** When set, check() throws it (sync) or rejects with it (while pendingAnswers > 0). */
  failWith: unknown = undefined;

  trust(...origins: string[]): this {
    for (const o of origins) this.trusted.add(new URL(o).origin);
    return this;
  }

  /** Destinations: the host:port of every trusted origin (what the trust cache derives). */
  allowsDestination(host: string, port: number, orgId: string): boolean | Promise<boolean> {
    if (orgId !== ORG || this.failWith !== undefined) return false;
    for (const o of this.trusted) {
      const u = new URL(o);
      const h = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      const p = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
      if (h === host && p === port) return true;
    }
    return false;
  }

  check(url: string, orgId: string): string | null | Promise<string | null> {
    this.asked.push({ url, orgId });
    const answer = (): string | null => {
      if (this.failWith !== undefined) throw this.failWith;
      const origin = new URL(url).origin;
      return orgId === ORG && this.trusted.has(origin) ? origin : null;
    };
    if (this.pendingAnswers > 0) {
      this.pendingAnswers--;
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          try {
            resolve(answer());
          } catch (err) {
            reject(err);
          }
        }, 20);
      });
    }
    return answer();
  }
}

export interface RecordedCall {
  scope: CallScope;
  request: CallRequest;
  /** The connection the adapter bound to the call (CallRecording.peer). */
  peer: CallPeer | undefined;
  status: number | undefined;
  headers: HeaderMap | undefined;
  chunks: Buffer[];
  body: Buffer;
  error: unknown;
  /** True once finish()/fail() has completed ("the row is committed"). */
  committed: boolean;
}

export class MemoryRecorder implements Recorder {
  /** Every call started, in start order (including ones still in flight). */
  readonly started: RecordedCall[] = [];
  /** Calls whose finish()/fail() completed, in completion order. */
  readonly calls: RecordedCall[] = [];
  /** Awaited inside finish() before it resolves (lets a test hold the "commit"). */
  finishDelay: (() => Promise<void>) | undefined;
  /** finish() rejects with this after the delay (fail-closed store). */
  finishError: unknown = undefined;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  start(scope: CallScope, request: CallRequest): CallRecording {
    const call: RecordedCall = {
      scope,
      request,
      peer: undefined,
      status: undefined,
      headers: undefined,
      chunks: [],
      body: Buffer.alloc(0),
      error: undefined,
      committed: false,
    };
    this.started.push(call);
    const done = () => {
      call.body = Buffer.concat(call.chunks);
      call.committed = true;
      this.calls.push(call);
      this.waiters = this.waiters.filter((w) => {
        if (this.calls.length >= w.n) w.resolve();
        return this.calls.length < w.n;
      });
    };
    return {
      peer: (peer) => {
        call.peer = peer;
      },
      response: (status, headers) => {
        call.status = status;
        call.headers = headers;
      },
      // The contract: chunk() copies what it keeps (the caller may reuse the buffer).
      chunk: (bytes) => {
        call.chunks.push(Buffer.from(bytes));
      },
      finish: async () => {
        if (this.finishDelay) await this.finishDelay();
        if (this.finishError !== undefined) {
          call.error = this.finishError;
          done();
          throw this.finishError;
        }
        done();
      },
      fail: async (error) => {
        call.error = error;
        done();
      },
    };
  }

  /**
   * Holds commits: `finishing` resolves when a call's finish() starts (its whole body is on the
   * caller's side of the wire), and that finish() completes only when `commit()` is called.
   */
  holdCommit(): { finishing: Promise<void>; commit(): void } {
    let finishCalled!: () => void;
    const finishing = new Promise<void>((r) => {
      finishCalled = r;
    });
    let release: (() => void) | undefined;
    this.finishDelay = () => {
      finishCalled();
      return new Promise<void>((r) => {
        release = r;
      });
    };
    const commit = () => {
      if (release === undefined) throw new Error('holdCommit: no finish() is waiting to be committed');
      release();
    };
    return { finishing, commit };
  }

  /** Resolves once `n` calls have completed. */
  waitFor(n: number): Promise<void> {
    if (this.calls.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  reset(): void {
    this.started.length = 0;
    this.calls.length = 0;
    this.finishDelay = undefined;
    this.finishError = undefined;
  }
}

export function storeError(): ProvablyStoreError {
  return new ProvablyStoreError('intercepts.insert', 'connection-refused', 'test store is down');
}

/** A small async pause made of timers (used to hold a commit, never as a pass/fail threshold). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function header(headers: HeaderMap | undefined, name: string): string | readonly string[] | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}
