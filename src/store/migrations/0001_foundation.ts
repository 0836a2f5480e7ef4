/**
 * Migration 1: trusted endpoints, intercepted calls, and the append-only guard.
 *
 * Migrations are TypeScript modules holding plain SQL rather than .sql files so that both
 * builds (ESM and CJS) and the test runner carry them without locating files on disk at run
 * time. Each one is applied once, in order, inside a transaction, and recorded in
 * schema_migrations; never edit a migration that has shipped: add the next one.
 */
import type { Migration } from './types.js';

export const migration0001: Migration = {
  version: 1,
  name: 'foundation',
  sql: `
-- Raised by every append-only table on UPDATE, DELETE and TRUNCATE. SQLSTATE PVA01 lets the
-- store classify it as an 'append-only' ProvablyStoreError.
CREATE FUNCTION provably_reject_mutation() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'provably: table % is append-only; % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'PVA01';
END
$fn$;

CREATE TABLE trusted_endpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id text NOT NULL,
  normalized_url text NOT NULL,
  display_label text,
  entry_type text NOT NULL CHECK (entry_type IN ('exact', 'template')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
-- One active entry per org and URL; revoked rows stay as history.
CREATE UNIQUE INDEX trusted_endpoints_active_key
  ON trusted_endpoints (org_id, normalized_url) WHERE revoked_at IS NULL;

-- The registry keeps its history: rows are never deleted, and the only change allowed is
-- revoking an active entry (setting revoked_at once, nothing else).
CREATE FUNCTION provably_trusted_endpoints_guard() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
     AND NEW.id = OLD.id AND NEW.org_id = OLD.org_id
     AND NEW.normalized_url = OLD.normalized_url
     AND NEW.display_label IS NOT DISTINCT FROM OLD.display_label
     AND NEW.entry_type = OLD.entry_type AND NEW.created_at = OLD.created_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'provably: table trusted_endpoints keeps its history; only revoking an active entry is allowed (% refused)', TG_OP
    USING ERRCODE = 'PVA01';
END
$fn$;
CREATE TRIGGER trusted_endpoints_history
  BEFORE UPDATE OR DELETE ON trusted_endpoints
  FOR EACH ROW EXECUTE FUNCTION provably_trusted_endpoints_guard();
CREATE TRIGGER trusted_endpoints_no_truncate
  BEFORE TRUNCATE ON trusted_endpoints
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE TABLE provably_intercepts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id text NOT NULL,
  agent_id text NOT NULL,
  action_name text NOT NULL,
  intercept_index integer,
  trace_id text,
  span_id text,
  method text NOT NULL,
  url text NOT NULL,
  status integer,
  request_headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  response_headers jsonb,
  response_body bytea,
  content_encoding text,
  body_sha256 text,
  body_size bigint NOT NULL DEFAULT 0,
  body_truncated boolean NOT NULL DEFAULT false,
  error text,
  started_at timestamptz NOT NULL,
  duration_ms double precision,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provably_intercepts_agent ON provably_intercepts (org_id, agent_id, created_at);
CREATE INDEX provably_intercepts_action ON provably_intercepts (org_id, action_name, created_at);
CREATE INDEX provably_intercepts_trace ON provably_intercepts (trace_id);

CREATE TRIGGER provably_intercepts_append_only
  BEFORE UPDATE OR DELETE ON provably_intercepts
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_intercepts_no_truncate
  BEFORE TRUNCATE ON provably_intercepts
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();
`,
};
