/**
 * The leaf of one policy decision event (a provably_decisions row, migration 6) in its org's
 * Merkle log, beside the intercept leaves.
 *
 * Leaf bytes = UTF-8 of the RFC 8785 canonical JSON of one flat object: `leaf_kind: "decision"`
 * (an intercept leaf has no such key, so the two kinds can never hash alike), `leaf_index`, and
 * every column of the row as stored except created_at (storage metadata): id, org_id,
 * event_type, decision, mode, reason, agent_id, action_name, session_id, params (the stored,
 * redacted JSON), params_sha256 (of the params before redaction), policy_version, policy_ids,
 * escalation_id, escalation_status, reviewer, parent_id, trace_id, span_id, outcome,
 * decided_at (ISO 8601 UTC with milliseconds), duration_ms. Every key is always present (null
 * where the column is null). Leaf hash: RFC 6962 SHA-256(0x00 ‖ bytes).
 *
 * appendDecisionLeaf appends through the ledger's own index claim (CLAIM_SQL: the org's head
 * row, locked to commit), inside the caller's transaction, from the row AS STORED (the
 * INSERT's RETURNING): the leaf is exactly what a verifier recomputes from the table.
 */
import canonicalizeImport from 'canonicalize';
import type { Queryable } from '../store/types.js';
import { CLAIM_SQL } from './append.js';
import { ProvablyLeafContentError } from './errors.js';
import { leafHash } from './merkle.js';
import { hex } from './rows.js';

const canonicalize = ((): ((v: unknown) => string | undefined) => {
  const m = canonicalizeImport as unknown;
  return typeof m === 'function'
    ? (m as (v: unknown) => string | undefined)
    : (m as { default: (v: unknown) => string | undefined }).default;
})();

/** The provably_decisions columns a decision leaf binds, in the order they are listed above. */
export const DECISION_LEAF_COLUMNS = [
  'id',
  'org_id',
  'event_type',
  'decision',
  'mode',
  'reason',
  'agent_id',
  'action_name',
  'session_id',
  'params',
  'params_sha256',
  'policy_version',
  'policy_ids',
  'escalation_id',
  'escalation_status',
  'reviewer',
  'parent_id',
  'trace_id',
  'span_id',
  'outcome',
  'decided_at',
  'duration_ms',
] as const;

/** A provably_decisions row as the store returns it (jsonb parsed, timestamptz a Date). */
export type DecisionLeafRow = Record<(typeof DECISION_LEAF_COLUMNS)[number], unknown>;

/** UTF-8 canonical JSON of the decision row's leaf at `leafIndex`. Throws ProvablyLeafContentError. */
export function decisionLeafBytes(row: DecisionLeafRow, leafIndex: number): Uint8Array {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) {
    throw new ProvablyLeafContentError('leaf_index', `expected a safe integer ≥ 0, got ${String(leafIndex)}`);
  }
  const content: Record<string, unknown> = { leaf_kind: 'decision', leaf_index: leafIndex };
  for (const c of DECISION_LEAF_COLUMNS) {
    const v = row[c];
    if (c === 'decided_at') {
      if (!(v instanceof Date) || Number.isNaN(v.getTime())) {
        throw new ProvablyLeafContentError('decided_at', `expected a valid Date, got ${String(v)}`);
      }
      content[c] = v.toISOString();
    } else {
      content[c] = v === undefined ? null : v;
    }
  }
  let json: string | undefined;
  try {
    json = canonicalize(content);
  } catch (err) {
    throw new ProvablyLeafContentError('decision', (err as Error).message, { cause: err });
  }
  if (json === undefined) throw new ProvablyLeafContentError('decision', 'has no JSON form');
  return new TextEncoder().encode(json);
}

/** RFC 6962 leaf hash of a decision row at `leafIndex`. */
export function decisionLeafHash(row: DecisionLeafRow, leafIndex: number): Uint8Array {
  return leafHash(decisionLeafBytes(row, leafIndex));
}

/**
 * Appends the just-inserted decision row (as stored) to its org's log, in `tx` (the caller's
 * transaction: the row and its leaf commit together). Returns its index and hex hash.
 */
export async function appendDecisionLeaf(
  tx: Queryable,
  row: DecisionLeafRow,
): Promise<{ leafIndex: number; leafHash: string }> {
  const orgId = String(row.org_id);
  decisionLeafBytes(row, 0); // refuse a row with no leaf form before the head moves
  const claimed = await tx.query<{ first: string | number }>(CLAIM_SQL, [orgId, 1]);
  const leafIndex = Number(claimed.rows[0]?.first);
  const hash = hex(decisionLeafHash(row, leafIndex));
  await tx.query(
    `INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash)
     VALUES ($1, $2, $3::uuid, decode($4, 'hex'))`,
    [orgId, leafIndex, String(row.id), hash],
  );
  return { leafIndex, leafHash: hash };
}
