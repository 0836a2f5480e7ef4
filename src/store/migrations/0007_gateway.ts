/**
 * Migration 7: the gateway server's tenants, API keys and policy sets (src/gateway).
 *
 * - provably_tenants: a tenant IS a ledger org (its id is the org_id of its decisions and
 *   intercepts). Rows are never deleted or changed: decisions keep pointing at them.
 * - provably_api_keys: only the SHA-256 of the whole key is kept (never the key), plus its
 *   prefix for display and revocation. A key changes once: revoked_at from NULL to a time.
 * - provably_policy_sets: every version of a tenant's Cedar policy set, append-only; the
 *   highest version serves. digest is the engine's version (`sha256:…` of text + schema),
 *   which is what each decision records as policy_version.
 * - an index on decisions by (org, session) so the server can count a session's decisions
 *   from the store (replicas agree) without scanning the org.
 */
import type { Migration } from './types.js';

export const migration0007: Migration = {
  version: 7,
  name: 'gateway',
  sql: `
CREATE TABLE provably_tenants (
  id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200 AND id = btrim(id)),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER provably_tenants_append_only
  BEFORE UPDATE OR DELETE ON provably_tenants
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_tenants_no_truncate
  BEFORE TRUNCATE ON provably_tenants
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE TABLE provably_api_keys (
  id uuid PRIMARY KEY,
  tenant text NOT NULL REFERENCES provably_tenants (id),
  role text NOT NULL CHECK (role IN ('agent', 'reviewer', 'admin')),
  name text,
  agent_id text,
  prefix text NOT NULL UNIQUE,
  key_sha256 text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX provably_api_keys_tenant ON provably_api_keys (tenant, created_at);

CREATE FUNCTION provably_api_keys_guard() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
     AND NEW.id = OLD.id AND NEW.tenant = OLD.tenant AND NEW.role = OLD.role
     AND NEW.name IS NOT DISTINCT FROM OLD.name AND NEW.agent_id IS NOT DISTINCT FROM OLD.agent_id
     AND NEW.prefix = OLD.prefix AND NEW.key_sha256 = OLD.key_sha256
     AND NEW.created_at = OLD.created_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'provably: an API key changes only once, when it is revoked; % refused', TG_OP
    USING ERRCODE = 'PVA01';
END
$fn$;
CREATE TRIGGER provably_api_keys_once
  BEFORE UPDATE OR DELETE ON provably_api_keys
  FOR EACH ROW EXECUTE FUNCTION provably_api_keys_guard();
CREATE TRIGGER provably_api_keys_no_truncate
  BEFORE TRUNCATE ON provably_api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE TABLE provably_policy_sets (
  tenant text NOT NULL REFERENCES provably_tenants (id),
  version integer NOT NULL CHECK (version >= 1),
  digest text NOT NULL,
  text text NOT NULL,
  schema text,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  UNIQUE (tenant, version)
);
CREATE INDEX provably_policy_sets_digest ON provably_policy_sets (tenant, digest);
CREATE TRIGGER provably_policy_sets_append_only
  BEFORE UPDATE OR DELETE ON provably_policy_sets
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_policy_sets_no_truncate
  BEFORE TRUNCATE ON provably_policy_sets
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE INDEX provably_decisions_session ON provably_decisions (org_id, session_id)
  WHERE session_id IS NOT NULL;
`,
};
