/**
 * inherit — governance that follows the work: worker threads and child processes started inside
 * a provably scope run inside it too (same agent and action, a child span of the same trace),
 * with the preload; non-Node executables are refused there unless allowed.
 *
 *   installInheritance({ resolveScope, childExecutables })   // at preload (runtime/start.ts)
 *   adoptInheritedScope(env)                                  // at preload, before the app runs
 *
 * Depends on scope (reads the active scope, sets the process scope), config and errors only.
 */
import { getEnvironmentData, isMainThread } from 'node:worker_threads';
import type { ChildExecutablesPolicy } from '../config/child-executables.js';
import type { Env } from '../config/index.js';
import { type ActiveScope, setProcessScope } from '../scope/index.js';
import { carrierFromData, carrierFromEnv, SCOPE_DATA_KEY, scopeOfCarrier } from './carrier.js';
import { installChildGovernance } from './child.js';
import { installWorkerGovernance } from './worker.js';

export { carrierFromEnv, SCOPE_DATA_KEY, SCOPE_ENV, type ScopeCarrier } from './carrier.js';

export interface InheritanceOptions {
  /** The scope a new worker or child is created in (undefined: outside any scope). */
  resolveScope(): ActiveScope | undefined;
  /** Which non-Node executables may start inside a scope (read at each spawn). */
  childExecutables(): ChildExecutablesPolicy;
}

const INSTALLED = Symbol.for('provably.inherit.installed.v1');

/** Patches worker_threads and child_process (once per thread); returns the undo. */
export function installInheritance(options: InheritanceOptions): () => void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[INSTALLED] === true) return () => {};
  g[INSTALLED] = true;
  const undoWorkers = installWorkerGovernance({ resolveScope: options.resolveScope });
  const undoChildren = installChildGovernance({
    resolveScope: options.resolveScope,
    policy: options.childExecutables,
  });
  return () => {
    undoChildren();
    undoWorkers();
    g[INSTALLED] = false;
  };
}

/**
 * Makes the scope this thread/process was started in (by a scoped parent) its process scope:
 * a worker's environment data, else PROVABLY_SCOPE_* / TRACEPARENT in the environment. Returns
 * it, or undefined when there is none. Throws ProvablyConfigError for a malformed scope in the
 * environment (a governed child must not run ungoverned because of a typo).
 */
export function adoptInheritedScope(env: Env): ActiveScope | undefined {
  const fromParent = isMainThread ? undefined : carrierFromData(getEnvironmentData(SCOPE_DATA_KEY));
  const carrier = fromParent ?? carrierFromEnv(env);
  if (carrier === undefined) return undefined;
  const scope = scopeOfCarrier(carrier);
  setProcessScope(scope);
  return scope;
}
