/**
 * Checkpoints on SIGINT / SIGTERM: an agent stopped by Ctrl-C, `kill`, a container stop or a
 * supervisor still gets its committed rows checkpointed before it goes — bounded by
 * PROVABLY_SHUTDOWN_TIMEOUT_MS, so a store that is down never holds the exit.
 *
 * A listener on these signals replaces Node's default "terminate", so when provably's is the
 * only one it removes itself after the flush and re-raises the signal: the process still ends
 * the way it would have without provably (killed by that signal, for the parent to see). When
 * the application has its own listener, that listener decides when to exit; provably only
 * flushes alongside it. Installed with the pipeline (the first governed call): a process that
 * never governs a call is not touched.
 */
import { diag } from '../diag/index.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function checkpointOnSignals(flush: () => Promise<void>, timeoutMs: number): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    const alone = process.listenerCount(signal) === 1;
    // A second signal while flushing then terminates at once, as usual.
    if (alone) uninstall();
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      // Ref'd on purpose: the process must stay up to re-raise the signal when it is done.
      timer = setTimeout(() => {
        diag.warn(`${signal}: rows and checkpoint not flushed within ${timeoutMs} ms; exiting anyway`);
        resolve();
      }, timeoutMs);
    });
    const flushed = flush().catch((err: unknown) => diag.warn(`${signal}: flushing before exit failed`, err));
    void Promise.race([flushed, bounded]).finally(() => {
      clearTimeout(timer);
      if (alone) process.kill(process.pid, signal);
    });
  };
  const uninstall = () => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return uninstall;
}
