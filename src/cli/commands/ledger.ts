import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import {
  ProvablySigningKeyError,
  publicKeyInfo,
  signingKeyLocation,
  type TrustedKeys,
  type VerifyLogResult,
  type VerifyProgress,
  verifyExitCode,
  verifyLog,
} from '../../ledger/index.js';
import type { CommandContext } from '../context.js';
import type { CliStreams, Output } from '../output.js';
import { collect, loadTrustedKeys } from '../trusted-keys.js';
import { registerCheckpointCommand } from './checkpoint.js';

export function registerLedgerCommands(program: Command, ctx: CommandContext): void {
  const keys = program.command('keys').description('the checkpoint signing key');
  keys
    .command('show')
    .description(
      'print the public key and key id verifiers need (PROVABLY_SIGNING_KEY, else the per-user key on PostgreSQL or the data dir key)',
    )
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out) => {
        const info = publicKeyInfo();
        const location = signingKeyLocation();
        const where = location.kind === 'file' ? location.file : location.kind;
        if (out.json)
          return out.data({ key_id: info.keyId, public_key_pem: info.publicKeyPem, location: where });
        out.line(`key id: ${info.keyId}`);
        out.line(`location: ${location.kind === 'env' ? 'PROVABLY_SIGNING_KEY' : where}`);
        out.line(info.publicKeyPem.trimEnd());
      }),
    );

  registerCheckpointCommand(program, ctx);

  program
    .command('verify')
    .description(
      'recompute every record, rebuild the Merkle log and check every signed checkpoint ' +
        '(exit 0 all verified, 1 tampering or damage, 2 bad input or configuration, 3 healthy but records not yet signed)',
    )
    .option('--org <org>', 'organisation id (default: $PROVABLY_ORG_ID or "default")')
    .option(
      '--trusted-key <pem-file>',
      "a public key whose checkpoints are accepted (repeatable; default: this installation's key)",
      collect,
    )
    .option('--json', 'print JSON')
    .action((opts: { org?: string; trustedKey?: string[]; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const orgId = opts.org ?? defaultOrgId();
        // No key anywhere is not an error while there is nothing signed to check: the leaves
        // are still verified and the verdict is "not signed yet" (3), with how to sign them.
        let trustedKeys: TrustedKeys = {};
        let missingKey: ProvablySigningKeyError | undefined;
        try {
          trustedKeys = loadTrustedKeys(opts.trustedKey);
        } catch (err) {
          if (!(err instanceof ProvablySigningKeyError && err.reason === 'missing')) throw err;
          missingKey = err;
        }
        const progress = !out.json && ctx.streams.stderrIsTTY ? progressBar(ctx.streams) : undefined;
        const result = await verifyLog(store, orgId, { trustedKeys, onProgress: progress?.update });
        progress?.done();
        // Checkpoints exist but there is no key to check them with: a configuration problem (2).
        if (missingKey && result.checkpoints > 0) throw missingKey;
        ctx.setExitCode(verifyExitCode(result.status));
        const hint = result.status === 'unsigned' ? signHint(missingKey !== undefined) : null;
        if (out.json) return out.data({ ...result, exitCode: verifyExitCode(result.status), hint });
        printResult(out, orgId, result, hint);
      }),
    );
}

function signHint(noKey: boolean): string {
  const prefix = noKey ? 'no signing key exists yet; ' : '';
  return (
    `${prefix}run \`provably checkpoint --all\` to sign them now (creates the key if needed: ` +
    'back it up and publish its public key), or keep `provably serve` running to sign them within ' +
    'PROVABLY_CHECKPOINT_INTERVAL_MS'
  );
}

function printResult(out: Output, orgId: string, result: VerifyLogResult, hint: string | null): void {
  const c = out.color;
  const label =
    result.status === 'verified'
      ? c.green('OK')
      : result.status === 'broken'
        ? c.red('BROKEN')
        : c.yellow('UNSIGNED');
  out.line(`${label} org ${orgId}: ${result.treeSize} records, root ${result.rootHash}`);
  out.line(
    `checkpoints: ${result.verifiedCheckpoints} of ${result.checkpoints} verified` +
      (result.latestVerified ? ` (latest covers ${result.latestVerified.tree_size})` : '') +
      `; ${result.uncheckpointedLeaves} newer records not yet covered by a checkpoint` +
      (result.oldestUncoveredAgeMs === null ? '' : ` (oldest ${formatAge(result.oldestUncoveredAgeMs)} old)`),
  );
  if (hint) out.line(hint);
  if (result.unloggedRecords > 0) out.line(`records without a leaf: ${result.unloggedRecords}`);
  const first = result.firstBroken;
  if (first) {
    out.line(
      c.red(
        `first broken record: index ${first.leafIndex ?? '-'}, id ${first.recordId ?? '-'} (${first.kind}): ${first.detail}`,
      ),
    );
    if (result.problemCount > 1) out.line(`${result.problemCount - 1} more problem(s); --json lists them`);
  }
}

function formatAge(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

function progressBar(streams: CliStreams): { update(p: VerifyProgress): void; done(): void } {
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done !== p.total) return;
      last = now;
      const width = 30;
      const filled = p.total === 0 ? width : Math.round((p.done / p.total) * width);
      streams.stderr(
        `\r${p.phase.padEnd(11)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}`,
      );
    },
    done() {
      streams.stderr('\r\u001b[2K');
    },
  };
}
