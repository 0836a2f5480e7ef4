/**
 * The evaluator's proof verifier backed by the real ledger (src/ledger): RFC 6962 leaf hash of
 * the bundle's record → inclusion proof → root of an Ed25519-signed checkpoint by a trusted key.
 */
import type { HandoffProofBundle, HandoffRecordContent } from '../handoff/index.js';
import {
  type LeafRecord,
  leafBytes,
  recordLeafHash,
  storedLeaf,
  type TrustedKeys,
  verifyRecordProof,
} from '../ledger/index.js';
import type { Queryable } from '../store/index.js';
import type { ProofCheck, ProofVerifier } from './types.js';

/** The ledger's view of a record from the wire's snake_case content. */
export function leafRecordOf(record: HandoffRecordContent): LeafRecord {
  return {
    id: record.id,
    orgId: record.org_id,
    agentId: record.agent_id,
    actionName: record.action_name,
    interceptIndex: record.intercept_index,
    traceId: record.trace_id,
    spanId: record.span_id,
    method: record.method,
    url: record.url,
    status: record.status,
    requestHeaders: record.request_headers,
    responseHeaders: record.response_headers,
    contentEncoding: record.content_encoding,
    bodySha256: record.body_sha256,
    bodySize: record.body_size,
    bodyTruncated: record.body_truncated,
    error: record.error,
    startedAt: new Date(record.started_at),
    durationMs: record.duration_ms,
  } as LeafRecord;
}

export const ledgerProofVerifier: ProofVerifier<TrustedKeys> = {
  leafBytes(record, leafIndex) {
    return leafBytes(leafRecordOf(record), leafIndex);
  },
  /**
   * The record's leaf as the store keeps it must be the bundle's. A proof needs only the other
   * leaves (its siblings), so a payload can still verify after its own stored leaf was changed;
   * `provably verify` reports that log, and a receiver with the store reports the claim.
   */
  async checkStored(store: Queryable, bundle: HandoffProofBundle): Promise<string | null> {
    const leaf = await storedLeaf(store, bundle.record.org_id, bundle.record.id);
    if (leaf === null) return 'the record has no leaf in the store';
    if (leaf.leafIndex !== bundle.leaf_index) {
      return `the record's stored leaf is ${leaf.leafIndex}, the bundle says ${bundle.leaf_index}`;
    }
    const hash = Buffer.from(recordLeafHash(leafRecordOf(bundle.record), bundle.leaf_index)).toString('hex');
    return leaf.leafHash === hash ? null : "the stored leaf hash is not the record's";
  },
  verify(bundle: HandoffProofBundle, trustedKeys: TrustedKeys): ProofCheck {
    const record = leafRecordOf(bundle.record);
    // Bug fix: the leaf binds started_at as toISOString() writes it, and new Date() rolls an
    // impossible date over ("2025-02-30T…" is March 2), so a bundle could carry a started_at
    // that is not the signed text and still verify. Only the one signed form is accepted.
    if (
      Number.isNaN(record.startedAt.getTime()) ||
      record.startedAt.toISOString() !== bundle.record.started_at
    ) {
      return { ok: false, reason: 'leaf-mismatch: started_at is not a time the ledger can have signed' };
    }
    // Bug fix: content the ledger cannot canonicalize can never have been a leaf. That is a
    // failed proof (CAUGHT), not a verifier failure (a throw made the claim ERROR).
    let leafHash: string;
    try {
      leafHash = Buffer.from(recordLeafHash(record, bundle.leaf_index)).toString('hex');
    } catch (err) {
      return { ok: false, reason: `leaf-mismatch: the record cannot be a leaf: ${(err as Error).message}` };
    }
    const check = verifyRecordProof({
      proof: {
        orgId: bundle.checkpoint.org_id,
        recordId: bundle.record.id,
        leafIndex: bundle.leaf_index,
        treeSize: bundle.checkpoint.tree_size,
        leafHash,
        rootHash: bundle.checkpoint.root_hash,
        proof: bundle.inclusion_proof,
      },
      checkpoint: bundle.checkpoint,
      trustedKeys,
      // The leaf hash above is already the record's: passing the record too would only
      // canonicalize and hash it a second time.
    });
    return check.ok ? { ok: true } : { ok: false, reason: `${check.reason}: ${check.detail}` };
  },
};
