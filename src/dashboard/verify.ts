/**
 * The verify button: inclusion proofs of a decision event and the records it caused, checked
 * under the latest signed checkpoint the same way an outside verifier would (signature against
 * the trusted keys, the RFC 9162 path to the signed root) AND against the rows as they are now:
 * each row's leaf hash is recomputed from its current content, so a superuser's edit of a row
 * after it was logged shows as broken even though the stored leaf hashes still add up.
 */
import {
  DECISION_LEAF_COLUMNS,
  type DecisionLeafRow,
  decisionLeafHash,
  ensureCheckpoint,
  type InclusionProof,
  inclusionProof,
  latestCheckpoint,
  ProvablyLedgerRecordError,
  type StoredCheckpoint,
  verifyRecordProof,
} from '../ledger/index.js';
import { getIntercept } from '../record/index.js';
import type { Deps } from './context.js';

export type EvidenceStatus = 'verified' | 'broken' | 'unsigned' | 'unchecked';

export interface EvidenceItem {
  kind: 'decision' | 'record';
  id: string;
  status: EvidenceStatus;
  detail: string;
  leafIndex: number | null;
}

export interface VerifyReport {
  checkpoint: { treeSize: number; keyId: string; timestamp: string } | null;
  /** Why nothing (or not everything) could be checked: no key, signing failed. */
  problem: string | null;
  items: EvidenceItem[];
}

export async function verifyEvidence(
  deps: Deps,
  orgId: string,
  decisionIds: readonly string[],
  recordIds: readonly string[],
): Promise<VerifyReport> {
  const { store } = deps;
  const all = [
    ...decisionIds.map((id) => ({ kind: 'decision' as const, id })),
    ...recordIds.map((id) => ({ kind: 'record' as const, id })),
  ];
  const trusted = deps.trustedKeys();
  if (trusted === null) {
    return {
      checkpoint: null,
      problem: 'No trusted signing key is configured for the dashboard: checkpoints cannot be checked.',
      items: all.map((i) => ({ ...i, status: 'unchecked', detail: 'no trusted key', leafIndex: null })),
    };
  }
  let problem: string | null = null;
  let checkpoint: StoredCheckpoint | null = null;
  const signer = deps.signer();
  if (signer !== null) {
    try {
      checkpoint = await ensureCheckpoint(store, orgId, signer);
    } catch (err) {
      // The issuer refuses to sign a log whose new rows no longer match their leaves: that is
      // itself a finding; the latest existing checkpoint is still checked below.
      problem = `A new checkpoint could not be signed: ${(err as Error).message}`;
    }
  }
  checkpoint ??= await latestCheckpoint(store, orgId);
  if (checkpoint === null) {
    return {
      checkpoint: null,
      problem: problem ?? 'No signed checkpoint exists for this tenant yet.',
      items: all.map((i) => ({ ...i, status: 'unsigned', detail: 'no checkpoint yet', leafIndex: null })),
    };
  }
  const cp = checkpoint;
  const items: EvidenceItem[] = [];
  for (const item of all) {
    let proof: InclusionProof;
    try {
      proof = await inclusionProof(store, orgId, item.id, cp.tree_size);
    } catch (err) {
      if (err instanceof ProvablyLedgerRecordError && err.reason === 'not-logged') {
        items.push({
          ...item,
          status: 'unsigned',
          detail: `not covered by the latest checkpoint: ${err.message}`,
          leafIndex: null,
        });
      } else {
        items.push({ ...item, status: 'broken', detail: (err as Error).message, leafIndex: null });
      }
      continue;
    }
    items.push({ ...item, leafIndex: proof.leafIndex, ...(await checkOne(deps, orgId, item, proof, cp)) });
  }
  return {
    checkpoint: { treeSize: cp.tree_size, keyId: cp.key_id, timestamp: cp.timestamp },
    problem,
    items,
  };
}

async function checkOne(
  deps: Deps,
  orgId: string,
  item: { kind: 'decision' | 'record'; id: string },
  proof: InclusionProof,
  checkpoint: StoredCheckpoint,
): Promise<{ status: EvidenceStatus; detail: string }> {
  const trustedKeys = deps.trustedKeys() ?? {};
  if (item.kind === 'record') {
    const record = await getIntercept(deps.store, item.id, { orgId });
    if (record === null) return { status: 'broken', detail: 'the record row is gone' };
    if (record.startedAtExact === false)
      return { status: 'broken', detail: 'the row was edited (started_at)' };
    const check = verifyRecordProof({ proof, checkpoint, trustedKeys, record });
    return check.ok
      ? { status: 'verified', detail: `leaf ${proof.leafIndex} of ${checkpoint.tree_size}` }
      : { status: 'broken', detail: `${check.reason}: ${check.detail}` };
  }
  const path = verifyRecordProof({ proof, checkpoint, trustedKeys });
  if (!path.ok) return { status: 'broken', detail: `${path.reason}: ${path.detail}` };
  const res = await deps.store.query<DecisionLeafRow>(
    `SELECT ${DECISION_LEAF_COLUMNS.join(', ')} FROM provably_decisions WHERE id = $1 AND org_id = $2`,
    [item.id, orgId],
  );
  const row = res.rows[0];
  if (row === undefined) return { status: 'broken', detail: 'the event row is gone' };
  let recomputed: string;
  try {
    recomputed = Buffer.from(decisionLeafHash(row, proof.leafIndex)).toString('hex');
  } catch (err) {
    return { status: 'broken', detail: (err as Error).message };
  }
  return recomputed === proof.leafHash
    ? { status: 'verified', detail: `leaf ${proof.leafIndex} of ${checkpoint.tree_size}` }
    : {
        status: 'broken',
        detail: "the event's content no longer matches its leaf: the row was changed after it was logged",
      };
}
