import type { Recorder, StoredCallSummary } from '../record/types.js';
import type { ActiveScope } from '../scope/types.js';

/**
 * The contract between the transport adapters and the trust registry: the gate is asked once per
 * request and once per redirect hop, before anything is sent. It answers synchronously when its
 * cached trusted set is loaded, and with a promise only while the first load is in flight.
 */
export interface TrustGate {
  /** The registered entry that trusts `url` for `orgId`, or null when untrusted. */
  check(url: string, orgId: string): string | null | Promise<string | null>;
  /**
   * Whether scoped code may open a socket to `host:port` (the host:port of a trusted endpoint of
   * `orgId`). Synchronous once loaded. Optional: without it the connection guard asks `check`
   * about `http://host:port/` and `https://host:port/` (enough for origin-level gates).
   */
  allowsDestination?(host: string, port: number, orgId: string): boolean | Promise<boolean>;
}

/** Where scoped code may connect besides the trusted endpoints (see src/config/egress.ts). */
export interface EgressOptions {
  /** Declared egress proxies, as origins (`http://127.0.0.1:3128`). */
  proxies?: readonly string[];
  /** Unix socket paths scoped code may connect to (absolute). */
  unixSockets?: readonly string[];
}

/** What `installInterception` needs: who decides, who records, and how to find the scope. */
export interface InterceptOptions {
  gate: TrustGate;
  recorder: Recorder;
  /**
   * The provably scope of the code running right now, or undefined outside any scope. Called
   * synchronously on every outbound request (the only work done for unscoped traffic), so it
   * must be cheap and must not throw. The lead wires `activeScope` from src/scope here.
   */
  resolveScope: () => ActiveScope | undefined;
  /** The org whose trusted endpoints govern scoped calls (read per governed call). */
  orgId: () => string;
  /** Which transports to govern; all default to true (`net`: the connection guard). */
  transports?: {
    undici?: boolean;
    http?: boolean;
    http2?: boolean;
    udp?: boolean;
    dns?: boolean;
    net?: boolean;
  };
  /** Declared proxies and allowed unix sockets (validated: ProvablyConfigError). */
  egress?: EgressOptions;
  /** Where governed calls show up in the application's traces (the lead wires src/scope's). */
  traces?: TraceHooks;
}

/**
 * What the adapters tell the tracing side about governed calls (src/scope/trace-events.ts). Every
 * call is guarded by the adapters: a hook that throws is counted as an internal error, never more.
 */
export interface TraceHooks {
  /** A call's row was committed (before end-of-body reaches the caller). */
  recorded(scope: ActiveScope, row: StoredCallSummary): void;
  /** A call in `scope` was refused. */
  blocked(scope: ActiveScope, url: string, reason: string): void;
  /** A record was started for a call in `scope` (the active span may be its HTTP client span). */
  started(scope: ActiveScope, recordId: string): void;
  /** The record is being handed to the next dispatcher layer synchronously; returns the undo token. */
  enterDispatch(recordId: string): unknown;
  exitDispatch(token: unknown): void;
}

/** Counters since install (monotonic for the process; `installInterception` never resets them). */
export interface InterceptStats {
  /** Scoped calls refused because the gate answered "untrusted" (including redirect hops). */
  blocked: number;
  /** Scoped calls refused because the gate threw/rejected (the call failed with that error). */
  gateErrors: number;
  /** Scoped, allowed calls handed to the recorder (`recorder.start` succeeded). */
  recorded: number;
  /** Scoped calls governed by a fallback path (request:create channel, agentless http). */
  fallback: number;
  /** Scoped connections refused by the connection guard (destination not allowed, custom lookup…). */
  connectionsBlocked: number;
  /** Scoped requests refused because the socket carrying them did not go to the URL's origin. */
  peerMismatches: number;
  /** Failures inside provably itself that were caught and logged instead of reaching the host. */
  internalErrors: number;
}

export interface InterceptionHandle {
  /** Restores every patched function and unsubscribes every channel. Idempotent. */
  uninstall(): void;
  /** A snapshot of the counters. */
  stats(): InterceptStats;
}

/**
 * Changes what the CALLER sees as the body of a governed call that runs with an intercept index
 * (`interceptContext({ interceptIndex })`); the recorder always receives the wire bytes. `raw` is
 * the whole body exactly as received (still content-encoded). Return the replacement (a string is
 * sent as UTF-8) or undefined to keep the original. Called once, after the row is committed.
 */
export type InterceptBodyHook = (interceptIndex: number, raw: Uint8Array) => Uint8Array | string | undefined;
