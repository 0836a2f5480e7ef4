/**
 * The `provably` binary: runs the program (program.ts) on this process's argv and streams.
 * The program is imported only after the compile cache is on, so its modules use it.
 */
import { enableCliCompileCache } from './compile-cache.js';

enableCliCompileCache();
const { runCli } = await import('./program.js');
process.exitCode = await runCli(process.argv.slice(2));
