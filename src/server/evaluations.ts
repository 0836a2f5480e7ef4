/** The provably_evaluations table: one append-only row per evaluated handoff. */
import { createHash } from 'node:crypto';
import type { EvaluationResult } from '../eval/index.js';
import type { HandoffPayload } from '../handoff/index.js';
import type { Queryable } from '../store/index.js';

export interface StoredEvaluation {
  id: string;
  org_id: string;
  run_id: string | null;
  task: string | null;
  outcome: EvaluationResult['outcome'];
  claim_count: number;
  payload_sha256: string;
  result: EvaluationResult;
  created_at: string;
}

export async function saveEvaluation(
  store: Queryable,
  payload: HandoffPayload,
  canonicalPayload: string,
  result: EvaluationResult,
): Promise<StoredEvaluation> {
  const res = await store.query<Record<string, unknown>>(
    `INSERT INTO provably_evaluations (org_id, run_id, task, outcome, claim_count, payload_sha256, result)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING id, org_id, run_id, task, outcome, claim_count, payload_sha256, result, created_at`,
    [
      payload.provably_org_id,
      payload.run_id,
      payload.task,
      result.outcome,
      payload.claims.length,
      createHash('sha256').update(canonicalPayload).digest('hex'),
      // jsonb refuses U+0000 and unpaired surrogates; a reason may echo sender text (or be cut
      // inside a surrogate pair), so the stored copy replaces them with U+FFFD (bug fix: the
      // INSERT failed and the service answered 500).
      JSON.stringify(result, (_key, value) => (typeof value === 'string' ? storableText(value) : value)),
    ],
  );
  return toStored(res.rows[0] as Record<string, unknown>);
}

export async function getEvaluation(store: Queryable, id: string): Promise<StoredEvaluation | null> {
  const res = await store.query<Record<string, unknown>>(
    `SELECT id, org_id, run_id, task, outcome, claim_count, payload_sha256, result, created_at
     FROM provably_evaluations WHERE id = $1`,
    [id],
  );
  const row = res.rows[0];
  return row ? toStored(row) : null;
}

function toStored(row: Record<string, unknown>): StoredEvaluation {
  return {
    id: String(row.id),
    org_id: String(row.org_id),
    run_id: row.run_id === null ? null : String(row.run_id),
    task: row.task === null ? null : String(row.task),
    outcome: row.outcome as StoredEvaluation['outcome'],
    claim_count: Number(row.claim_count),
    payload_sha256: String(row.payload_sha256),
    result: row.result as EvaluationResult,
    created_at: (row.created_at as Date).toISOString(),
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with what PostgreSQL text/jsonb cannot hold (U+0000, lone surrogates) as U+FFFD. */
function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}
