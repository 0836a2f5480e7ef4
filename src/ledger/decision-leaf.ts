/**
 * The leaf of one policy decision event (a provably_decisions row, migration 6) in its org's
 * Merkle log, beside the intercept leaves.
 *
 * Leaf bytes = UTF-8 of the RFC 8785 canonical JSON of one flat object: `leaf_kind: "decision"`
 * and `leaf_version: 1` (an intercept leaf says `"intercept"` or, v1, has no such key, so the two
 * kinds can never hash alike), `leaf_index`, and
 * every column of the row as stored except created_at (storage metadata): id, org_id,
 * event_type, decision, mode, reason, agent_id, action_name, session_id, params (the stored,
 * redacted JSON), params_sha256 (of the params before redaction), policy_version, policy_ids,
 * escalation_id, escalation_status, reviewer, parent_id, trace_id, span_id, outcome,
 * decided_at (ISO 8601 UTC with milliseconds), duration_ms. Every key is always present (null
 * where the column is null). Leaf hash: RFC 6962 SHA-256(0x00 ‖ bytes).
 *
 * appendDecisions (decision-append.ts) writes rows and leaves in one statement: the database
 * inserts the row from this JSON, checks the row as stored against it key by key, claims the
 * index on the org's head row and hashes the leaf (migration 8), so the leaf is exactly what a
 * verifier recomputes from the table. Its provably_ledger_leaves row says leaf_kind = 'decision'.
 * (Leaves written before migration 8 were hashed by the client from the INSERT's RETURNING row:
 * the same bytes.)
 */
import canonicalizeImport from 'canonicalize';
import { ProvablyLeafContentError } from './errors.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

import { bytesEqual, leafHash } from './merkle.js';

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

/** The leaf_kind of a decision's leaf (in its JSON and on its provably_ledger_leaves row). */
export const DECISION_LEAF_KIND = 'decision';

/** A provably_decisions row as the store returns it (jsonb parsed, timestamptz a Date). */
export type DecisionLeafRow = Record<(typeof DECISION_LEAF_COLUMNS)[number], unknown>;

const utf8 = new TextEncoder();

/** UTF-8 canonical JSON of the decision row's leaf at `leafIndex`. Throws ProvablyLeafContentError. */
export function decisionLeafBytes(row: DecisionLeafRow, leafIndex: number): Uint8Array {
  return utf8.encode(decisionLeafJson(row, leafIndex));
}

/** The canonical JSON text of the leaf (decisionLeafBytes before UTF-8). Throws ProvablyLeafContentError. */
export function decisionLeafJson(row: DecisionLeafRow, leafIndex: number): string {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) {
    throw new ProvablyLeafContentError('leaf_index', `expected a safe integer ≥ 0, got ${String(leafIndex)}`);
  }
  const content: Record<string, unknown> = {
    leaf_kind: DECISION_LEAF_KIND,
    leaf_version: 1,
    leaf_index: leafIndex,
  };
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
  return json;
}

/** RFC 6962 leaf hash of a decision row at `leafIndex`. */
export function decisionLeafHash(row: DecisionLeafRow, leafIndex: number): Uint8Array {
  return leafHash(decisionLeafBytes(row, leafIndex));
}

/**
 * The decision row of a leaf, for the ledger's joined reads (rows.ts): one jsonb value (null
 * when the leaf is not a decision's). duration_ms goes as text: float8 → jsonb rounds to 15
 * digits, its text form is exact.
 */
export const DECISION_ROW_SQL = `(SELECT to_jsonb(d) || jsonb_build_object('duration_ms', d.duration_ms::text)
  FROM provably_decisions d WHERE d.id = l.record_id) AS d_row`;

/** The decision row as decisionLeafBytes takes it, from DECISION_ROW_SQL's jsonb. */
function decisionRowFromJson(j: Record<string, unknown>): DecisionLeafRow {
  const row = {} as DecisionLeafRow;
  for (const c of DECISION_LEAF_COLUMNS) row[c] = j[c] ?? null;
  row.decided_at = typeof j.decided_at === 'string' ? new Date(j.decided_at) : null;
  row.duration_ms = j.duration_ms === null || j.duration_ms === undefined ? null : Number(j.duration_ms);
  return row;
}

/** rowProblem for a decision leaf: the row is the org's and rebuilds the stored leaf hash. */
export function decisionRowProblem(
  joined: Record<string, unknown>,
  orgId: string,
  index: number,
):
  | { kind: 'ok'; hash: Uint8Array; detail: '' }
  | { kind: 'record-mismatch'; hash: Uint8Array | null; detail: string } {
  const j = joined.d_row as Record<string, unknown>;
  const id = String(j.id);
  if (String(j.org_id) !== orgId) {
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `decision ${id} belongs to org ${JSON.stringify(j.org_id)}`,
    };
  }
  // The leaf binds decided_at to the millisecond; finer digits in the row (a Date would drop
  // them) mean the stored row is not the row the leaf was built from.
  if (typeof j.decided_at === 'string' && /\.\d{4,}/.test(j.decided_at)) {
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `decision ${id} carries sub-millisecond digits in decided_at (${j.decided_at}) the leaf cannot bind`,
    };
  }
  let hash: Uint8Array;
  try {
    hash = decisionLeafHash(decisionRowFromJson(j), index);
  } catch (err) {
    return {
      kind: 'record-mismatch',
      hash: null,
      detail: `decision ${id} cannot be canonicalized: ${(err as Error).message}`,
    };
  }
  const stored = joined.l_hash as Uint8Array;
  if (!(stored instanceof Uint8Array) || !bytesEqual(hash, stored)) {
    return {
      kind: 'record-mismatch',
      hash,
      detail: `decision ${id} does not match leaf ${index} (stored ${hex(stored)}, recomputed ${hex(hash)})`,
    };
  }
  return { kind: 'ok', hash, detail: '' };
}
