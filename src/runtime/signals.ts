/**
 * Checkpoints on SIGINT / SIGTERM: an agent stopped by Ctrl-C, `kill`, a container stop or a
 * supervisor still gets its committed rows checkpointed before it goes — bounded by
 * PROVABLY_SHUTDOWN_TIMEOUT_MS, so a store that is down never holds the exit.
 *
 * The signal listener is the process's one shared provably listener (src/exit: it re-raises the
 * signal when it is the only one, and also waits for guarded calls' outcome events). Installed
 * with the pipeline (the first governed call): a process that never governs a call is not
 * touched.
 */
import { flushAtExit } from '../exit/index.js';

export function checkpointOnSignals(flush: () => Promise<void>, timeoutMs: number): () => void {
  return flushAtExit({ what: 'rows and checkpoint', flush, timeoutMs });
}
