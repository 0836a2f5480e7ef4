/**
 * The `provably` binary: runs the program (program.ts) on this process's argv and streams.
 * The program is imported only after the compile cache is on, so its modules use it.
 */
import { ownProcessTuning } from '../store/wasm-tiering.js';
import { enableCliCompileCache } from './compile-cache.js';

enableCliCompileCache();
// The CLI's process is provably's own: the embedded store may tune V8 while it opens.
ownProcessTuning();
const { runCli } = await import('./program.js');
process.exitCode = await runCli(process.argv.slice(2));
