/**
 * What every command shares: the store (opened on first use, closed when the command ends so
 * the embedded data dir's lock is released), where output goes, and uniform failure handling.
 */
import { closeDefaultStore, getDefaultStore, type Store } from '../store/index.js';
import {
  type CliStreams,
  createOutput,
  describeFailure,
  exitCodeFor,
  type Output,
  processStreams,
} from './output.js';

export interface CommandContext {
  run(json: boolean | undefined, body: (out: Output, store: Store) => Promise<void>): Promise<void>;
  setExitCode(code: number): void;
  /** The exit code set so far (0 when nothing failed). */
  readonly exitCode: number;
  readonly streams: CliStreams;
}

export interface CommandContextOptions {
  /** A store to use instead of the configured default (the caller keeps and closes it). */
  store?: Store;
  streams?: CliStreams;
}

export function createCommandContext(options: CommandContextOptions = {}): CommandContext {
  const streams = options.streams ?? processStreams;
  let exitCode = 0;
  return {
    async run(json, body) {
      const out = createOutput(json === true, streams);
      try {
        await body(out, options.store ?? getDefaultStore());
      } catch (err) {
        streams.stderr(`provably: ${describeFailure(err)}\n`);
        exitCode = exitCodeFor(err);
      } finally {
        if (options.store === undefined) await closeDefaultStore().catch(() => {});
      }
    },
    setExitCode(code) {
      exitCode = code;
    },
    get exitCode() {
      return exitCode;
    },
    streams,
  };
}
