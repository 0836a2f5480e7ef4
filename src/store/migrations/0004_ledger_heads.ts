/**
 * Migration 4: a head row per org log, and each checkpoint's compact range.
 *
 * provably_ledger_heads holds the next free leaf index of each org's log. Appenders claim their
 * indexes by moving it forward (INSERT … ON CONFLICT DO UPDATE … RETURNING): the row lock is held
 * to commit, so appenders of one org take turns in any number of processes, commit in index
 * order, and a rolled-back batch leaves the head where it was (no gap). This replaces the
 * advisory lock plus max(leaf_index) read of migration 2: one statement can now claim the
 * indexes and write the rows and their leaves (see src/ledger/batch.ts). The head only moves
 * forward: a decrease, DELETE or TRUNCATE is refused like any append-only mutation (PVA01).
 * Existing logs get their head from their leaves here; a head left behind by a writer that does
 * not know it is caught up by the next append (it never goes below max(leaf_index) + 1).
 *
 * provably_checkpoints.frontier is the compact range of the signed tree (the roots of its
 * perfect subtrees, left to right, 32 bytes each): the next checkpoint extends it with the new
 * leaves only, instead of rehashing the whole log. It is trusted only when its root is the
 * checkpoint's signed root.
 *
 * provably_ledger_append logs the rows its calling statement just inserted (the recorder's
 * one-statement batches, src/ledger/batch.ts): a function so that its statement is planned once
 * per session — parsing and planning that statement on every batch cost more than running it.
 * provably_ledger_refuse raises PVL01: called when a row as stored is not the row its leaf was
 * built from, which fails the whole statement (rows and leaves are not written).
 */
import type { Migration } from './types.js';

export const migration0004: Migration = {
  version: 4,
  name: 'ledger_heads',
  sql: `
CREATE TABLE provably_ledger_heads (
  org_id text PRIMARY KEY,
  next_index bigint NOT NULL CHECK (next_index >= 0)
);

CREATE FUNCTION provably_ledger_head_forward() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.org_id = OLD.org_id AND NEW.next_index >= OLD.next_index THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'provably: the head of a ledger log only moves forward; % is not allowed', TG_OP
    USING ERRCODE = 'PVA01';
END
$fn$;
CREATE TRIGGER provably_ledger_heads_forward
  BEFORE UPDATE OR DELETE ON provably_ledger_heads
  FOR EACH ROW EXECUTE FUNCTION provably_ledger_head_forward();
CREATE TRIGGER provably_ledger_heads_no_truncate
  BEFORE TRUNCATE ON provably_ledger_heads
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

INSERT INTO provably_ledger_heads (org_id, next_index)
  SELECT org_id, max(leaf_index) + 1 FROM provably_ledger_leaves GROUP BY org_id;

ALTER TABLE provably_checkpoints ADD COLUMN frontier bytea
  CHECK (frontier IS NULL OR octet_length(frontier) % 32 = 0);

CREATE FUNCTION provably_ledger_refuse(detail text) RETURNS bytea
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'provably: %', detail USING ERRCODE = 'PVL01';
END
$fn$;

-- The columns of an intercept row that its leaf binds, as stored.
CREATE TYPE provably_leaf_row AS (
  id uuid, org_id text, agent_id text, action_name text, intercept_index integer, trace_id text,
  span_id text, method text, url text, status integer, request_headers jsonb,
  response_headers jsonb, content_encoding text, body_sha256 text, body_size bigint,
  body_truncated boolean, error text, started_at timestamptz, duration_ms double precision
);

-- Logs rows just inserted by the calling statement (see src/ledger/batch.ts): claims their
-- indexes on the orgs' head rows (claims: [{k, org, n}], taken in k order) and inserts their
-- leaves, hashing each leaf's canonical JSON (leaves: [{id, ord, pre, suf}], the index spliced
-- between pre and suf) after checking that the stored row is the row that JSON was built from.
-- A function so its statement is planned once per session, not on every batch.
CREATE FUNCTION provably_ledger_append(stored provably_leaf_row[], claims jsonb, leaves jsonb)
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
  INSERT INTO provably_ledger_leaves (org_id, leaf_index, record_id, leaf_hash)
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
    THEN sha256('\\x00'::bytea || convert_to(b.pre || b.leaf_index::text || b.suf, 'UTF8'))
    ELSE provably_ledger_refuse('record ' || b.id::text || ' as stored is not the row its leaf was built from')
    END
  FROM built b;
END
$fn$;
`,
};
