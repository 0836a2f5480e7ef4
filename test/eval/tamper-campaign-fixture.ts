/**
 * The pristine state the evaluator tamper campaign starts every case from: two orgs' logs written
 * the way a running agent writes them (the real recorder, leaves appended in each batch's
 * transaction, checkpoints issued by the ledger), and a handoff payload built from the main org
 * with buildHandoffPayload BEFORE any edit, as a sender would have handed it over.
 *
 * Main org (ORG), 24 records in leaf order; by i % 6:
 *   0-3  claimable: a JSON body (2: gzip on the wire; 3: multi-valued and unicode headers)
 *   4    a failed call (no response, no body)
 *   5    a truncated body (the recorder kept only a prefix)
 * Checkpoints at tree sizes 8 and 14, then the payload's own checkpoint at 20 (it covers every
 * claimed record); records 20-23 come after it and are covered by no checkpoint.
 * Other org (OTHER): 6 records, a checkpoint at 4, two uncovered.
 * Decisions org (DECISIONS, tamper-campaign-decisions.ts): 14 policy decision events written by a
 * local ProvablyGateway, 4 escalations, a checkpoint at 12.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  buildHandoffPayload,
  type HandoffClaim,
  type HandoffPayload,
  type ModelClaim,
} from '../../src/handoff/index.js';
import {
  appendLeavesByOrg,
  generateSigningKeyPem,
  issueCheckpoint,
  type Signer,
  signerFromPem,
  type TrustedKeys,
  trustedKeysOf,
} from '../../src/ledger/index.js';
import { createRecorder, getIntercept, type InterceptRecord } from '../../src/record/index.js';
import type { Store } from '../../src/store/index.js';
import { addTrustedEndpoint } from '../../src/trust/index.js';
import { type DecisionLog, writeDecisionLog } from './tamper-campaign-decisions.js';

export const ORG = 'campaign';
export const OTHER = 'campaign-other';
export const TRACE = createHash('sha256').update('campaign-run').digest('hex').slice(0, 32);
export const ORG_RECORDS = 24;
export const ORG_CHECKPOINTS = [8, 14];
/** The tree size of the payload's checkpoint: records below it can be claimed. */
export const PAYLOAD_SIZE = 20;
export const OTHER_RECORDS = 6;
export const OTHER_CHECKPOINTS = [4];
const TRUNCATE_AT = 64;

export type RecordKind = 'claimable' | 'failed' | 'truncated';

export interface LoggedRecord {
  /** Position in its org's log (leaf index). */
  index: number;
  orgId: string;
  kind: RecordKind;
  /** The row as stored and logged, read back after recording. */
  row: InterceptRecord;
}

export interface CampaignLog {
  records: LoggedRecord[];
  other: LoggedRecord[];
  checkpointIds: string[];
  otherCheckpointIds: string[];
  signer: Signer;
  /** A key no verifier trusts: what a superuser without the signing key can sign with. */
  attacker: Signer;
  trustedKeys: TrustedKeys;
  /** The payload of every claimable record, built before any edit. */
  payload: HandoffPayload;
  /** The payload's claim about each claimable record, by record id. */
  claims: Map<string, HandoffClaim>;
  /** What the model said about each claimable record (for rebuilding after an edit). */
  modelClaims: Map<string, ModelClaim>;
  /** The DECISIONS org: policy decisions and escalations (tamper-campaign-decisions.ts). */
  decisionLog: DecisionLog;
}

export const kindOf = (i: number): RecordKind =>
  i % 6 === 4 ? 'failed' : i % 6 === 5 ? 'truncated' : 'claimable';

const ACTIONS = ['fetch_quote', 'search', 'pay'];

function bodyOf(i: number): Record<string, unknown> {
  return {
    id: i,
    symbol: `SYM${i}`,
    price: 100 + i * 1.25,
    tags: ['a', 'é', '😀'],
    note: `naïve ☃ ${'x'.repeat(i * 7)}`,
  };
}

/** The model's claim about record i: each verification mode in turn, each true of the body. */
function modelClaimFor(i: number, id: string): ModelClaim {
  const body = bodyOf(i);
  const action_name = ACTIONS[i % 3] as string;
  switch (i % 4) {
    case 0:
      return {
        action_name,
        query_record_id: id,
        verification_mode: 'field_extraction',
        json_path: '$.price',
        claimed_value: body.price as number,
      };
    case 1:
      return {
        action_name,
        query_record_id: id,
        verification_mode: 'verbatim',
        json_path: '$.symbol',
        claimed_value: body.symbol as string,
      };
    case 2:
      return {
        action_name,
        query_record_id: id,
        verification_mode: 'range_threshold',
        json_path: '$.price',
        claimed_value: body.price as number,
        range_min: 0,
        range_max: 1000,
      };
    default:
      return {
        action_name,
        query_record_id: id,
        verification_mode: 'schema_type',
        json_path: '$',
        expected_json_schema: { type: 'object', required: ['id', 'price', 'tags'] },
      };
  }
}

