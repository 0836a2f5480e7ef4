/**
 * Transport interception: polices and records every outbound HTTP call made inside a provably
 * scope — global fetch, the undici package (7.x, 8.x), node:http/https (axios, got,
 * node-fetch, …) and node:http2 (gRPC) — and leaves everything outside a scope alone (one scope check per request).
 *
 *   const handle = installInterception({ gate, recorder, resolveScope: activeScope, orgId });
 *   …
 *   handle.uninstall();
 *
 * See core.ts for the shared rules, capture.ts for how a governed call reaches the recorder,
 * undici.ts and http.ts for how each transport is hooked.
 */
import { ProvablyConfigError } from '../errors/index.js';
import { setBodyHook } from './capture.js';
import { installConnectGuard } from './connect-guard.js';
import { configure, counters } from './core.js';
import { configureEgress } from './destinations.js';
import { installDgram } from './dgram.js';
import { installDns } from './dns.js';
import { installHttp } from './http.js';
import { installHttp2 } from './http2.js';
import type { InterceptBodyHook, InterceptionHandle, InterceptOptions, InterceptStats } from './types.js';
import { installUndici } from './undici.js';

export {
  allowedDestination,
  allowedUnixSocket,
  type DestinationVerdict,
  destinationOf,
  type SocketDestination,
} from './destinations.js';
export type {
  EgressOptions,
  InterceptBodyHook,
  InterceptionHandle,
  InterceptOptions,
  InterceptStats,
  TraceHooks,
  TrustGate,
} from './types.js';

let active: { handle: InterceptionHandle; undo: Array<() => void> } | undefined;

function stats(): InterceptStats {
  return { ...counters };
}

/**
 * Installs the adapters (once per process). Calling it again while installed keeps the patches
 * and only replaces the gate, recorder, scope resolver and org (the transports chosen by the
 * first call stay); every returned handle uninstalls the same installation.
 */
export function installInterception(options: InterceptOptions): InterceptionHandle {
  check(options);
  configureEgress(options.egress); // throws ProvablyConfigError before anything is installed
  configure(options);
  if (active !== undefined) return active.handle;
  const undo: Array<() => void> = [];
  const handle: InterceptionHandle = {
    uninstall() {
      if (active?.handle !== handle) return;
      for (const step of active.undo.reverse()) step();
      active = undefined;
      configure(undefined);
      configureEgress(undefined);
    },
    stats,
  };
  active = { handle, undo };
  if (options.transports?.net !== false) undo.push(installConnectGuard());
  if (options.transports?.undici !== false) undo.push(installUndici());
  if (options.transports?.http !== false) undo.push(installHttp());
  if (options.transports?.http2 !== false) undo.push(installHttp2());
  if (options.transports?.udp !== false) undo.push(installDgram());
  if (options.transports?.dns !== false) undo.push(installDns());
  return handle;
}

/** Counters of the current process (also available on the install handle). */
export function interceptionStats(): InterceptStats {
  return stats();
}

/**
 * Sets (or clears, with undefined) the hook that may replace what the caller sees as the body of
 * governed calls made with an intercept index. The recorder always gets the wire bytes. While a
 * hook is set, such bodies are buffered and handed to the caller only at the end.
 */
export function setInterceptBodyHook(hook: InterceptBodyHook | undefined): void {
  if (hook !== undefined && typeof hook !== 'function') {
    throw new ProvablyConfigError('setInterceptBodyHook', 'the hook must be a function or undefined');
  }
  setBodyHook(hook);
}

function check(options: InterceptOptions): void {
  const problems: string[] = [];
  if (typeof options?.gate?.check !== 'function') problems.push('gate.check must be a function');
  if (typeof options?.recorder?.start !== 'function') problems.push('recorder.start must be a function');
  if (typeof options?.resolveScope !== 'function') problems.push('resolveScope must be a function');
  if (typeof options?.orgId !== 'function') problems.push('orgId must be a function');
  if (problems.length > 0) throw new ProvablyConfigError('installInterception', problems.join('; '));
}
