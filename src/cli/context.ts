/**
 * What every command shares: the store (opened on first use, closed when the command ends so
 * the embedded data dir's lock is released) and uniform failure handling.
 */
import { closeDefaultStore, getDefaultStore, type Store } from '../store/index.js';
import { createOutput, describeFailure, exitCodeFor, type Output } from './output.js';

export interface CommandContext {
  run(json: boolean | undefined, body: (out: Output, store: Store) => Promise<void>): Promise<void>;
  setExitCode(code: number): void;
}

export function createCommandContext(): CommandContext {
  return {
    async run(json, body) {
      const out = createOutput(json === true);
      try {
        await body(out, getDefaultStore());
      } catch (err) {
        process.stderr.write(`provably: ${describeFailure(err)}\n`);
        process.exitCode = exitCodeFor(err);
      } finally {
        await closeDefaultStore().catch(() => {});
      }
    },
    setExitCode(code) {
      process.exitCode = code;
    },
  };
}
