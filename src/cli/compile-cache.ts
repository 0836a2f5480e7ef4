/**
 * The CLI's modules are compiled once, not on every command: Node's on-disk compile cache
 * (`module.enableCompileCache`, Node ≥ 22.1) keeps V8's code cache for them. Measured on 2
 * cores: `provably --help` ~310 → ~260 ms CPU. The directory is Node's choice
 * (NODE_COMPILE_CACHE, else <os.tmpdir()>/node-compile-cache); NODE_DISABLE_COMPILE_CACHE=1
 * turns it off. Only the CLI does this: the preload never enables it, since that would cache
 * (and write files for) the host application's own modules.
 *
 * A cache that cannot be used (unwritable or missing directory, a file in its place) only
 * costs speed: Node reports it as a status, and nothing is printed.
 */
import * as nodeModule from 'node:module';
import { diag } from '../diag/index.js';

/** Enables the compile cache for modules loaded from now on; never throws. */
export function enableCliCompileCache(): void {
  try {
    const result = nodeModule.enableCompileCache?.();
    if (result && result.status === nodeModule.constants?.compileCacheStatus?.FAILED) {
      diag.debug(`compile cache not used: ${result.message ?? 'unknown reason'}`);
    }
  } catch (err) {
    diag.debug('compile cache not used', err);
  }
}
