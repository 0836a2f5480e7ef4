/**
 * evaluateHandoff: checks every claim of a handoff payload against the proven record. No model
 * is involved: each step is a deterministic comparison, and the result says which one decided.
 *
 * Per claim, in this order (the first step that does not pass decides the verdict):
 *  1. proof    — verifyProof.verify(bundle, trustedKeys): leaf → inclusion proof → checkpoint
 *                signed by a trusted key. Not verified: CAUGHT (verifier unavailable/threw: ERROR).
 *  2. org      — the checkpoint's and the record's org_id equal the payload's: else CAUGHT.
 *  3. record   — the claim's query_record_id is the bundle record's id: else CAUGHT.
 *  4. action   — the record's action_name is the claim's: else CAUGHT.
 *  5. proof    — with a store: the row exists in the payload's org, its content has the same
 *                leaf bytes as the bundle's record, the verifier's own stored copy of the proof
 *                agrees (checkStored: for the ledger, the record's stored leaf), and the body it
 *                keeps is the one its digest and size describe (record/stored-body.ts): else
 *                CAUGHT (store unreadable: ERROR).
 *  6. endpoint — the record's URL is trusted by every available snapshot (see endpoints.ts):
 *                else CAUGHT "endpoint missing from trusted snapshot"; no snapshot: ERROR.
 *  7. body     — body_truncated: ERROR (only a prefix was kept); no response recorded: CAUGHT;
 *                the body (from the bundle, else the store) is canonical base64 (else ERROR),
 *                has body_size bytes and SHA-256 body_sha256 (else CAUGHT); it decodes from
 *                its content-encoding (else ERROR).
 *  8. value    — the mode's comparison (modes.ts).
 * The outcome: CAUGHT when any claim is CAUGHT; otherwise ERROR when any claim is ERROR or the
 * evaluation could not start; otherwise (at least one claim, all PASS) PASS.
 *
 * Never throws and never lets an exception turn into PASS: every failure is a verdict.
 */
import { createHash } from 'node:crypto';
import { recordContentOf } from '../handoff/record.js';
import { validateHandoffPayload } from '../handoff/schema.js';
import type { HandoffClaim, HandoffPayload, Outcome } from '../handoff/types.js';
import { DEFAULT_MAX_DECODED_BYTES, decodeBody } from '../record/decode.js';
import { ProvablyBodyDecodeError } from '../record/errors.js';
import { getIntercept } from '../record/read.js';
import { storedBodyProblem } from '../record/stored-body.js';
import { type EndpointContext, endpointContext } from './endpoints.js';
import { type BodyView, bodyView, checkClaimValue, type SchemaCache } from './modes.js';
import { worstOutcome } from './outcome.js';
import type {
  CheckName,
  ClaimEvaluation,
  EvaluateOptions,
  EvaluationError,
  EvaluationResult,
  ProofCheck,
  ProofVerifier,
  TrustedKey,
  TrustedKeySet,
} from './types.js';
import { bounded, showValue } from './values.js';

/**
 * Evaluates a handoff payload (an object, or its JSON text as a string or bytes). Resolves to
 * `{ outcome, per_claim, errors }`; never rejects.
 */
export async function evaluateHandoff<T extends TrustedKeySet = readonly TrustedKey[]>(
  payload: unknown,
  options: EvaluateOptions<T>,
): Promise<EvaluationResult> {
  try {
    return await evaluate(payload, options);
  } catch (err) {
    return {
      outcome: 'ERROR',
      per_claim: [],
      errors: [{ code: 'internal', message: bounded(messageOf(err)) }],
    };
  }
}

