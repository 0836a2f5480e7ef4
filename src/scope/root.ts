/**
 * The process scope: a scope that covers a whole thread or process because its creator was in
 * one. A worker thread created inside a scope, or a Node child process spawned inside one,
 * starts with the parent's scope as its process scope (src/inherit sets it at preload, before
 * the app's first module runs). activeScope() falls back to it wherever no scope is found in
 * the context; a selfEgress frame still leaves it (provably's own I/O), and an interceptContext
 * inside the process still opens its own, nested scope.
 *
 * Kept in a global slot: the ESM preload and a CommonJS `require('provably')` are separate
 * module copies and must see the same process scope.
 */
import type { ActiveScope } from './types.js';

const SLOT = Symbol.for('provably.scope.process.v1');
type Bag = Record<symbol, ActiveScope | undefined>;

/** Sets (or, with undefined, clears) the scope this whole thread/process runs in. */
export function setProcessScope(scope: ActiveScope | undefined): void {
  (globalThis as unknown as Bag)[SLOT] = scope === undefined ? undefined : Object.freeze({ ...scope });
}

/** The scope this whole thread/process runs in, if it inherited one. */
export function processScope(): ActiveScope | undefined {
  return (globalThis as unknown as Bag)[SLOT];
}
