/**
 * `provably checkpoint [--org <org>] [--all]`: signs checkpoints now, for a cron job or a deploy
 * hook — what `provably serve` does continuously. Creates the signing key when none exists
 * (with a notice naming where).
 */
import type { Command } from 'commander';
import { defaultOrgId } from '../../config/index.js';
import { ProvablyConfigError } from '../../errors/index.js';
import { loadSigner, signUnsignedLogs, unsignedLogs } from '../../ledger/index.js';
import type { CommandContext } from '../context.js';
import { collect } from '../trusted-keys.js';

export function registerCheckpointCommand(program: Command, ctx: CommandContext): void {
  program
    .command('checkpoint')
    .description(
      'sign a checkpoint for every org log with records not yet covered (default: the default org; exit 1 if one fails)',
    )
    .option('--org <org>', 'organisation id (repeatable; default: $PROVABLY_ORG_ID or "default")', collect)
    .option('--all', 'every org whose log has unsigned records')
    .option('--json', 'print JSON')
    .action((opts: { org?: string[]; all?: boolean; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        if (opts.all && opts.org)
          throw new ProvablyConfigError('--org', 'give either --org or --all, not both');
        const orgs = opts.all ? undefined : (opts.org ?? [defaultOrgId()]);
        // The key is loaded (and created if needed) only when there is something to sign.
        const pending = await unsignedLogs(store, orgs);
        const signer = pending.length > 0 ? loadSigner() : undefined;
        const outcomes = signer
          ? await signUnsignedLogs(store, signer, { orgs: pending.map((p) => p.orgId) })
          : [];
        if (outcomes.some((o) => !o.ok)) ctx.setExitCode(1);
        if (out.json) {
          return out.data({
            key_id: signer?.keyId ?? null,
            checkpoints: outcomes.map((o) =>
              o.ok
                ? {
                    org_id: o.orgId,
                    ok: true,
                    tree_size: o.checkpoint.tree_size,
                    checkpoint_id: o.checkpoint.id,
                  }
                : { org_id: o.orgId, ok: false, error: message(o.error) },
            ),
          });
        }
        if (outcomes.length === 0) out.line('nothing to sign: every log is covered by a checkpoint');
        for (const o of outcomes) {
          if (o.ok)
            out.line(`signed org ${o.orgId}: tree size ${o.checkpoint.tree_size} (key ${signer?.keyId})`);
          else out.line(out.color.red(`could not sign org ${o.orgId}: ${message(o.error)}`));
        }
      }),
    );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