/** Records one call of `orgId` through the real recorder; its leaf is appended in the same transaction. */
async function recordCall(store: Store, orgId: string, i: number): Promise<LoggedRecord> {
  const kind = kindOf(i);
  const recorder = createRecorder({
    store: () => store,
    env: {},
    maxBodyBytes: kind === 'truncated' ? TRUNCATE_AT : undefined,
    withinBatch: (tx, rows) => appendLeavesByOrg(tx, rows),
  });
  const call = recorder.start(
    {
      orgId,
      agentId: i % 2 === 0 ? 'agent-a' : 'agent-ü',
      actionName: ACTIONS[i % 3] as string,
      interceptIndex: i % 5 === 0 ? null : i,
      traceId: orgId === ORG ? TRACE : null,
      spanId: createHash('sha256').update(`${orgId}/${i}`).digest('hex').slice(0, 16),
    },
    {
      method: i % 3 === 2 ? 'POST' : 'GET',
      url: `https://api.example.com/v1/items/${i}`,
      headers: {
        accept: 'application/json',
        authorization: 'Bearer secret',
        ...(i % 6 === 3 ? { 'x-multi': ['one', 'two'], 'x-unicode': 'naïve ☃' } : {}),
      },
      startedAt: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6) + i * 1000 + (i % 7)),
    },
  );
  // Who answered: TLS most of the time, plain HTTP or a proxy now and then; a failed call never
  // connected (no peer).
  if (kind !== 'failed') {
    const tls = i % 4 !== 1;
    call.peer({
      address: i % 3 === 0 ? '::1' : '127.0.0.1',
      port: tls ? 8443 : 8080,
      protocol: i % 5 === 2 ? 'h2' : 'http/1.1',
      tls: tls
        ? {
            certSha256: createHash('sha256').update(`cert/${orgId}/${i}`).digest('hex'),
            subject: 'CN=api.example.com',
            subjectAltName: i % 6 === 0 ? null : 'DNS:api.example.com, IP Address:127.0.0.1',
          }
        : null,
      proxy: i % 7 === 3 ? 'http://127.0.0.1:3128' : null,
    });
  }
  if (kind === 'failed') {
    await call.fail(new Error('fetch failed: ECONNRESET'));
  } else {
    const json = Buffer.from(
      JSON.stringify(kind === 'truncated' ? { ...bodyOf(i), pad: 'p'.repeat(300) } : bodyOf(i)),
    );
    const gzip = i % 6 === 2;
    call.response(200, {
      'content-type': 'application/json',
      'x-request-id': `r${i}`,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    const wire = gzip ? gzipSync(json) : json;
    // Two chunks, as a network delivers them.
    call.chunk(wire.subarray(0, 10));
    call.chunk(wire.subarray(10));
    await call.finish();
  }
  await recorder.close();
  const row = await getIntercept(store, call.id, { orgId });
  if (row === null) throw new Error(`record ${i} of ${orgId} was not stored`);
  return { index: i, orgId, kind, row };
}

async function recordOrg(
  store: Store,
  orgId: string,
  from: number,
  to: number,
  checkpointsAt: readonly number[],
  signer: Signer,
  out: { records: LoggedRecord[]; checkpointIds: string[] },
): Promise<void> {
  for (let i = from; i < to; i++) {
    out.records.push(await recordCall(store, orgId, i));
    if (checkpointsAt.includes(i + 1))
      out.checkpointIds.push((await issueCheckpoint(store, orgId, signer)).id);
  }
}

/** Writes the pristine state into an empty migrated store. */
export async function writeCampaignLog(store: Store): Promise<CampaignLog> {
  const signer = signerFromPem(generateSigningKeyPem());
  const attacker = signerFromPem(generateSigningKeyPem());
  for (const orgId of [ORG, OTHER]) {
    await addTrustedEndpoint('https://api.example.com/v1/items/{id}', { orgId, store });
  }
  const main = { records: [] as LoggedRecord[], checkpointIds: [] as string[] };
  const other = { records: [] as LoggedRecord[], checkpointIds: [] as string[] };
  await recordOrg(store, ORG, 0, PAYLOAD_SIZE, ORG_CHECKPOINTS, signer, main);
  await recordOrg(store, OTHER, 0, OTHER_RECORDS, OTHER_CHECKPOINTS, signer, other);

  const modelClaims = new Map<string, ModelClaim>();
  for (const r of main.records)
    if (r.kind === 'claimable') modelClaims.set(r.row.id, modelClaimFor(r.index, r.row.id));
  const built = await buildHandoffPayload(
    { claims: [...modelClaims.values()] },
    { task: 'tamper campaign', traceId: TRACE, orgId: ORG, store, signer },
  );
  if (built.unresolved.length > 0) throw new Error(`unresolved claims: ${JSON.stringify(built.unresolved)}`);
  const checkpoint = await store.query<{ id: string }>(
    'SELECT id FROM provably_checkpoints WHERE org_id = $1 AND tree_size = $2',
    [ORG, PAYLOAD_SIZE],
  );
  main.checkpointIds.push(checkpoint.rows[0]?.id as string);
  await recordOrg(store, ORG, PAYLOAD_SIZE, ORG_RECORDS, [], signer, main);

  const claims = new Map(built.payload.claims.map((c) => [c.query_record_id, c]));
  const decisionLog = await writeDecisionLog(store, signer);
  return {
    decisionLog,
    records: main.records,
    other: other.records,
    checkpointIds: main.checkpointIds,
    otherCheckpointIds: other.checkpointIds,
    signer,
    attacker,
    trustedKeys: trustedKeysOf(signer),
    payload: built.payload,
    claims,
    modelClaims,
  };
}

/** The payload with only the claim about `recordId`; without its body when `bodiless`. */
export function singleClaimPayload(log: CampaignLog, recordId: string, bodiless = false): HandoffPayload {
  const claim = structuredClone(log.claims.get(recordId) as HandoffClaim);
  if (bodiless) claim.proof.response_body = null;
  return { ...structuredClone(log.payload), claims: [claim] };
}
