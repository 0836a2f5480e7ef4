/**
 * Lazier WebAssembly tier-up while the embedded store opens.
 *
 * Why: PGlite is a 9 MB WebAssembly module. V8 runs it first as Liftoff (baseline) code and
 * recompiles every function that crosses a "tiering budget" with TurboFan on background
 * threads. PostgreSQL's start (catalog and relcache loading, the first queries) crosses that
 * budget for hundreds of functions which then never run again in a short process: measured on
 * 2 cores (Node 24, medians of interleaved runs), opening an existing data dir and running
 * SELECT 1 took ~1.1 s CPU by default and ~0.55 s with a 10× budget, and the TurboFan threads
 * also took the cores away from the main thread (wall time roughly halved). Steady-state query
 * speed is unchanged: hot functions still tier up, just after 10× more work.
 *
 * V8 offers no per-module setting, only the process-wide flag `--wasm-tiering-budget`, so the
 * flag is raised for the duration of the open (first entrant) and put back (last one out). It
 * is left alone when the user chose a value (node flag or NODE_OPTIONS), and on a V8 whose
 * default we have not checked: restoring a default we only guess could change the host's
 * settings for good.
 *
 * Only in provably's own processes by default (the CLI, `provably gateway` / `serve`: they call
 * ownProcessTuning()). Node documents changing V8 flags after start as "may result in
 * unpredictable behavior", and an agent's process is the host's, not ours: there the raise is
 * opt-in (PROVABLY_PGLITE_LAZY_TIERUP=1). PROVABLY_PGLITE_LAZY_TIERUP=0 turns it off everywhere.
 */
import { setFlagsFromString } from 'node:v8';
import { diag } from '../diag/index.js';

const FLAG = '--wasm-tiering-budget';
// V8's default, the same in V8 12.4 (Node 22), 13.6 (Node 24) and 14.6 (Node 26).
const V8_DEFAULT = 13_000_000;
const KNOWN_V8_MAJORS = new Set([12, 13, 14]);
const RAISED = V8_DEFAULT * 10;

let active = 0;
let ownProcess = false;

/** Called by provably's own executables (the CLI): the process is ours to tune. */
export function ownProcessTuning(): void {
  ownProcess = true;
}

/** Whether this process may raise the flag: see the module comment. */
export function lazyTierUpApplies(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
  own: boolean = ownProcess,
): boolean {
  const setting = env.PROVABLY_PGLITE_LAZY_TIERUP?.trim() ?? '';
  if (/^(0|false|no|off)$/i.test(setting)) return false;
  if (!own && !/^(1|true|yes|on)$/i.test(setting)) return false;
  const major = Number.parseInt(process.versions.v8 ?? '', 10);
  if (!KNOWN_V8_MAJORS.has(major)) return false;
  const chosen = (s: string) => /wasm[-_]tiering[-_]budget/.test(s);
  return !execArgv.some(chosen) && !chosen(env.NODE_OPTIONS ?? '');
}

/**
 * Runs `open` with a raised tiering budget (see above); the flag is never a reason to fail.
 * `setFlag` is V8's setter (tests pass a recorder to see what would be set).
 */
export async function withLazyWasmTierUp<T>(
  open: () => Promise<T>,
  setFlag: (flag: string) => void = setFlagsFromString,
): Promise<T> {
  if (!lazyTierUpApplies()) return open();
  if (active++ === 0) setBudget(setFlag, RAISED);
  try {
    return await open();
  } finally {
    if (--active === 0) setBudget(setFlag, V8_DEFAULT);
  }
}

function setBudget(setFlag: (flag: string) => void, value: number): void {
  try {
    setFlag(`${FLAG}=${value}`);
  } catch (err) {
    // Only ever costs speed.
    diag.once('store.tierup', 'debug', 'could not adjust the WebAssembly tiering budget', err);
  }
}
