/**
 * A small but real ledger for the evaluator's tests: an RFC 6962 Merkle tree (leaf hash
 * SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right), audit paths as in RFC 6962
 * §2.1.1, verification as in RFC 9162 §2.1.3.2) with checkpoints signed by Ed25519 keys, all
 * over node:crypto. It implements the evaluator's ProofVerifier, so tests exercise real proofs:
 * a flipped bit anywhere in a bundle fails verification.
 *
 * Leaf bytes: UTF-8 of the RFC 8785 JSON of the record content plus its leaf_index (so a leaf
 * moved to another index no longer verifies, as in src/ledger). Checkpoint signature: Ed25519
 * over "provably-test-checkpoint/v1\n" + RFC 8785 JSON of the checkpoint without its signature,
 * in base64.
 * (src/ledger defines the production formats; the evaluator depends on neither.)
 */
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import canonicalize from 'canonicalize';
import type { ProofCheck, ProofVerifier, TrustedKey } from '../../src/eval/index.js';
import type {
  HandoffCheckpoint,
  HandoffClaim,
  HandoffPayload,
  HandoffProofBundle,
  HandoffRecordContent,
  ModelClaim,
} from '../../src/handoff/index.js';

// ---- RFC 6962 ------------------------------------------------------------------------------

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function leafHash(leafBytes: Uint8Array): Buffer {
  return sha256(Uint8Array.of(0x00), leafBytes);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Uint8Array.of(0x01), left, right);
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes. */
export function treeRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = splitPoint(leaves.length);
  return nodeHash(treeRoot(leaves.slice(0, k)), treeRoot(leaves.slice(k)));
}

/** PATH(m, D[n]): siblings from the leaf up. */
export function auditPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = splitPoint(leaves.length);
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), treeRoot(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), treeRoot(leaves.slice(0, k))];
}

/** RFC 9162 §2.1.3.2, with plain numbers (indices stay below 2^53; no 32-bit shifts). */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize)) return false;
  if (leafIndex < 0 || leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Uint8Array = leaf;
  const half = (x: number) => Math.floor(x / 2);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && Buffer.compare(r, root) === 0;
}

// ---- Ed25519 checkpoints ----------------------------------------------------------------------

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  trusted: TrustedKey;
}

export function newSigningKey(keyId = 'test-key-1'): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x as string;
  return { keyId, privateKey, trusted: { keyId, publicKey: new Uint8Array(Buffer.from(x, 'base64url')) } };
}

export function checkpointMessage(cp: Omit<HandoffCheckpoint, 'signature'>): Buffer {
  const { org_id, tree_size, root_hash, timestamp, key_id } = cp;
  const body = canonicalize({ org_id, tree_size, root_hash, timestamp, key_id }) as string;
  return Buffer.from(`provably-test-checkpoint/v1\n${body}`, 'utf8');
}

export function leafBytes(record: HandoffRecordContent, leafIndex: number): Uint8Array {
  return Buffer.from(canonicalize({ ...record, leaf_index: leafIndex }) as string, 'utf8');
}

/** The ProofVerifier the evaluator is given in tests. */
export function fixtureVerifier(): ProofVerifier & { calls: number } {
  const verifier = {
    calls: 0,
    leafBytes,
    verify(bundle: HandoffProofBundle, trustedKeys: readonly TrustedKey[]): ProofCheck {
      verifier.calls++;
      const cp = bundle.checkpoint;
      const key = trustedKeys.find((k) => k.keyId === cp.key_id);
      if (key === undefined)
        return { ok: false, reason: `checkpoint key ${JSON.stringify(cp.key_id)} is not trusted` };
      const publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey).toString('base64url') },
        format: 'jwk',
      });
      if (!verify(null, checkpointMessage(cp), publicKey, Buffer.from(cp.signature, 'base64'))) {
        return { ok: false, reason: 'checkpoint signature does not verify' };
      }
      const leaf = leafHash(leafBytes(bundle.record, bundle.leaf_index));
      const path = bundle.inclusion_proof.map((h) => Buffer.from(h, 'hex'));
      if (!verifyInclusion(bundle.leaf_index, cp.tree_size, leaf, path, Buffer.from(cp.root_hash, 'hex'))) {
        return { ok: false, reason: 'inclusion proof does not lead to the checkpoint root' };
      }
      return { ok: true };
    },
  };
  return verifier;
}

// ---- the ledger ------------------------------------------------------------------------------

export class FixtureLedger {
  readonly leaves: Buffer[] = [];
  constructor(
    readonly orgId: string,
    readonly key: SigningKey,
  ) {}

  append(record: HandoffRecordContent): number {
    this.leaves.push(leafHash(leafBytes(record, this.leaves.length)));
    return this.leaves.length - 1;
  }

