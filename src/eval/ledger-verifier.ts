/**
 * The evaluator's proof verifier backed by the real ledger (src/ledger): RFC 6962 leaf hash of
 * the bundle's record → inclusion proof → root of an Ed25519-signed checkpoint by a trusted key.
 */
import type { HandoffProofBundle, HandoffRecordContent, HandoffRecordContentV2 } from '../handoff/index.js';
import {
  INTERCEPT_LEAF_KIND,
  type LeafRecord,
  leafBytes,
  ProvablyLeafContentError,
  recordLeafHash,
  storedLeaf,
  type TrustedKeys,
  verifyRecordProof,
} from '../ledger/index.js';
import { PEER_COLUMNS } from '../record/read.js';
import type { Queryable } from '../store/index.js';
import type { ProofCheck, ProofVerifier } from './types.js';

/**
 * The ledger's view of a record from the wire's snake_case content: a version-2 record (it has
 * leaf_version) with its peer, a version-1 record without. Throws ProvablyLeafContentError for
 * content no leaf can have come from (another kind, peer fields on a version-1 record), which the
 * schema refuses too: nothing the sender adds is silently dropped from what the leaf binds.
 */
export function leafRecordOf(record: HandoffRecordContent): LeafRecord {
  const v1 = {
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
  const wire = record as Partial<HandoffRecordContentV2>;
  if (!('leaf_version' in record)) {
    for (const key of PEER_COLUMNS) {
      if (key in record) throw new ProvablyLeafContentError(key, 'a version-1 record has no peer fields');
    }
    if ('leaf_kind' in record)
      throw new ProvablyLeafContentError('leaf_kind', 'a version-1 record has no kind');
    return v1;
  }
  if (wire.leaf_kind !== INTERCEPT_LEAF_KIND) {
    throw new ProvablyLeafContentError(
      'leaf_kind',
      `expected "intercept", got ${JSON.stringify(wire.leaf_kind)}`,
    );
  }
  const tls =
    wire.peer_tls_cert_sha256 == null &&
    wire.peer_tls_subject == null &&
    wire.peer_tls_subject_alt_name == null
      ? null
      : {
          certSha256: wire.peer_tls_cert_sha256 ?? null,
          subject: wire.peer_tls_subject ?? null,
          subjectAltName: wire.peer_tls_subject_alt_name ?? null,
        };
  const peer = {
    address: wire.peer_address ?? null,
    port: wire.peer_port ?? null,
    protocol: wire.peer_protocol ?? null,
    tls,
    proxy: wire.peer_proxy ?? null,
  };
  const none =
    peer.address === null &&
    peer.port === null &&
    peer.protocol === null &&
    tls === null &&
    peer.proxy === null;
  return { ...v1, leafVersion: wire.leaf_version as 2, peer: none ? null : peer };
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
