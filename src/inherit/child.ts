/**
 * child_process inside a scope. Outside a scope nothing is touched (one scope check per spawn).
 *
 * - Node children (spawn/exec of the node binary, fork) get the preload and the scope through
 *   their environment (child-env.ts).
 * - Other executables, shells included (`exec`, `shell: true`), are refused with
 *   ProvablyBlockedError unless PROVABLY_CHILD_EXECUTABLES allows them; an allowed one gets the
 *   same environment (a Node program it starts in turn is governed), its own traffic is not.
 *
 * Where: every asynchronous form (spawn, exec, execFile, fork) ends in
 * ChildProcess.prototype.spawn with the normalized file/args/envPairs, so one patch covers them.
 * A refusal takes Node's own path for a spawn that fails with EMFILE (no process, no stdio
 * streams, 'error' then 'close' on the next ticks, exec/execFile callbacks get the error); only
 * the error object is ours. The synchronous forms call an internal binding, so spawnSync,
 * execSync and execFileSync are wrapped on the module (and synced to ESM named imports):
 * spawnSync returns `{ error }` like any failed spawn, the other two throw; the binding they end
 * in is checked too (installSyncBackstop).
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { constants } from 'node:os';
import type { ChildExecutablesPolicy } from '../config/child-executables.js';
import { diag } from '../diag/index.js';
import { ProvablyBlockedError } from '../errors/index.js';
import type { ActiveScope } from '../scope/index.js';
import { carrierOf } from './carrier.js';
import { envToPairs, governChildEnv, pairsToEnv } from './child-env.js';
import { isAllowedExecutable, resolveExecutable } from './executable.js';
import { registerFiles } from './register-url.js';

export interface ChildGovernance {
  resolveScope(): ActiveScope | undefined;
  policy(): ChildExecutablesPolicy;
}

type Env = Record<string, string | undefined>;
type Decision =
  | { kind: 'pass' }
  | { kind: 'govern'; env: Env }
  | { kind: 'refuse'; error: ProvablyBlockedError };

const UV_EMFILE = -constants.errno.EMFILE;

/**
 * What to do with a child about to start. Never throws: an internal failure inside a scope is a
 * refusal (fail closed), outside a scope a pass.
 */
export function decide(gov: ChildGovernance, file: string, env: Env, cwd: string | undefined): Decision {
  let scope: ActiveScope | undefined;
  try {
    scope = gov.resolveScope();
    if (scope === undefined) return { kind: 'pass' };
    const exe = resolveExecutable(file, env.PATH, cwd);
    if (!exe.isNode && !isAllowedExecutable(exe, gov.policy())) {
      return {
        kind: 'refuse',
        error: new ProvablyBlockedError(file, scope.agentId, scope.actionName, {
          detail:
            'a non-Node executable started inside a provably scope (its network traffic could not be ' +
            'governed); allow it with PROVABLY_CHILD_EXECUTABLES',
        }),
      };
    }
    const files = registerFiles();
    if (files === null) {
      return {
        kind: 'refuse',
        error: new ProvablyBlockedError(file, scope.agentId, scope.actionName, {
          detail:
            "a child process inside a provably scope, and provably's preload file was not found to pass on",
        }),
      };
    }
    const next = { ...env };
    governChildEnv(next, carrierOf(scope), files);
    return { kind: 'govern', env: next };
  } catch (err) {
    diag.once('inherit.child', 'error', 'deciding on a child process failed', err);
    if (scope === undefined) return { kind: 'pass' };
    return {
      kind: 'refuse',
      error: new ProvablyBlockedError(file, scope.agentId, scope.actionName, {
        detail: 'a child process inside a provably scope could not be checked',
        cause: err,
      }),
    };
  }
}

interface SpawnOptions {
  file: string;
  envPairs?: string[];
  cwd?: string;
  stdio?: Array<{ type?: string; handle?: { close?: () => void } }>;
}

interface ChildInternals {
  _handle: { spawn(options: unknown): number } | null;
  emit(name: string | symbol, ...args: unknown[]): boolean;
}

export function installChildGovernance(gov: ChildGovernance): () => void {
  const proto = childProcess.ChildProcess.prototype as unknown as { spawn(options: SpawnOptions): unknown };
  const originalSpawn = proto.spawn;
  proto.spawn = function governedSpawn(this: ChildInternals, options: SpawnOptions) {
    if (options === null || typeof options !== 'object' || typeof options.file !== 'string') {
      return originalSpawn.call(this, options); // Node validates and throws its own error.
    }
    const pairs = Array.isArray(options.envPairs) ? options.envPairs : envToPairs(process.env);
    const d = decide(gov, options.file, pairsToEnv(pairs), options.cwd);
    if (d.kind === 'govern') return originalSpawn.call(this, { ...options, envPairs: envToPairs(d.env) });
    if (d.kind === 'pass') return originalSpawn.call(this, options);
    return refuseAsync(this, originalSpawn, options, d.error);
  };

  const mod = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originals = {
    spawnSync: mod.spawnSync,
    execSync: mod.execSync,
    execFileSync: mod.execFileSync,
  } as Record<string, (...args: unknown[]) => unknown>;
  mod.spawnSync = wrapSync(gov, originals.spawnSync as (...a: unknown[]) => unknown, 'file', 'return');
  mod.execSync = wrapSync(gov, originals.execSync as (...a: unknown[]) => unknown, 'command', 'throw');
  mod.execFileSync = wrapSync(gov, originals.execFileSync as (...a: unknown[]) => unknown, 'file', 'throw');
  syncBuiltinESMExports();
  const undoBackstop = installSyncBackstop(gov);
  return () => {
    undoBackstop();
    proto.spawn = originalSpawn;
    Object.assign(mod, originals);
    syncBuiltinESMExports();
  };
}

