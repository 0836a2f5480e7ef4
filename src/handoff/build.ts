/**
 * The sending side: turns the claims a model emitted into a handoff payload whose every claim is
 * pinned to the exact recorded row of THIS run and carries its proof (record content, body,
 * inclusion proof, signed checkpoint). A claim is never pointed at "the latest row with this
 * action name": it resolves by record id, or to the single row of its action in the run's trace;
 * anything else is reported unresolved with the reason.
 */
import { trace } from '@opentelemetry/api';
import { defaultOrgId } from '../config/index.js';
import { ProvablyError } from '../errors/index.js';
import {
  ensureCheckpoint,
  type InclusionProof,
  inclusionProofs,
  loadSigner,
  type Signer,
} from '../ledger/index.js';
import { getIntercept, type InterceptRecord, listIntercepts } from '../record/index.js';
import { getDefaultStore, type Store } from '../store/index.js';
import { listTrustedEndpoints } from '../trust/index.js';
import { canonicalPayloadJson } from './canonical.js';
import { type ParseClaimsOptions, parseClaimsFromModel } from './parse.js';
import { recordContentOf } from './record.js';
import type { HandoffClaim, HandoffPayload, ModelClaim } from './types.js';

export interface BuildHandoffOptions {
  task: string;
  /** Identifies this run to the receiver; defaults to the run's trace id. */
  runId?: string;
  /** The run's OpenTelemetry trace id; defaults to the active span's. Records outside it never resolve. */
  traceId?: string;
  orgId?: string;
  store?: Store;
  /** Signs the checkpoint issued for this payload (when the latest does not cover the log already); default: PROVABLY_SIGNING_KEY or the data dir's key. */
  signer?: Signer;
  /** Leave bodies out of the bundles (the receiver must then hold the store). Default false. */
  omitBodies?: boolean;
  /** Options for parsing the model's output (e.g. the action names it may use). */
  parse?: ParseClaimsOptions;
}

export interface UnresolvedClaim {
  index: number;
  action_name: string;
  reason: string;
}

export interface BuiltHandoff {
  payload: HandoffPayload;
  /** Claims that could not be pinned to a record of this run (left out of the payload). */
  unresolved: UnresolvedClaim[];
}

/** No claim of the model's output could be pinned to a record of this run. */
export class ProvablyHandoffBuildError extends ProvablyError {
  readonly code = 'PROVABLY_HANDOFF_UNRESOLVED';
  readonly unresolved: readonly UnresolvedClaim[];
  constructor(message: string, unresolved: readonly UnresolvedClaim[]) {
    super(message);
    this.unresolved = unresolved;
  }
}

export async function buildHandoffPayload(
  claimsFromModel: unknown,
  options: BuildHandoffOptions,
): Promise<BuiltHandoff> {
  const { claims } = parseClaimsFromModel(claimsFromModel, options.parse);
  const store = options.store ?? getDefaultStore();
  const orgId = options.orgId ?? defaultOrgId();
  const traceId = options.traceId ?? activeTraceId();
  if (traceId === undefined) {
    throw new ProvablyHandoffBuildError(
      "no run to resolve claims in: call buildHandoffPayload inside the run's span or pass options.traceId",
      [],
    );
  }

  const unresolved: UnresolvedClaim[] = [];
  const resolved: { claim: ModelClaim; record: InterceptRecord }[] = [];
  for (const [index, claim] of claims.entries()) {
    const found = await resolveRecord(store, orgId, traceId, claim);
    if (typeof found === 'string') unresolved.push({ index, action_name: claim.action_name, reason: found });
    else resolved.push({ claim, record: found });
  }
  if (resolved.length === 0) {
    const reasons = unresolved.map((u) => `claim ${u.index} (${u.action_name}): ${u.reason}`).join('; ');
    throw new ProvablyHandoffBuildError(`no claim resolved to a record of this run: ${reasons}`, unresolved);
  }

  // A checkpoint of the whole log covers every record resolved above (they were committed with
  // their leaves): the latest one when it already does and is this signer's, else a new one.
  const signer = options.signer ?? loadSigner();
  const checkpoint = await ensureCheckpoint(store, orgId, signer);
  const { id: _id, ...signed } = checkpoint;
  const handoffClaims: HandoffClaim[] = [];
  const proofs = await inclusionProofs(
    store,
    orgId,
    resolved.map((r) => r.record.id),
    checkpoint.tree_size,
  );
  for (const [i, { claim, record }] of resolved.entries()) {
    const proof = proofs[i] as InclusionProof;
    handoffClaims.push({
      ...claim,
      query_record_id: record.id,
      proof: {
        record: recordContentOf(record),
        response_body:
          options.omitBodies || record.responseBody === null
            ? null
            : Buffer.from(record.responseBody).toString('base64'),
        leaf_index: proof.leafIndex,
        inclusion_proof: proof.proof,
        checkpoint: signed,
      },
    });
  }
  const endpoints = await listTrustedEndpoints({ orgId, store });
  const payload: HandoffPayload = {
    provably_org_id: orgId,
    task: options.task,
    run_id: options.runId ?? traceId,
    claims: handoffClaims,
    trusted_endpoints: endpoints.map((e) => e.normalizedUrl),
  };
  canonicalPayloadJson(payload); // validates against the published schema before it leaves
  return { payload, unresolved };
}

async function resolveRecord(
  store: Store,
  orgId: string,
  traceId: string,
  claim: ModelClaim,
): Promise<InterceptRecord | string> {
  if (claim.query_record_id) {
    const record = await getIntercept(store, claim.query_record_id, { orgId });
    if (!record) return `no record ${claim.query_record_id} in org ${orgId}`;
    if (record.traceId !== traceId)
      return `record ${record.id} belongs to another run (trace ${record.traceId ?? 'none'})`;
    if (record.actionName !== claim.action_name) {
      return `record ${record.id} was made by action ${record.actionName}, not ${claim.action_name}`;
    }
    return record;
  }
  const rows = await listIntercepts(store, { orgId, traceId, actionName: claim.action_name, limit: 2 });
  if (rows.length === 0)
    return `action ${claim.action_name} made no recorded call in this run (trace ${traceId})`;
  if (rows.length > 1) {
    return `action ${claim.action_name} made several calls in this run; name the one meant with query_record_id`;
  }
  return rows[0] as InterceptRecord;
}

function activeTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && ctx.traceId !== '00000000000000000000000000000000' ? ctx.traceId : undefined;
}
