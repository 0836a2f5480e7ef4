/**
 * exit — provably's writes still in flight when the host process is asked to go: rows and
 * checkpoints of the intercept pipeline (src/runtime), guarded calls' outcome events
 * (src/policy). Each part registers a flush; ONE listener per process runs them all:
 *
 * - SIGINT / SIGTERM: every registered flush, each bounded by its own timeout, in parallel.
 *   A listener on these signals replaces Node's default "terminate", so when provably's is the
 *   only one it removes itself and re-raises the signal once the flushes are done: the process
 *   still ends the way it would have without provably (killed by that signal, for the parent to
 *   see). When the application has its own listener, that listener decides when to exit.
 *   One shared listener (not one per part) because each would otherwise count the others as
 *   "the application's" and none would re-raise: the process would ignore Ctrl-C.
 * - beforeExit: the flushes registered with `beforeExit: true`. A flush with nothing pending
 *   must do no I/O, or beforeExit would come back forever.
 *
 * `process.exit()` runs no listener of either kind: what is still pending then is lost (each
 * part documents what that is). The registry lives on globalThis so that the ESM and CJS
 * builds, when both are loaded, share one listener.
 */
import { diag } from '../diag/index.js';

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

export interface ExitFlush {
  /** What is flushed, for the warning when it does not finish in time. */
  what: string;
  flush: () => Promise<void>;
  /** The longest a signal waits for this flush. */
  timeoutMs: number;
  /** Also run it when the event loop runs dry (beforeExit). */
  beforeExit?: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const KEY = Symbol.for('provably.exit.v1');

interface Registry {
  flushes: Set<ExitFlush>;
  onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  onBeforeExit: (() => void) | undefined;
  /** A signal is being handled alone: never listen again (the re-raise must terminate). */
  dying: boolean;
}

function registry(): Registry {
  const bag = globalThis as unknown as Record<symbol, Registry | undefined>;
  let r = bag[KEY];
  if (r === undefined) {
    r = { flushes: new Set(), onSignal: undefined, onBeforeExit: undefined, dying: false };
    bag[KEY] = r;
  }
  return r;
}

/** Registers `f` for the exit paths above; returns its removal. */
export function flushAtExit(f: ExitFlush): () => void {
  const r = registry();
  r.flushes.add(f);
  listen(r);
  return () => {
    r.flushes.delete(f);
    if (r.flushes.size === 0) unlisten(r);
  };
}

function listen(r: Registry): void {
  if (r.dying) return;
  if (r.onSignal === undefined) {
    const onSignal = (signal: NodeJS.Signals): void => {
      const alone = process.listenerCount(signal) === 1;
      if (alone) {
        // A second signal while flushing then terminates at once, as usual.
        r.dying = true;
        unlisten(r);
      }
      void runAll(r, signal).finally(() => {
        if (alone) process.kill(process.pid, signal);
      });
    };
    r.onSignal = onSignal;
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  if (r.onBeforeExit === undefined) {
    const onBeforeExit = (): void => {
      // No timer here: a ref'd one would itself bring beforeExit back. Pending writes keep the
      // event loop alive by their own I/O.
      for (const f of [...r.flushes]) {
        if (f.beforeExit !== true) continue;
        try {
          void f.flush().catch((err: unknown) => diag.warn(`beforeExit: flushing ${f.what} failed`, err));
        } catch (err) {
          diag.warn(`beforeExit: flushing ${f.what} failed`, err);
        }
      }
    };
    r.onBeforeExit = onBeforeExit;
    process.on('beforeExit', onBeforeExit);
  }
}

function unlisten(r: Registry): void {
  if (r.onSignal !== undefined) for (const s of SIGNALS) process.removeListener(s, r.onSignal);
  if (r.onBeforeExit !== undefined) process.removeListener('beforeExit', r.onBeforeExit);
  r.onSignal = undefined;
  r.onBeforeExit = undefined;
}

/** Runs every flush in parallel, each bounded by its timeout; never rejects. */
function runAll(r: Registry, why: string): Promise<void> {
  const bounded = [...r.flushes].map((f) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      // Ref'd on purpose: on a signal the process must stay up to re-raise it when done.
      timer = setTimeout(() => {
        diag.warn(`${why}: ${f.what} not flushed within ${f.timeoutMs} ms; going on`);
        resolve();
      }, f.timeoutMs);
    });
    let flushed: Promise<void>;
    try {
      flushed = f.flush().catch((err: unknown) => diag.warn(`${why}: flushing ${f.what} failed`, err));
    } catch (err) {
      flushed = Promise.resolve();
      diag.warn(`${why}: flushing ${f.what} failed`, err);
    }
    return Promise.race([flushed, late]).finally(() => clearTimeout(timer));
  });
  return Promise.all(bounded).then(() => undefined);
}
