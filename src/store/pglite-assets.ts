/**
 * PGlite's two big artifacts — the PostgreSQL WebAssembly module (9 MB) and the file-system
 * bundle (6 MB: share/, timezones, extension scripts) — loaded ahead of the open.
 *
 * Why: left to itself, PGlite reads and compiles them inside `PGlite.create`, one after the
 * other, while the first governed call of an agent waits. Compiling runs on V8's background
 * threads (WebAssembly.compile; functions are compiled lazily on first call, so this is
 * decoding and validation, ~40–80 ms of wall time on 2 cores) and reading is libuv I/O: neither
 * needs the main thread, so both can run while it does other start-up work (loading
 * OpenTelemetry for the first scope, importing PGlite's JavaScript, taking the data-dir lock).
 * The result is handed to PGlite through its own options (`pgliteWasmModule`, `fsBundle`).
 *
 * Started at the first explicit scope of an embedded-store process (runtime/start.ts) and at the
 * start of every embedded-store open; never at import or preload, so a process that never enters
 * a scope pays nothing. Shared through a global slot: the ESM preload and a CommonJS copy of
 * provably in one process load separate module copies but should compile once.
 *
 * Never a reason to fail: any error here (a PGlite without these exports, an unreadable file)
 * leaves the field undefined and PGlite loads the artifact itself, as before.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { diag } from '../diag/index.js';

export interface PgliteAssets {
  /** The compiled PostgreSQL module, for PGlite's `pgliteWasmModule` option. */
  wasmModule?: WebAssembly.Module;
  /** The file-system bundle, for PGlite's `fsBundle` option. */
  fsBundle?: Blob;
}

const SLOT = Symbol.for('provably.pgliteAssets.v1');
type GlobalWithAssets = typeof globalThis & { [SLOT]?: Promise<PgliteAssets> };

/**
 * Starts loading the artifacts (once per process) and returns the shared promise. It never
 * rejects. Cheap to call again: later calls return the same promise.
 */
export function pgliteAssets(): Promise<PgliteAssets> {
  const g = globalThis as GlobalWithAssets;
  g[SLOT] ??= load();
  return g[SLOT];
}

/** Starts loading without waiting (the early trigger); see pgliteAssets(). */
export function prefetchPgliteAssets(): void {
  void pgliteAssets();
}

async function load(): Promise<PgliteAssets> {
  // Resolved through the package's own exports, from where provably itself resolves
  // '@electric-sql/pglite': the artifacts always belong to the PGlite JavaScript we import.
  let wasmFile: string;
  let dataFile: string;
  try {
    const require = createRequire(import.meta.url);
    wasmFile = require.resolve('@electric-sql/pglite/pglite.wasm');
    dataFile = require.resolve('@electric-sql/pglite/pglite.data');
  } catch (err) {
    diag.once(
      'store.assets',
      'debug',
      'PGlite artifacts not found ahead of the open; PGlite loads them',
      err,
    );
    return {};
  }
  const [wasmModule, fsBundle] = await Promise.all([
    readFile(wasmFile)
      .then((bytes) => wasmApi().compile(bytes))
      .catch((err: unknown) => failed('the PGlite WebAssembly module', err)),
    readFile(dataFile)
      .then((bytes) => new Blob([bytes]))
      .catch((err: unknown) => failed('the PGlite file-system bundle', err)),
  ]);
  return { wasmModule, fsBundle };
}

/** The global WebAssembly object (this project's TypeScript libs declare only its types). */
function wasmApi(): { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } {
  return (globalThis as unknown as { WebAssembly: ReturnType<typeof wasmApi> }).WebAssembly;
}

function failed(what: string, err: unknown): undefined {
  diag.once(
    `store.assets:${what}`,
    'debug',
    `could not load ${what} ahead of the open; PGlite loads it`,
    err,
  );
  return undefined;
}
