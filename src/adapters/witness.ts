/**
 * Blocks made during one tool call, even when the framework swallowed the error.
 *
 * @openai/agents catches a tool's error and hands the model a fixed text, so the adapter never
 * sees the refusal in what the tool returns. provably's block errors note themselves, as they are
 * made, to the AsyncLocalStorage installed at this global symbol (src/errors); a tool call run
 * inside `witnessBlocks` collects the ones made in its async context. Symbol.for shares one
 * storage between the ESM preload and a CommonJS copy of provably in the same process.
 */
import { sharedStorage } from './shared.js';

/** Where src/errors looks for the list of the current governed call (ProvablyError's constructor). */
const witness = sharedStorage<Error[]>(Symbol.for('provably.block-witness.v1'));

/** Runs `fn`, collecting into `seen` the block errors made in its async context. */
export function witnessBlocks<T>(seen: Error[], fn: () => T): T {
  return witness.run(seen, fn);
}
