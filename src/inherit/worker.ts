/**
 * worker_threads inside a scope. A Worker created inside a scope gets:
 * - the preload: `--import <provably's register.js>` added to its execArgv when missing (file
 *   workers), or, for `eval: true` workers (which never run --import preloads), a first
 *   statement that synchronously requires provably's CommonJS preload before the code;
 * - the scope: in the worker's environment data (carrier.ts), which the preload turns into the
 *   worker's process scope before the worker's own code runs;
 * - the parent's provably settings when the worker is given its own `env` object.
 * Outside a scope nothing is touched. (Inside a worker or child that inherited a scope, every
 * new worker is inside that scope.)
 *
 * `Worker` is replaced by a subclass on the module (and synced to ESM named imports), so
 * `instanceof Worker` keeps working; code that captured the original class before the preload
 * ran is not covered (the preload runs before the app).
 */
import { syncBuiltinESMExports } from 'node:module';
import workerThreads, { type WorkerOptions } from 'node:worker_threads';
import { diag } from '../diag/index.js';
import { ProvablyBlockedError } from '../errors/index.js';
import type { ActiveScope } from '../scope/index.js';
import { carrierOf, SCOPE_DATA_KEY } from './carrier.js';
import { loadsPreload, type RegisterFiles, registerFiles } from './register-url.js';

export interface WorkerGovernance {
  resolveScope(): ActiveScope | undefined;
}

type WorkerCtor = typeof workerThreads.Worker;

export function installWorkerGovernance(gov: WorkerGovernance): () => void {
  const Original: WorkerCtor = workerThreads.Worker;
  class Worker extends Original {
    constructor(filename: string | URL, options?: WorkerOptions) {
      const scope = scopeOf(gov);
      if (scope === undefined) {
        super(filename, options);
        return;
      }
      const files = registerFiles();
      if (files === null) {
        throw new ProvablyBlockedError(
          `worker:${String(filename).slice(0, 100)}`,
          scope.agentId,
          scope.actionName,
          {
            detail:
              "a worker thread inside a provably scope, and provably's preload file was not found to pass on",
          },
        );
      }
      const [file, next] = governed(filename, options ?? {}, files);
      const previous = workerThreads.getEnvironmentData(SCOPE_DATA_KEY);
      workerThreads.setEnvironmentData(
        SCOPE_DATA_KEY,
        carrierOf(scope) as unknown as workerThreads.Serializable,
      );
      try {
        super(file, next);
      } finally {
        workerThreads.setEnvironmentData(SCOPE_DATA_KEY, previous as workerThreads.Serializable);
      }
    }
  }
  Object.defineProperty(Worker, 'name', { value: 'Worker' });
  (workerThreads as { Worker: WorkerCtor }).Worker = Worker;
  syncBuiltinESMExports();
  return () => {
    (workerThreads as { Worker: WorkerCtor }).Worker = Original;
    syncBuiltinESMExports();
  };
}

function scopeOf(gov: WorkerGovernance): ActiveScope | undefined {
  try {
    return gov.resolveScope();
  } catch (err) {
    diag.once('inherit.worker', 'error', 'resolving the scope of a new worker failed', err);
    return undefined;
  }
}

function governed(
  filename: string | URL,
  options: WorkerOptions,
  files: RegisterFiles,
): [string | URL, WorkerOptions] {
  const next: WorkerOptions = { ...options };
  if (
    options.env !== undefined &&
    options.env !== workerThreads.SHARE_ENV &&
    typeof options.env === 'object'
  ) {
    const env = { ...(options.env as Record<string, string | undefined>) };
    for (const [name, value] of Object.entries(process.env)) {
      if ((name.startsWith('PROVABLY_') || name === 'POSTGRES_URL') && env[name] === undefined)
        env[name] = value;
    }
    // These would switch governance off inside the worker.
    delete env.PROVABLY_DISABLED;
    delete env.PROVABLY_ENABLED;
    next.env = env;
  }
  // File workers and ESM eval workers (which go through the module loader) run --import preloads.
  const execArgv = options.execArgv ?? process.execArgv;
  if (!loadsPreload(execArgv, files)) next.execArgv = [...execArgv, `--import=${files.esmUrl}`];
  if (options.eval === true && typeof filename === 'string') {
    // A CommonJS eval worker runs no --import preload: the preload becomes its first statement
    // (CommonJS, synchronous, so it has run before anything else in the code), on the same line
    // so the code's line numbers do not move, after a leading "use strict" so that still counts.
    const req = JSON.stringify(files.cjsPath);
    const load = `process.getBuiltinModule("node:module").createRequire(${req})(${req});`;
    const directive = /^\s*(['"])use strict\1;?/.exec(filename)?.[0] ?? '';
    return [`${directive}${load}${filename.slice(directive.length)}`, next];
  }
  return [filename, next];
}
