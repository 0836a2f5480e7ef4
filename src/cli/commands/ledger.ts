import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { publicKeyInfo, type VerifyProgress, verifyLog } from '../../ledger/index.js';
import type { CommandContext } from '../context.js';
import type { CliStreams } from '../output.js';
import { collect, loadTrustedKeys } from '../trusted-keys.js';

export function registerLedgerCommands(program: Command, ctx: CommandContext): void {
  const keys = program.command('keys').description('the checkpoint signing key');
  keys
    .command('show')
    .description('print the public key and key id verifiers need (PROVABLY_SIGNING_KEY or the data dir key)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      ctx.run(opts.json, async (out) => {
        const info = publicKeyInfo();
        if (out.json) return out.data({ key_id: info.keyId, public_key_pem: info.publicKeyPem });
        out.line(`key id: ${info.keyId}`);
        out.line(info.publicKeyPem.trimEnd());
      }),
    );

  program
    .command('verify')
    .description('recompute every record, rebuild the Merkle log and check every signed checkpoint')
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
        const progress = !out.json && ctx.streams.stderrIsTTY ? progressBar(ctx.streams) : undefined;
        const result = await verifyLog(store, orgId, {
          trustedKeys: loadTrustedKeys(opts.trustedKey),
          onProgress: progress?.update,
        });
        progress?.done();
        if (!result.ok) ctx.setExitCode(1);
        if (out.json) return out.data(result);
        const c = out.color;
        out.line(
          `${result.ok ? c.green('OK') : c.red('BROKEN')} org ${orgId}: ${result.treeSize} records, root ${result.rootHash}`,
        );
        out.line(
          `checkpoints: ${result.verifiedCheckpoints} of ${result.checkpoints} verified` +
            (result.latestVerified ? ` (latest covers ${result.latestVerified.tree_size})` : '') +
            `; ${result.uncheckpointedLeaves} newer records not yet covered by a checkpoint`,
        );
        if (result.unloggedRecords > 0) out.line(`records without a leaf: ${result.unloggedRecords}`);
        const first = result.firstBroken;
        if (first) {
          out.line(
            c.red(
              `first broken record: index ${first.leafIndex ?? '-'}, id ${first.recordId ?? '-'} (${first.kind}): ${first.detail}`,
            ),
          );
          if (result.problemCount > 1)
            out.line(`${result.problemCount - 1} more problem(s); --json lists them`);
        }
      }),
    );
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
