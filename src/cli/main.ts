/**
 * The `provably` binary: runs the program (program.ts) on this process's argv and streams.
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