async function evaluate<T extends TrustedKeySet>(
  input: unknown,
  options: EvaluateOptions<T>,
): Promise<EvaluationResult> {
  const errors: EvaluationError[] = [];

  const opts = (options ?? {}) as Partial<EvaluateOptions<T>>;
  const verifier = opts.verifyProof;
  if (
    verifier === null ||
    typeof verifier !== 'object' ||
    typeof verifier.verify !== 'function' ||
    typeof verifier.leafBytes !== 'function'
  ) {
    errors.push({
      code: 'invalid-options',
      message: 'verifyProof must be a ProofVerifier ({ verify, leafBytes })',
    });
  }
  if (!hasKeys(opts.trustedKeys)) {
    errors.push({ code: 'no-trusted-key', message: 'no trusted key: checkpoints cannot be verified' });
  }
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_DECODED_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    errors.push({ code: 'invalid-options', message: 'maxBodyBytes must be a non-negative integer' });
  }
  if (
    opts.trustedEndpoints !== undefined &&
    (!Array.isArray(opts.trustedEndpoints) || opts.trustedEndpoints.some((e) => typeof e !== 'string'))
  ) {
    errors.push({ code: 'invalid-options', message: 'trustedEndpoints must be an array of strings' });
  }

  const parsed = toPlainJson(input);
  if (!parsed.ok) {
    errors.push({ code: 'invalid-payload', message: parsed.message });
    return { outcome: 'ERROR', per_claim: [], errors };
  }
  const check = validateHandoffPayload(parsed.value);
  if (!check.ok) {
    const claims = (parsed.value as { claims?: unknown } | null)?.claims;
    if (Array.isArray(claims) && claims.length === 0) {
      errors.push({ code: 'no-claims', message: 'the payload has no claims' });
    }
    for (const issue of check.issues) {
      if (issue.path === '/claims' && Array.isArray(claims) && claims.length === 0) continue;
      errors.push({ code: 'invalid-payload', message: issue.message, path: issue.path });
    }
    return { outcome: 'ERROR', per_claim: [], errors };
  }
  if (errors.length > 0) return { outcome: 'ERROR', per_claim: [], errors };

  const payload = check.value;
  const ctx: Context<T> = {
    payload,
    verifier: verifier as ProofVerifier<T>,
    trustedKeys: opts.trustedKeys as T,
    store: opts.store,
    maxBodyBytes,
    endpoints: endpointContext({
      orgId: payload.provably_org_id,
      receiverEntries: opts.trustedEndpoints,
      store: opts.store,
      payloadEntries: payload.trusted_endpoints,
    }),
    bodies: new Map(),
    schemas: new Map(),
    proofs: new Map(),
  };

  const perClaim: ClaimEvaluation[] = [];
  for (const [index, claim] of payload.claims.entries()) {
    let result: ClaimEvaluation;
    try {
      result = await evaluateClaim(ctx, claim, index);
    } catch (err) {
      result = entry(claim, index, 'ERROR', 'evaluator', `evaluator failure: ${messageOf(err)}`);
    }
    perClaim.push(result);
    if (result.verdict === 'ERROR') {
      errors.push({ code: 'claim-error', claim_index: index, message: result.reason });
    }
  }
  return { outcome: worstOutcome(perClaim.map((c) => c.verdict)), per_claim: perClaim, errors };
}

interface Context<T extends TrustedKeySet> {
  payload: HandoffPayload;
  verifier: ProofVerifier<T>;
  trustedKeys: T;
  store: EvaluateOptions<T>['store'];
  maxBodyBytes: number;
  endpoints: EndpointContext;
  /** Decoded bodies by digest and encoding (filled only after a digest check passed). */
  bodies: Map<string, { ok: true; view: BodyView } | { ok: false; reason: string }>;
  schemas: SchemaCache;
  /**
   * Proof verdicts by the exact proof inputs (record, leaf index, path, checkpoint): claims on
   * the same record (several fields of one response) carry the same bundle, which is verified
   * once per evaluation. Matched by content, never by object identity, so a claim whose bundle
   * differs in any byte is verified on its own.
   */
  proofs: Map<string, { bundle: HandoffClaim['proof']; key: string | null; verdict: Promise<ProofCheck> }[]>;
}

function entry(
  claim: HandoffClaim,
  index: number,
  verdict: Outcome,
  check: CheckName,
  reason: string,
  indexed: string | null = null,
): ClaimEvaluation {
  return {
    index,
    action_name: claim.action_name,
    query_record_id: claim.query_record_id,
    mode: claim.verification_mode,
    json_path: claim.json_path ?? '$',
    verdict,
    check,
    reason: bounded(reason),
    claimed_value: showValue(claim.claimed_value),
    indexed_value: indexed,
  };
}

