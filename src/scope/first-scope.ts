/**
 * "A scope is being entered for the first time in this process": a one-shot signal for work
 * that only a process with scopes should pay for, started early enough to overlap the first
 * scope's own set-up (the runtime prefetches the embedded store's artifacts on it).
 *
 * Raised by the explicit entries (interceptContext, agentRun). Scopes read from span attributes
 * have no entry point of their own: for them the same work starts at the first governed request.
 */
import { diag } from '../diag/index.js';

let listeners: (() => void)[] = [];
let entered = false;

/** Runs `listener` once, at the first scope entry (immediately if one already happened). */
export function onFirstScope(listener: () => void): void {
  if (entered) run(listener);
  else listeners.push(listener);
}

/** Called by the scope entries; only the first call does anything. Never throws. */
export function noteScopeEntered(): void {
  if (entered) return;
  entered = true;
  const pending = listeners;
  listeners = [];
  for (const listener of pending) run(listener);
}

function run(listener: () => void): void {
  try {
    listener();
  } catch (err) {
    // A warm-up must never break entering a scope.
    diag.once('scope.first-scope', 'debug', 'a first-scope listener failed', err);
  }
}
