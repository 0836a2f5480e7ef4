/**
 * `provably verify` run in this process: the CLI program itself (runCli from src/cli/program.ts,
 * the same code the binary runs, real argv parsing and exit codes) given the campaign's store —
 * a case's edit is uncommitted, so only that store's connection can see it — and capturing its
 * output. test/e2e/handoff.test.ts still runs the built binary end to end.
 */
import { runCli } from '../../src/cli/program.js';
import type { Store } from '../../src/store/index.js';

export interface InProcessCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `provably <argv…>` against `store`. */
export async function runLedgerCommand(store: Store, argv: readonly string[]): Promise<InProcessCliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    store,
    streams: {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      isTTY: false,
      stderrIsTTY: false,
    },
  });
  return { code, stdout, stderr };
}
