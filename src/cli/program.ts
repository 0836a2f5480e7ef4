/**
 * The `provably` command. Thin: every command is a call into the library's public functions.
 * runCli is the whole program without the process around it — main.ts gives it the process's
 * argv and streams; tests give it a store and capture its output.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerEndpointCommands } from './commands/endpoints.js';
import { registerEscalationCommands } from './commands/escalations.js';
import { registerEvaluateCommands } from './commands/evaluate.js';
import { registerGatewayCommands } from './commands/gateway.js';
import { registerInterceptCommands } from './commands/intercepts.js';
import { registerLedgerCommands } from './commands/ledger.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerPolicyCommands } from './commands/policy.js';
import { type CommandContext, type CommandContextOptions, createCommandContext } from './context.js';

export function buildProgram(ctx: CommandContext = createCommandContext()): Command {
  const program = new Command();
  program
    .name('provably')
    .description('verifiable records of what AI agents do on the network')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: ctx.streams.stdout, writeErr: ctx.streams.stderr })
    .exitOverride();
  registerEndpointCommands(program, ctx);
  registerInterceptCommands(program, ctx);
  registerLedgerCommands(program, ctx);
  registerEvaluateCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerEscalationCommands(program, ctx);
  registerGatewayCommands(program, ctx);
  registerMigrateCommand(program, ctx);
  return program;
}

/**
 * Runs `provably <args…>` (args without the node and script paths) and resolves to the exit
 * code: 0, 1 (a check failed or provably failed), 2 (input the user can fix) or, from
 * `provably verify`, 3 (a healthy log with records not yet signed). Never rejects.
 */
export async function runCli(args: readonly string[], options: CommandContextOptions = {}): Promise<number> {
  const ctx = createCommandContext(options);
  try {
    await buildProgram(ctx).parseAsync([...args], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : 2;
    }
    ctx.streams.stderr(`provably: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
