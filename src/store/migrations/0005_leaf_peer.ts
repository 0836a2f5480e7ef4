/**
 * Migration 5: who answered — the peer of every recorded call, and leaf version 2 that binds it.
 *
 * provably_intercepts gains the connection that carried the call (remote address and port, the
 * wire protocol, the TLS certificate's SHA-256, subject and subjectAltName, the egress proxy) and
 * leaf_version, the format of the row's leaf (src/ledger/leaf.ts). Rows written before this
 * migration keep version 1 — the DEFAULT, applied without rewriting the table — and their leaves
 * keep hashing byte for byte as they did; the recorder writes version 2. A version-1 row never
 * holds a peer (a v1 leaf cannot bind one): the CHECK refuses it. The constraints are NOT VALID
 * because every existing row satisfies them by construction (version 1, no peer) and validating
 * would scan the whole table inside the migration's transaction.
 *
 * provably_ledger_leaves gains leaf_kind: which table a leaf's record lives in. Every leaf so far
 * is an intercept's; a later kind (policy decisions) adds its own rows beside them without
 * another change here (hence no CHECK on the values). verifyLog refuses kinds it cannot verify.
 *
 * provably_ledger_append_intercepts replaces provably_ledger_append for the recorder's
 * one-statement batches (src/ledger/batch.ts): it takes the stored rows with their version and
 * peer columns and checks, per row, that the leaf JSON is exactly the row — the same keys, no
 * more (20 for version 1, 29 for version 2), every value equal to its column. The old function
 * and its row type stay, so a process of the previous version still appends (version-1 rows, as
 * before) during a rolling upgrade. The append-only triggers of migration 1 cover the new columns
 * as they cover every column.
 */
import type { Migration } from './types.js';

export const migration0005: Migration = {
  version: 5,
  name: 'leaf_peer',
  sql: `
ALTER TABLE provably_intercepts
  ADD COLUMN leaf_version smallint NOT NULL DEFAULT 1,
  ADD COLUMN peer_address text,
  ADD COLUMN peer_port integer,
  ADD COLUMN peer_protocol text,
  ADD COLUMN peer_tls_cert_sha256 text,
  ADD COLUMN peer_tls_subject text,
  ADD COLUMN peer_tls_subject_alt_name text,
  ADD COLUMN peer_proxy text;

ALTER TABLE provably_intercepts
  ADD CONSTRAINT provably_intercepts_leaf_version CHECK (leaf_version IN (1, 2)) NOT VALID,
  ADD CONSTRAINT provably_intercepts_v1_no_peer CHECK (
    leaf_version <> 1 OR (peer_address IS NULL AND peer_port IS NULL AND peer_protocol IS NULL
      AND peer_tls_cert_sha256 IS NULL AND peer_tls_subject IS NULL
      AND peer_tls_subject_alt_name IS NULL AND peer_proxy IS NULL)) NOT VALID;

ALTER TABLE provably_ledger_leaves ADD COLUMN leaf_kind text NOT NULL DEFAULT 'intercept';

-- The columns of an intercept row that its leaf binds, as stored (src/record/read.ts's
-- WRITTEN_COLUMNS without the body, in that order).
CREATE TYPE provably_intercept_leaf_row AS (
  id uuid, org_id text, agent_id text, action_name text, intercept_index integer, trace_id text,
  span_id text, method text, url text, status integer, request_headers jsonb,
  response_headers jsonb, content_encoding text, body_sha256 text, body_size bigint,
  body_truncated boolean, error text, started_at timestamptz, duration_ms double precision,
  leaf_version smallint, peer_address text, peer_port integer, peer_protocol text,
  peer_tls_cert_sha256 text, peer_tls_subject text, peer_tls_subject_alt_name text, peer_proxy text
);

-- As provably_ledger_append (migration 4), for rows of either leaf version.
CREATE FUNCTION provably_ledger_append_intercepts(stored provably_intercept_leaf_row[], claims jsonb, leaves jsonb)
RETURNS void LANGUAGE plpgsql AS $fn$
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
  leaf_in AS (SELECT * FROM jsonb_to_recordset(leaves) AS x(id text, ord bigint, pre text, suf text)),
  built AS MATERIALIZED (
    SELECT s.*, (x.pre || '0' || x.suf)::jsonb AS j, x.pre, x.suf, hd.first + x.ord AS leaf_index
    FROM unnest(stored) s LEFT JOIN leaf_in x ON x.id = s.id::text LEFT JOIN heads hd ON hd.org_id = s.org_id)
  INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash, leaf_kind)
  SELECT b.org_id, b.leaf_index, b.id,
    CASE WHEN b.leaf_index IS NOT NULL
      AND b.id::text = b.j->>'id'
      AND b.org_id = b.j->>'org_id' AND b.agent_id = b.j->>'agent_id' AND b.action_name = b.j->>'action_name'
      AND b.intercept_index IS NOT DISTINCT FROM (b.j->>'intercept_index')::numeric
      AND b.trace_id IS NOT DISTINCT FROM b.j->>'trace_id' AND b.span_id IS NOT DISTINCT FROM b.j->>'span_id'
      AND b.method = b.j->>'method' AND b.url = b.j->>'url'
      AND b.status IS NOT DISTINCT FROM (b.j->>'status')::numeric
      AND b.request_headers IS NOT DISTINCT FROM NULLIF(b.j->'request_headers', 'null'::jsonb)
      AND b.response_headers IS NOT DISTINCT FROM NULLIF(b.j->'response_headers', 'null'::jsonb)
      AND b.content_encoding IS NOT DISTINCT FROM b.j->>'content_encoding'
      AND b.body_sha256 IS NOT DISTINCT FROM b.j->>'body_sha256'
      AND b.body_size = (b.j->>'body_size')::numeric
      AND b.body_truncated = (b.j->>'body_truncated')::boolean
      AND b.error IS NOT DISTINCT FROM b.j->>'error'
      AND b.started_at = (b.j->>'started_at')::timestamptz
      AND b.duration_ms IS NOT DISTINCT FROM (b.j->>'duration_ms')::float8
      AND CASE b.leaf_version
        WHEN 1 THEN (SELECT count(*) FROM jsonb_object_keys(b.j)) = 20
        WHEN 2 THEN (SELECT count(*) FROM jsonb_object_keys(b.j)) = 29
          AND b.j->'leaf_version' = '2'::jsonb AND b.j->'leaf_kind' = '"intercept"'::jsonb
          AND b.peer_address IS NOT DISTINCT FROM b.j->>'peer_address'
          AND b.peer_port IS NOT DISTINCT FROM (b.j->>'peer_port')::numeric
          AND b.peer_protocol IS NOT DISTINCT FROM b.j->>'peer_protocol'
          AND b.peer_tls_cert_sha256 IS NOT DISTINCT FROM b.j->>'peer_tls_cert_sha256'
          AND b.peer_tls_subject IS NOT DISTINCT FROM b.j->>'peer_tls_subject'
          AND b.peer_tls_subject_alt_name IS NOT DISTINCT FROM b.j->>'peer_tls_subject_alt_name'
          AND b.peer_proxy IS NOT DISTINCT FROM b.j->>'peer_proxy'
        ELSE false END
    THEN sha256('\\x00'::bytea || convert_to(b.pre || b.leaf_index::text || b.suf, 'UTF8'))
    ELSE provably_ledger_refuse('record ' || b.id::text || ' as stored is not the row its leaf was built from')
    END,
    'intercept'
  FROM built b;
END
$fn$;
`,
};