async function evaluateClaim<T extends TrustedKeySet>(
  ctx: Context<T>,
  claim: HandoffClaim,
  index: number,
): Promise<ClaimEvaluation> {
  const done = (verdict: Outcome, check: CheckName, reason: string, indexed: string | null = null) =>
    entry(claim, index, verdict, check, reason, indexed);
  const bundle = claim.proof;
  const record = bundle.record;
  const orgId = ctx.payload.provably_org_id;

  // 1. The proof, before anything in the bundle is believed.
  let proof: ProofCheck;
  try {
    proof = await verifyOnce(ctx, bundle);
  } catch (err) {
    return done('ERROR', 'proof', `proof verifier failed: ${messageOf(err)}`);
  }
  if (!isProofCheck(proof)) return done('ERROR', 'proof', 'proof verifier returned no verdict');
  if (!proof.ok) {
    return proof.unavailable === true
      ? done('ERROR', 'proof', `proof could not be verified: ${proof.reason}`)
      : done('CAUGHT', 'proof', `proof: ${proof.reason}`);
  }

  // 2-4. The proven record is the one the claim is about.
  if (bundle.checkpoint.org_id !== orgId) {
    return done(
      'CAUGHT',
      'org',
      `checkpoint org ${JSON.stringify(bundle.checkpoint.org_id)} is not the payload's org`,
    );
  }
  if (record.org_id !== orgId) {
    return done('CAUGHT', 'org', `record org ${JSON.stringify(record.org_id)} is not the payload's org`);
  }
  if (claim.query_record_id.toLowerCase() !== record.id.toLowerCase()) {
    return done('CAUGHT', 'record', 'query_record_id is not the id of the proven record');
  }
  if (record.action_name !== claim.action_name) {
    return done(
      'CAUGHT',
      'action',
      `the record's action_name ${JSON.stringify(record.action_name)} is not the claim's`,
    );
  }

  // 5. The stored row, when a store is at hand.
  let storedBody: Uint8Array | null = null;
  if (ctx.store !== undefined) {
    let row: Awaited<ReturnType<typeof getIntercept>>;
    try {
      row = await getIntercept(ctx.store, record.id, { orgId });
    } catch (err) {
      return done('ERROR', 'store', `cannot read the record from the store: ${messageOf(err)}`);
    }
    if (row === null) return done('CAUGHT', 'proof', 'proof: the record is not in the store');
    let same: boolean;
    try {
      const content = ctx.verifier.recordContent ? ctx.verifier.recordContent(row) : recordContentOf(row);
      same = bytesEqual(
        ctx.verifier.leafBytes(content, bundle.leaf_index),
        ctx.verifier.leafBytes(record, bundle.leaf_index),
      );
    } catch (err) {
      return done('ERROR', 'proof', `cannot compare the record with the stored row: ${messageOf(err)}`);
    }
    if (!same || row.startedAtExact === false) {
      // A started_at moved by less than a millisecond reads back as the same Date: the read says
      // so separately (verifyLog reports the same row).
      return done('CAUGHT', 'proof', 'proof: the record content differs from the stored row');
    }
    if (ctx.verifier.checkStored !== undefined) {
      let stored: string | null;
      try {
        stored = await ctx.verifier.checkStored(ctx.store, bundle);
      } catch (err) {
        return done('ERROR', 'store', `cannot read the record's proof from the store: ${messageOf(err)}`);
      }
      if (stored !== null) return done('CAUGHT', 'proof', `proof: ${stored}`);
    }
    const kept = storedBodyProblem(row);
    if (kept !== null)
      return done('CAUGHT', 'proof', `proof: the stored row's body is not the recorded one (${kept})`);
    if (!row.bodyTruncated) storedBody = row.responseBody;
  }

  // 6. The endpoint.
  const endpoint = await ctx.endpoints.check(record.url, record.started_at);
  if (!endpoint.ok) return done(endpoint.caught ? 'CAUGHT' : 'ERROR', endpoint.check, endpoint.reason);

  // 7. The body.
  if (record.body_truncated) {
    return done(
      'ERROR',
      'body',
      `the record kept only part of the body (truncated; ${record.body_size} bytes in all): it cannot be compared`,
    );
  }
  if (record.body_sha256 === null) {
    const why = record.error === null ? '' : ` (error: ${record.error})`;
    return done('CAUGHT', 'body', `the record has no response body: the call got no response${why}`);
  }
  let wire: Uint8Array;
  if (bundle.response_body !== null) {
    const decoded = strictBase64(bundle.response_body);
    if (decoded === null) return done('ERROR', 'body', 'response_body is not canonical base64');
    wire = decoded;
  } else if (storedBody !== null) {
    wire = storedBody;
  } else {
    return done('ERROR', 'body', 'the bundle leaves the response body out and no store holds it');
  }
  if (wire.byteLength !== record.body_size) {
    return done(
      'CAUGHT',
      'body',
      `the body has ${wire.byteLength} bytes, the record says ${record.body_size}`,
    );
  }
  const digest = createHash('sha256').update(wire).digest('hex');
  if (digest !== record.body_sha256) {
    return done('CAUGHT', 'body', "the body's SHA-256 is not the record's body_sha256");
  }
  const body = readBody(ctx, record.body_sha256, record.content_encoding, wire);
  if (!body.ok) return done('ERROR', 'body', body.reason);

  // 8. The value.
  const value = checkClaimValue(claim, body.view, ctx.schemas);
  return done(value.verdict, value.check, value.reason, value.indexed);
}

