/**
 * `provably intercepts proof <id>`: from a record id (the `provably.record_id` on a span in your
 * trace backend) to its leaf and its inclusion proof under the latest signed checkpoint,
 * checked here the way an outside verifier would — the checkpoint's signature against the
 * trusted keys, the RFC 9162 path to the signed root, and the leaf recomputed from the row as
 * it is now (so a row edited after it was logged shows as broken).
 *
 * Exit codes as `provably verify`: 0 verified, 1 broken, 2 bad input or configuration, 3 the
 * record is intact so far but no signed checkpoint covers it yet.
 */
import type { Command } from 'commander';
import {
  type InclusionProof,
  inclusionProof,
  latestCheckpoint,
  ProvablyLedgerRecordError,
  type StoredCheckpoint,
  type TrustedKeys,
  verifyRecordProof,
} from '../../ledger/index.js';
import { getIntercept, type InterceptRecord } from '../../record/index.js';
import type { Store } from '../../store/index.js';
import type { CommandContext } from '../context.js';
import { collect, loadTrustedKeys } from '../trusted-keys.js';

type ProofStatus = 'verified' | 'broken' | 'unsigned';

interface ProofAnswer {
  status: ProofStatus;
  detail: string;
  proof: InclusionProof | null;
  checkpoint: StoredCheckpoint | null;
}
const EXIT: Record<ProofStatus, number> = { verified: 0, broken: 1, unsigned: 3 };

export function registerInterceptProof(intercepts: Command, ctx: CommandContext): void {
  intercepts
    .command('proof <id>')
    .description(
      "a record's leaf and inclusion proof under the latest signed checkpoint, verified " +
        '(exit 0 verified, 1 broken, 2 bad input or configuration, 3 not yet covered by a checkpoint)',
    )
    .option('--org <org>', 'organisation id (default: the record’s own)')
    .option(
      '--trusted-key <pem-file>',
      "a public key whose checkpoints are accepted (repeatable; default: this installation's key)",
      collect,
    )
    .option('--json', 'print JSON (the proof as a handoff carries it)')
    .action((id: string, opts: { org?: string; trustedKey?: string[]; json?: boolean }) =>
      ctx.run(opts.json, async (out, store) => {
        const record = await getIntercept(store, id, { orgId: opts.org });
        if (!record) {
          out.warn(`no recorded call with id ${id}`);
          ctx.setExitCode(1);
          return;
        }
        const orgId = record.orgId;
        const answer = await prove(store, record, () => loadTrustedKeys(opts.trustedKey));
        const { status, detail, proof, checkpoint } = answer;
        ctx.setExitCode(EXIT[status]);
        if (out.json) {
          return out.data({
            recordId: record.id,
            orgId,
            status,
            detail,
            checkpoint,
            proof,
            exitCode: EXIT[status],
          });
        }
        const c = out.color;
        const label =
          status === 'verified'
            ? c.green('VERIFIED')
            : status === 'broken'
              ? c.red('BROKEN')
              : c.yellow('UNSIGNED');
        out.line(`${label} ${record.method} ${record.url} (record ${record.id}, org ${orgId})`);
        out.line(detail);
        if (proof !== null) {
          out.line(`leaf hash     ${proof.leafHash}`);
          out.line(`root hash     ${proof.rootHash}`);
          out.line(
            `audit path    ${proof.proof.length === 0 ? '(none: a one-leaf tree)' : proof.proof.join(' ')}`,
          );
        }
      }),
    );
}

async function prove(
  store: Store,
  record: InterceptRecord,
  trustedKeys: () => TrustedKeys,
): Promise<ProofAnswer> {
  const orgId = record.orgId;
  const checkpoint = await latestCheckpoint(store, orgId);
  if (checkpoint === null) {
    return {
      status: 'unsigned',
      detail: `org ${orgId} has no signed checkpoint yet (run \`provably checkpoint --org ${orgId}\`)`,
      proof: null,
      checkpoint,
    };
  }
  let proof: InclusionProof;
  try {
    proof = await inclusionProof(store, orgId, record.id, checkpoint.tree_size);
  } catch (err) {
    if (!(err instanceof ProvablyLedgerRecordError)) throw err;
    return err.reason === 'not-logged'
      ? {
          status: 'unsigned',
          detail: `not covered by the latest checkpoint (tree size ${checkpoint.tree_size}): ${err.message}`,
          proof: null,
          checkpoint,
        }
      : { status: 'broken', detail: err.message, proof: null, checkpoint };
  }
  // A started_at moved by less than a millisecond survives the JS Date the leaf is rebuilt from.
  if (record.startedAtExact === false) {
    return {
      status: 'broken',
      detail: 'record-mismatch: the row was edited (started_at)',
      proof,
      checkpoint,
    };
  }
  const check = verifyRecordProof({ proof, checkpoint, trustedKeys: trustedKeys(), record });
  return check.ok
    ? {
        status: 'verified',
        detail: `leaf ${proof.leafIndex} of ${checkpoint.tree_size}, signed by key ${checkpoint.key_id} at ${checkpoint.timestamp}`,
        proof,
        checkpoint,
      }
    : { status: 'broken', detail: `${check.reason}: ${check.detail}`, proof, checkpoint };
}