/**
 * The synchronous forms end in the `spawn_sync` binding, which Node looks up at every call: a
 * check there also covers sync functions captured before the preload ran (and direct binding
 * use). Refusals there can only take Node's errno path (`spawnSync <file> EACCES`); the module
 * wrappers above give the ProvablyBlockedError first in every ordinary case.
 */
function installSyncBackstop(gov: ChildGovernance): () => void {
  let binding: { spawn?: (options: SpawnOptions) => unknown } | undefined;
  const quiet = process.noDeprecation;
  try {
    // process.binding is deprecated (documentation/pending only): keep --pending-deprecation quiet.
    process.noDeprecation = true;
    binding = (process as unknown as { binding(name: string): typeof binding }).binding('spawn_sync');
  } catch {
    binding = undefined;
  } finally {
    process.noDeprecation = quiet;
  }
  const original = binding?.spawn;
  if (binding === undefined || typeof original !== 'function') {
    diag.once(
      'inherit.sync-backstop',
      'debug',
      'spawn_sync binding not reachable: sync forms checked at the module only',
    );
    return () => {};
  }
  const target = binding;
  target.spawn = function governedSpawnSync(this: unknown, options: SpawnOptions) {
    if (options === null || typeof options !== 'object' || typeof options.file !== 'string') {
      return original.call(this, options);
    }
    const pairs = Array.isArray(options.envPairs) ? options.envPairs : envToPairs(process.env);
    const d = decide(gov, options.file, pairsToEnv(pairs), options.cwd);
    if (d.kind === 'pass') return original.call(this, options);
    if (d.kind === 'govern') return original.call(this, { ...options, envPairs: envToPairs(d.env) });
    return { pid: 0, output: null, status: null, signal: null, error: -constants.errno.EACCES };
  };
  return () => {
    target.spawn = original;
  };
}

function refuseAsync(
  child: ChildInternals,
  originalSpawn: (options: SpawnOptions) => unknown,
  options: SpawnOptions,
  error: ProvablyBlockedError,
): unknown {
  const handle = child._handle;
  if (handle === null) return originalSpawn.call(child, options);
  handle.spawn = () => UV_EMFILE;
  const emit = child.emit;
  child.emit = function (this: ChildInternals, name: string | symbol, ...args: unknown[]) {
    if (name === 'error' && (args[0] as { errno?: unknown } | undefined)?.errno === UV_EMFILE) {
      child.emit = emit;
      return emit.call(this, name, error);
    }
    return emit.call(this, name, ...args);
  };
  const result = originalSpawn.call(child, options);
  // The stdio pipes Node prepared are never connected to a process: close them.
  for (const s of options.stdio ?? []) {
    if (s?.type === 'pipe') {
      try {
        s.handle?.close?.();
      } catch {
        // Already closed.
      }
    }
  }
  return result;
}

/**
 * Wraps a synchronous form. `first` says what its first argument is: an executable (spawnSync,
 * execFileSync) or a shell command line (execSync, always run by a shell).
 */
function wrapSync(
  gov: ChildGovernance,
  original: (...args: unknown[]) => unknown,
  first: 'file' | 'command',
  refusal: 'return' | 'throw',
): (...args: unknown[]) => unknown {
  return function governedSync(this: unknown, ...args: unknown[]) {
    const [head, second, third] = args;
    void third;
    if (typeof head !== 'string') return original.apply(this, args);
    // spawnSync/execFileSync(file, args?, options?): options sit after args when args are given
    // (or passed as undefined/null).
    const argsGiven =
      Array.isArray(second) || ((second === undefined || second === null) && third !== undefined);
    const optionsIndex = first === 'command' || !argsGiven ? 1 : 2;
    const raw = args[optionsIndex];
    const options = (raw !== null && typeof raw === 'object' ? raw : {}) as {
      env?: Env;
      cwd?: string | URL;
      shell?: unknown;
    };
    const shell = first === 'command' || options.shell ? shellOf(options.shell) : undefined;
    const file = shell ?? head;
    const env = { ...(options.env ?? process.env) };
    const cwd =
      options.cwd === undefined
        ? undefined
        : String(options.cwd instanceof URL ? options.cwd.pathname : options.cwd);
    const d = decide(gov, file, env, cwd);
    if (d.kind === 'pass') return original.apply(this, args);
    if (d.kind === 'refuse') {
      if (refusal === 'throw') throw d.error;
      return { pid: 0, output: null, stdout: null, stderr: null, status: null, signal: null, error: d.error };
    }
    const next = [...args];
    while (next.length < optionsIndex) next.push(undefined);
    next[optionsIndex] = { ...options, env: d.env };
    return original.apply(this, next);
  };
}

/** The shell a `shell` option selects (Node: a string names it, true means /bin/sh). */
function shellOf(shell: unknown): string {
  if (typeof shell === 'string' && shell !== '') return shell;
  return process.platform === 'win32' ? (process.env.ComSpec ?? 'cmd.exe') : '/bin/sh';
}