function verifyOnce<T extends TrustedKeySet>(
  ctx: Context<T>,
  bundle: HandoffClaim['proof'],
): Promise<ProofCheck> {
  // Bucketed by a cheap key first: the full content key (a JSON text of the whole bundle) is
  // only built when another claim of this payload is about the same record at the same place,
  // so payloads of distinct records pay nothing for the sharing.
  const bucketKey = `${bundle.record.id}\0${bundle.leaf_index}\0${bundle.checkpoint.signature}`;
  let bucket = ctx.proofs.get(bucketKey);
  if (bucket === undefined) {
    bucket = [];
    ctx.proofs.set(bucketKey, bucket);
  }
  const content = bucket.length === 0 ? null : proofContentKey(bundle);
  for (const seen of bucket) {
    seen.key ??= proofContentKey(seen.bundle);
    if (seen.key === content) return seen.verdict;
  }
  // Promise.resolve().then: a verifier that throws synchronously becomes a rejection here,
  // reported as the claim's ERROR like before (and for every claim sharing the bundle).
  const verdict = Promise.resolve().then(() => ctx.verifier.verify(bundle, ctx.trustedKeys));
  bucket.push({ bundle, key: content, verdict });
  return verdict;
}

/** Everything a proof verdict may depend on (see ProofVerifier.verify), as one string. */
function proofContentKey(bundle: HandoffClaim['proof']): string {
  return JSON.stringify([bundle.record, bundle.leaf_index, bundle.inclusion_proof, bundle.checkpoint]);
}

function readBody<T extends TrustedKeySet>(
  ctx: Context<T>,
  sha256: string,
  encoding: string | null,
  wire: Uint8Array,
): { ok: true; view: BodyView } | { ok: false; reason: string } {
  const key = `${sha256}\0${encoding ?? ''}`;
  let cached = ctx.bodies.get(key);
  if (cached === undefined) {
    try {
      const decoded = decodeBody(
        { responseBody: wire, contentEncoding: encoding, bodyTruncated: false },
        { maxOutputBytes: ctx.maxBodyBytes },
      );
      cached = { ok: true, view: bodyView(decoded) };
    } catch (err) {
      const reason =
        err instanceof ProvablyBodyDecodeError
          ? `undecodable body (${err.reason}): ${err.message}`
          : `undecodable body: ${messageOf(err)}`;
      cached = { ok: false, reason };
    }
    ctx.bodies.set(key, cached);
  }
  return cached;
}

/** A non-empty key set: an array or Map/Set with entries, or an object with own keys. */
function hasKeys(keys: unknown): boolean {
  if (Array.isArray(keys)) return keys.length > 0;
  if (keys instanceof Map || keys instanceof Set) return keys.size > 0;
  return keys !== null && typeof keys === 'object' && Object.keys(keys).length > 0;
}

function isProofCheck(v: unknown): v is ProofCheck {
  if (v === null || typeof v !== 'object') return false;
  const c = v as { ok?: unknown; reason?: unknown };
  return c.ok === true || (c.ok === false && typeof c.reason === 'string');
}

/** Standard base64 with padding, exactly as Buffer writes it; null for anything else. */
function strictBase64(text: string): Uint8Array | null {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/** The input as plain JSON data: parsed from text or bytes, or a JSON copy of an object. */
function toPlainJson(input: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    if (typeof input === 'string') return { ok: true, value: JSON.parse(input) };
    if (input instanceof Uint8Array) {
      return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input)) };
    }
    const text = JSON.stringify(input);
    if (text === undefined) return { ok: false, message: 'the payload is not a JSON value' };
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `the payload is not JSON: ${bounded(messageOf(err), 300)}` };
  }
}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}
