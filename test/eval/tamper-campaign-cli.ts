/**
 * `provably verify` run in this process: the CLI's own `verify` command (registered by
 * src/cli/commands/ledger.ts on a commander program, parsing real argv) with a CommandContext
 * that hands it the given store instead of the default one and captures its output.
 *
 * Why not import src/cli/main.ts: it runs `main(process.argv)` at import time and its context
 * opens the store from the environment (a new connection, which could not see a case's
 * uncommitted edit). What differs from the binary is only that wiring; the context below follows
 * createCommandContext (src/cli/context.ts) and main()'s CommanderError handling line for line.
 * test/e2e/handoff.test.ts still runs the built binary end to end.
 */
import { Command, CommanderError } from 'commander';
import { registerLedgerCommands } from '../../src/cli/commands/ledger.js';
import type { CommandContext } from '../../src/cli/context.js';
import { describeFailure, exitCodeFor, type Output } from '../../src/cli/output.js';
import type { Store } from '../../src/store/index.js';

export interface InProcessCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const plain = (s: string) => s;

/** Runs `provably <argv…>` (ledger commands only) against `store`. */
export async function runLedgerCommand(store: Store, argv: readonly string[]): Promise<InProcessCliResult> {
  let stdout = '';
  let stderr = '';
  let code = 0;
  const ctx: CommandContext = {
    async run(json, body) {
      const out: Output = {
        json: json === true,
        line: (text = '') => {
          stdout += `${text}\n`;
        },
        data: (value) => {
          stdout += `${JSON.stringify(value, null, 2)}\n`;
        },
        warn: (text) => {
          stderr += `${text}\n`;
        },
        color: { green: plain, red: plain, dim: plain, bold: plain },
      };
      try {
        await body(out, store);
      } catch (err) {
        stderr += `provably: ${describeFailure(err)}\n`;
        code = exitCodeFor(err);
      }
    },
    setExitCode(c) {
      code = c;
    },
  };
  const program = new Command().name('provably').exitOverride();
  program.configureOutput({
    writeOut: (s) => {
      stdout += s;
    },
    writeErr: (s) => {
      stderr += s;
    },
  });
  registerLedgerCommands(program, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) code = err.exitCode === 0 ? 0 : 2;
    else {
      stderr += `provably: ${err instanceof Error ? err.message : String(err)}\n`;
      code = 1;
    }
  }
  return { code, stdout, stderr };
}
