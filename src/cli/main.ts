/**
 * The `provably` command. Thin: every command is a call into the library's public functions.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerEndpointCommands } from './commands/endpoints.js';
import { registerEvaluateCommands } from './commands/evaluate.js';
import { registerInterceptCommands } from './commands/intercepts.js';
import { registerLedgerCommands } from './commands/ledger.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { createCommandContext } from './context.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('provably')
    .description('verifiable records of what AI agents do on the network')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const ctx = createCommandContext();
  registerEndpointCommands(program, ctx);
  registerInterceptCommands(program, ctx);
  registerLedgerCommands(program, ctx);
  registerEvaluateCommands(program, ctx);
  registerMigrateCommand(program, ctx);
  return program;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; usage errors were already printed.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`provably: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
