/**
 * Logs with records no checkpoint covers yet, and signing them all: what a long-running signer
 * (`provably serve`) and `provably checkpoint` do, so that an agent that exits abruptly
 * (`process.exit()`, kill -9) does not leave its records unsigned for good.
 */
import { checkOrgId } from '../config/index.js';
import type { Queryable } from '../store/types.js';
import { type IssueCheckpointOptions, issueCheckpoint } from './issue.js';
import type { Signer } from './keys.js';
import type { StoredCheckpoint } from './stored.js';

export interface UnsignedLog {
  orgId: string;
  /** Leaves in the log (its head). */
  treeSize: number;
  /** The largest tree size any stored checkpoint covers. */
  signedSize: number;
}

/**
 * Every org log (or only `orgs`) whose head is beyond its largest checkpoint. One query over
 * the head rows; a checkpoint's signature is not checked here (verifyLog does that), so a
 * forged "covering" checkpoint hides a log from the signer but not from `provably verify`.
 */
export async function unsignedLogs(q: Queryable, orgs?: readonly string[]): Promise<UnsignedLog[]> {
  for (const org of orgs ?? []) checkOrgId(org, 'orgId');
  const result = await q.query<{ org_id: string; tree_size: string | number; signed: string | number }>(
    `SELECT h.org_id, h.next_index AS tree_size, coalesce(c.signed, 0) AS signed
       FROM provably_ledger_heads h
       LEFT JOIN LATERAL (SELECT max(tree_size) AS signed FROM provably_checkpoints
                           WHERE org_id = h.org_id) c ON true
      WHERE h.next_index > coalesce(c.signed, 0)
      ORDER BY h.org_id`,
  );
  const wanted = orgs ? new Set(orgs) : undefined;
  return result.rows
    .filter((r) => !wanted || wanted.has(r.org_id))
    .map((r) => ({
      orgId: r.org_id,
      treeSize: Number(r.tree_size),
      signedSize: Number(r.signed),
    }));
}

export type SignOutcome =
  | { orgId: string; ok: true; checkpoint: StoredCheckpoint }
  | { orgId: string; ok: false; error: unknown };

/**
 * Issues a checkpoint for every log (or only `orgs`) with unsigned records. Each org is tried
 * on its own: one failing (a refused, damaged log) does not stop the others.
 */
export async function signUnsignedLogs(
  q: Queryable,
  signer: Signer,
  options: IssueCheckpointOptions & { orgs?: readonly string[] } = {},
): Promise<SignOutcome[]> {
  const { orgs, ...issueOptions } = options;
  const out: SignOutcome[] = [];
  for (const log of await unsignedLogs(q, orgs)) {
    try {
      out.push({
        orgId: log.orgId,
        ok: true,
        checkpoint: await issueCheckpoint(q, log.orgId, signer, issueOptions),
      });
    } catch (error) {
      out.push({ orgId: log.orgId, ok: false, error });
    }
  }
  return out;
}
