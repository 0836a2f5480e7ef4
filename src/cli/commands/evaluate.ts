import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ProvablyConfigError } from '../../errors/index.js';
import { loadSigner } from '../../ledger/index.js';
// The evaluator (ajv, JSONPath) and the HTTP server (hono, Node's fetch classes) load when
// these commands run, not on every `provably` command: ~0.1 s CPU of start-up on 2 cores.
import { DEFAULT_HOST, DEFAULT_PORT } from '../../server/defaults.js';
import { closeDefaultStore, getDefaultStore } from '../../store/index.js';
import type { CommandContext } from '../context.js';
import { createOutput, describeFailure, exitCodeFor } from '../output.js';
import { stopOnSignals } from '../service.js';
import { collect, loadTrustedKeys } from '../trusted-keys.js';

interface EvaluateOptions {
  trustedKey?: string[];
  trustedEndpoint?: string[];
  offline?: boolean;
  json?: boolean;
}

export function registerEvaluateCommands(program: Command, ctx: CommandContext): void {
  program
    .command('evaluate <payload>')
    .description('evaluate a saved handoff payload (JSON file, or - for stdin): PASS, CAUGHT or ERROR')
    .option(
      '--trusted-key <pem-file>',
      "a public key whose checkpoints are accepted (repeatable; default: this installation's key)",
      collect,
    )
    .option(
      '--offline',
      'judge by the payload alone: no store, endpoints from --trusted-endpoint or the payload',
    )
    .option('--trusted-endpoint <url>', 'a trusted endpoint entry for --offline (repeatable)', collect)
    .option('--json', 'print the whole result as JSON')
    .action((file: string, opts: EvaluateOptions) =>
      ctx.run(opts.json, async (out, store) => {
        const payload = readPayload(file);
        const { evaluateHandoff, ledgerProofVerifier } = await import('../../eval/index.js');
        const result = await evaluateHandoff(payload, {
          trustedKeys: loadTrustedKeys(opts.trustedKey),
          verifyProof: ledgerProofVerifier,
          // Bug fix: --offline passed the payload's endpoints (or [] when it has none) as the
          // receiver's list, turning "no snapshot" (ERROR) into CAUGHT. The evaluator reads the
          // payload's snapshot itself when it is given no list and no store.
          ...(opts.offline ? {} : { store }),
          ...(opts.trustedEndpoint ? { trustedEndpoints: opts.trustedEndpoint } : {}),
        });
        if (result.outcome !== 'PASS') ctx.setExitCode(1);
        if (out.json) return out.data(result);
        const c = out.color;
        const paint = result.outcome === 'PASS' ? c.green : c.red;
        out.line(paint(result.outcome));
        for (const claim of result.per_claim) {
          out.line(
            `  claim ${claim.index} ${claim.action_name} (${claim.mode}): ${claim.verdict} — ${claim.reason}`,
          );
        }
        for (const e of result.errors) out.line(`  error: ${typeof e === 'string' ? e : JSON.stringify(e)}`);
      }),
    );

  program
    .command('serve')
    .description('run the eval service: POST /handoffs/receive, GET /evaluations/:id, GET /healthz')
    .option('--port <port>', `port (default ${DEFAULT_PORT}; 0 picks a free one)`)
    .option('--host <host>', `address to listen on (default ${DEFAULT_HOST})`)
    .option(
      '--trusted-key <pem-file>',
      "a public key whose checkpoints are accepted (repeatable; default: this installation's key)",
      collect,
    )
    .option(
      '--independent',
      "judge by the payload alone (proofs + the payload's endpoint snapshot); the store only keeps verdicts",
    )
    .option(
      '--trusted-endpoint <url>',
      'trusted endpoint entries to judge against instead of the store registry (repeatable)',
      collect,
    )
    .option(
      '--no-checkpoints',
      'do not sign checkpoints (by default serve signs every log with unsigned records within PROVABLY_CHECKPOINT_INTERVAL_MS)',
    )
    .action(
      async (opts: {
        port?: string;
        host?: string;
        trustedKey?: string[];
        independent?: boolean;
        trustedEndpoint?: string[];
        checkpoints?: boolean;
      }) => {
        try {
          const port = opts.port === undefined ? DEFAULT_PORT : parsePort(opts.port);
          const { jsonLineLog, startCheckpointSigner, startEvalServer } = await import(
            '../../server/index.js'
          );
          const store = getDefaultStore();
          // Bug fix: open (and migrate) the store before listening, so an unusable store — an
          // embedded data dir another process holds, a database that is down — stops the
          // command with its reason instead of a service whose every request is a 500.
          await store.query('SELECT 1');
          const log = jsonLineLog((l) => ctx.streams.stderr(l));
          // Without --trusted-key the service trusts its own installation's key, so it loads
          // (or creates) that key now; with --trusted-key it loads it only once there is
          // something to sign — a receiver that holds no logs never mints a key.
          const ownKey = opts.trustedKey === undefined || opts.trustedKey.length === 0;
          const signer =
            opts.checkpoints === false
              ? undefined
              : startCheckpointSigner({ store, signer: ownKey ? loadSigner() : () => loadSigner(), log });
          const server = await startEvalServer({
            log,
            store,
            trustedKeys: loadTrustedKeys(opts.trustedKey),
            checkStore: !opts.independent,
            trustedEndpoints: opts.trustedEndpoint,
            port,
            host: opts.host,
          });
          createOutput(false, ctx.streams).line(`provably eval service listening on ${server.url}`);
          stopOnSignals(signer, server);
        } catch (err) {
          ctx.streams.stderr(`provably: ${describeFailure(err)}\n`);
          ctx.setExitCode(exitCodeFor(err));
          await closeDefaultStore().catch(() => {});
        }
      },
    );
}

function readPayload(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new ProvablyConfigError('payload', `cannot read ${file}: ${(err as Error).message}`);
  }
  return text; // evaluateHandoff parses and validates, reporting bad JSON as ERROR
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new ProvablyConfigError('--port', `expected a port number 0-65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
