/**
 * Runtime controls, at parity with the Python SDK. They act on the process-wide controller, so
 * they work from the ESM and the CommonJS build alike and may be called before the preload's
 * interception starts (the settings are carried over).
 */
import { ProvablyConfigError } from '../errors/index.js';
import type { InterceptBodyHook } from '../intercept/index.js';
// The matcher module itself, not the trust face: the face also carries the registry and its
// store, which the preload must not load before the first governed call.
import { createTrustMatcher } from '../trust/matcher.js';
import { controller, type ProvablyStatus } from './controller.js';

/** Turns governance back on (the default, unless PROVABLY_ENABLED=0). */
export function enable(): void {
  controller().enabled = true;
}

/**
 * Turns governance off while the patches stay installed: every call then passes through
 * untouched — no trust check, no record — as if no scope were active.
 */
export function disable(): void {
  controller().enabled = false;
}

export function isEnabled(): boolean {
  return controller().enabled;
}

/**
 * Replaces what the CALLER sees as the body of governed calls made with an intercept index
 * (`interceptContext({ interceptIndex })`), e.g. to simulate a lying tool in a test. The stored
 * row always holds the wire response. A hook that throws is logged once and the original body is
 * delivered. Pass undefined to remove it.
 */
export function setInterceptBodyHook(hook: InterceptBodyHook | undefined): void {
  if (hook !== undefined && typeof hook !== 'function') {
    throw new ProvablyConfigError('setInterceptBodyHook', 'the hook must be a function or undefined');
  }
  const c = controller();
  c.bodyHook = hook;
  c.applyBodyHook();
}

/**
 * Narrows which governed calls are RECORDED to those whose URL matches one of `urls` (the same
 * URLs and templates, and the same matching rules, as trusted endpoints); pass null to record
 * every governed call again. Calls outside the list are still checked against the trusted
 * endpoints and blocked when untrusted — the allowlist never widens what may be reached.
 * Throws ProvablyUrlError for an invalid entry.
 */
export function setInterceptUrlAllowlist(urls: readonly string[] | null): void {
  if (urls !== null && !Array.isArray(urls)) {
    throw new ProvablyConfigError('setInterceptUrlAllowlist', 'expected an array of URLs or null');
  }
  controller().recordAllowlist = urls === null ? null : createTrustMatcher(urls);
}

/** Counters of this process: blocked and recorded calls, store errors, dropped rows. */
export function provablyStatus(): ProvablyStatus {
  return controller().status();
}
