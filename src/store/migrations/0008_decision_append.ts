/**
 * Migration 8: policy decisions appended in ONE statement, the database checking each leaf.
 *
 * Until now a decision cost BEGIN, the INSERT of its provably_decisions row, the claim of its
 * index on the org's head row, the INSERT of its leaf (hashed by the client) and COMMIT: five
 * round trips with the org's head locked across them. provably_decisions_append does what
 * provably_ledger_append_intercepts (migration 5) does for intercepts, in one statement and for
 * any number of decisions (the gateway's group commit, src/policy/decision-writer.ts):
 *
 *   leaves  [{ k: claim order, ord: position in its org's batch, pre, suf }]: each decision's
 *           leaf, the RFC 8785 canonical JSON of src/ledger/decision-leaf.ts built by the client
 *           with leaf_index 0 and split around that 0;
 *   claims  [{ k, org, n }]: the indexes to claim on each org's head row, taken in k order (the
 *           client's sorted order, shared with the intercept batches) so batches never deadlock.
 *
 * The ROW IS BUILT FROM THE LEAF JSON (one source, nothing to drift apart), inserted, and then,
 * as stored (after any trigger), turned back into leaf JSON in the representation a verifier
 * reads back, which must equal the client's: exactly the 25 keys of a decision leaf (leaf_kind
 * "decision", leaf_version 1, leaf_index 0 as the placeholder), text as JSON strings byte for
 * byte, jsonb as jsonb, decided_at as the exact millisecond ISO text of the stored instant (and
 * that instant the one the leaf names: no finer digits), duration_ms as a number. Any difference raises PVL01 (provably_ledger_refuse, migration 4) and fails the
 * statement: no row and no leaf is written. The leaf hash is computed here, sha256(0x00 ‖ the
 * JSON with the claimed index spliced in) (RFC 6962), never taken from the client.
 *
 * Returns { "<decision id>": leaf_index, … }. Leaves written before this migration (client
 * hashed, migration 6) are unchanged and keep verifying byte for byte: the leaf format is the
 * same, only who computes the hash moved. A process of the previous version still appends its
 * way (CLAIM_SQL) during a rolling upgrade: the head row serializes both.
 */
import type { Migration } from './types.js';

/**
 * The leaf JSON the stored row gives, built in SQL: it must EQUAL the client's (jsonb equality:
 * the same keys, no more, each value of the same JSON type and value). Text as JSON strings,
 * uuids as their text, jsonb as itself (a NULL outcome as null), decided_at as the millisecond
 * ISO text of the stored instant — which must also be the instant the leaf names, so no finer
 * digits hide in the row — and duration_ms as a number.
 */
const LEAF_OF_ROW = `jsonb_build_object(
      'leaf_kind', 'decision', 'leaf_version', 1, 'leaf_index', 0,
      'id', b.id::text, 'org_id', b.org_id, 'event_type', b.event_type, 'decision', b.decision,
      'mode', b.mode, 'reason', b.reason, 'agent_id', b.agent_id, 'action_name', b.action_name,
      'session_id', b.session_id, 'params', b.params, 'params_sha256', b.params_sha256,
      'policy_version', b.policy_version, 'policy_ids', b.policy_ids,
      'escalation_id', b.escalation_id::text, 'escalation_status', b.escalation_status,
      'reviewer', b.reviewer, 'parent_id', b.parent_id::text, 'trace_id', b.trace_id,
      'span_id', b.span_id, 'outcome', COALESCE(b.outcome, 'null'::jsonb),
      'decided_at', to_char(b.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'duration_ms', b.duration_ms)`;
const CHECKS = `b.j = ${LEAF_OF_ROW}
        AND b.decided_at = (b.j->>'decided_at')::timestamptz`;

export const migration0008: Migration = {
  version: 8,
  name: 'decision_append',
  sql: `
CREATE FUNCTION provably_decisions_append(claims jsonb, leaves jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  appended jsonb;
BEGIN
  WITH claim_in AS (SELECT * FROM jsonb_to_recordset(claims) AS c(k int, org text, n bigint)),
  claimed AS (
    INSERT INTO provably_ledger_heads AS h (org_id, next_index)
    SELECT c.org, COALESCE((SELECT max(l.leaf_index) + 1 FROM provably_ledger_leaves l WHERE l.org_id = c.org), 0) + c.n
    FROM claim_in c ORDER BY c.k
    ON CONFLICT (org_id) DO UPDATE
      SET next_index = GREATEST(h.next_index + (SELECT c.n FROM claim_in c WHERE c.org = EXCLUDED.org_id), EXCLUDED.next_index)
    RETURNING h.org_id, h.next_index),
  heads AS (SELECT cl.org_id, cl.next_index - c.n AS first FROM claimed cl JOIN claim_in c ON c.org = cl.org_id),
  leaf_in AS (
    SELECT x.ord, x.pre, x.suf, (x.pre || '0' || x.suf)::jsonb AS j
    FROM jsonb_to_recordset(leaves) AS x(ord bigint, pre text, suf text)),
  ins AS (
    INSERT INTO provably_decisions (id, org_id, event_type, decision, mode, reason, agent_id, action_name,
      session_id, params, params_sha256, policy_version, policy_ids, escalation_id, escalation_status,
      reviewer, parent_id, trace_id, span_id, outcome, decided_at, duration_ms)
    SELECT (j->>'id')::uuid, j->>'org_id', j->>'event_type', j->>'decision', j->>'mode', j->>'reason',
      j->>'agent_id', j->>'action_name', j->>'session_id', j->'params', j->>'params_sha256',
      j->>'policy_version', j->'policy_ids', (j->>'escalation_id')::uuid, j->>'escalation_status',
      j->>'reviewer', (j->>'parent_id')::uuid, j->>'trace_id', j->>'span_id',
      NULLIF(j->'outcome', 'null'::jsonb), (j->>'decided_at')::timestamptz, (j->>'duration_ms')::float8
    FROM leaf_in
    RETURNING *),
  built AS MATERIALIZED (
    SELECT i.*, x.j, x.pre, x.suf, hd.first + x.ord AS leaf_index
    FROM ins i LEFT JOIN leaf_in x ON x.j->>'id' = i.id::text LEFT JOIN heads hd ON hd.org_id = i.org_id),
  written AS (
    INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash, leaf_kind)
    SELECT b.org_id, b.leaf_index, b.id,
      CASE WHEN b.leaf_index IS NOT NULL
        AND ${CHECKS}
      THEN sha256('\\x00'::bytea || convert_to(b.pre || b.leaf_index::text || b.suf, 'UTF8'))
      ELSE provably_ledger_refuse('decision ' || b.id::text || ' as stored is not the row its leaf was built from')
      END,
      'decision'
    FROM built b
    RETURNING record_id, leaf_index)
  SELECT COALESCE(jsonb_object_agg(w.record_id::text, w.leaf_index), '{}'::jsonb) INTO appended FROM written w;
  RETURN appended;
END
$fn$;
`,
};
