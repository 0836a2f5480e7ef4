/** What the long-running commands (`serve`, `gateway`) share: how they stop. */
import { closeDefaultStore } from '../store/index.js';

/**
 * On SIGINT or SIGTERM: close `parts` in order (the checkpoint signer before the server, so its
 * last checkpoint still finds the store), then the default store, then exit 0.
 */
export function stopOnSignals(...parts: ({ close(): unknown } | undefined)[]): void {
  const stop = () => {
    let done: Promise<unknown> = Promise.resolve();
    for (const part of parts) done = done.then(() => part?.close());
    done.then(() => closeDefaultStore()).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