  checkpoint(treeSize = this.leaves.length, key = this.key): HandoffCheckpoint {
    const unsigned = {
      org_id: this.orgId,
      tree_size: treeSize,
      root_hash: treeRoot(this.leaves.slice(0, treeSize)).toString('hex'),
      timestamp: '2025-01-02T03:04:05.000Z',
      key_id: key.keyId,
    };
    return {
      ...unsigned,
      signature: sign(null, checkpointMessage(unsigned), key.privateKey).toString('base64'),
    };
  }

  bundle(
    index: number,
    record: HandoffRecordContent,
    body: Uint8Array | null,
    treeSize = this.leaves.length,
  ): HandoffProofBundle {
    return {
      record,
      response_body: body === null ? null : Buffer.from(body).toString('base64'),
      leaf_index: index,
      inclusion_proof: auditPath(index, this.leaves.slice(0, treeSize)).map((h) => h.toString('hex')),
      checkpoint: this.checkpoint(treeSize),
    };
  }
}

// ---- records, claims and payloads ---------------------------------------------------------------

export const ORG = 'org-eval';
export const TRUSTED = ['https://api.example.com/v1/{rest:path}', 'https://data.example.org/quote'];

let counter = 0;
export function uuid(): string {
  counter++;
  return `5e1f0c3a-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

export interface CallSpec {
  url?: string;
  actionName?: string;
  orgId?: string;
  /** JSON value (serialized) or raw bytes. */
  body?: unknown;
  raw?: Uint8Array;
  /** A content-encoding header value: codings applied in order ("gzip", "br", "gzip, br", …). */
  encoding?: string | null;
  /** Keep only this many wire bytes (body_truncated). */
  keep?: number;
  noResponse?: boolean;
}

export interface RecordedCall {
  record: HandoffRecordContent;
  /** The stored wire bytes (what a bundle carries). */
  wire: Uint8Array | null;
  index: number;
}

const ENCODERS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => gzipSync(b),
  br: (b) => brotliCompressSync(b),
  deflate: (b) => deflateSync(b),
};

/** Records a call in the ledger: the content a recorder would store, and its leaf. */
export function recordCall(ledger: FixtureLedger, spec: CallSpec = {}): RecordedCall {
  const plain =
    spec.raw ??
    Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body ?? {}), 'utf8');
  let whole: Buffer = Buffer.from(plain);
  for (const coding of (spec.encoding ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)) {
    const encode = ENCODERS[coding];
    if (encode === undefined) throw new Error(`fixture: no encoder for ${coding}`);
    whole = encode(whole);
  }
  const kept = spec.keep === undefined ? whole : whole.subarray(0, spec.keep);
  const record: HandoffRecordContent = {
    id: uuid(),
    org_id: spec.orgId ?? ledger.orgId,
    agent_id: 'agent-a',
    action_name: spec.actionName ?? 'fetch_quote',
    intercept_index: 0,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    method: 'GET',
    url: spec.url ?? 'https://api.example.com/v1/quotes/ACME?fields=all',
    status: spec.noResponse ? null : 200,
    request_headers: { accept: 'application/json', authorization: '[REDACTED]' },
    response_headers: spec.noResponse
      ? null
      : {
          'content-type': 'application/json',
          ...(spec.encoding ? { 'content-encoding': spec.encoding } : {}),
        },
    content_encoding: spec.encoding ?? null,
    body_sha256: spec.noResponse ? null : createHash('sha256').update(whole).digest('hex'),
    body_size: spec.noResponse ? 0 : whole.byteLength,
    body_truncated: kept.byteLength < whole.byteLength,
    error: spec.noResponse ? 'connect ECONNREFUSED' : null,
    started_at: '2025-01-02T03:04:00.000Z',
    duration_ms: 12.5,
  };
  const index = ledger.append(record);
  return { record, wire: spec.noResponse ? null : new Uint8Array(kept), index };
}

/** A payload claim about a recorded call, with a fresh bundle for the ledger's current size. */
export function claimAbout(
  ledger: FixtureLedger,
  call: RecordedCall,
  fields: Partial<ModelClaim>,
): HandoffClaim {
  return {
    action_name: call.record.action_name,
    verification_mode: 'field_extraction',
    ...fields,
    query_record_id: call.record.id,
    proof: ledger.bundle(call.index, call.record, call.wire),
  } as HandoffClaim;
}

export function payloadOf(claims: HandoffClaim[], extra: Partial<HandoffPayload> = {}): HandoffPayload {
  return { provably_org_id: ORG, task: 'find the ACME quote', run_id: 'run-1', claims, ...extra };
}

/** A ledger, its key, a verifier and evaluator options trusting TRUSTED. */
export function setup() {
  const key = newSigningKey();
  const ledger = new FixtureLedger(ORG, key);
  const verifier = fixtureVerifier();
  const options = { trustedKeys: [key.trusted], verifyProof: verifier, trustedEndpoints: TRUSTED };
  return { key, ledger, verifier, options };
}
