/**
 * Migration 2: the ledger, a per-org append-only Merkle log over provably_intercepts
 * (RFC 6962 / RFC 9162; see src/ledger).
 *
 * provably_ledger_leaves holds one row per logged record: its position in the org's log and
 * its RFC 6962 leaf hash. Positions are gap-free from 0; appendLeaves assigns them under a
 * per-org transaction-scoped advisory lock, and the primary key refuses a duplicate even if a
 * caller skipped the lock. provably_checkpoints holds the signed tree heads.
 *
 * record_id deliberately has no foreign key: a key-share row lock on every referenced intercept
 * row would rewrite those rows' tuple headers on the hot table. appendLeaves checks the rows
 * exist (it reads them to build the leaves) and verifyLog reports leaves whose record is gone.
 *
 * Both tables are append-only, with the same guard as provably_intercepts.
 */
import type { Migration } from './types.js';

export const migration0002: Migration = {
  version: 2,
  name: 'ledger',
  sql: `
CREATE TABLE provably_ledger_leaves (
  org_id text NOT NULL,
  leaf_index bigint NOT NULL CHECK (leaf_index >= 0),
  record_id uuid NOT NULL,
  leaf_hash bytea NOT NULL CHECK (octet_length(leaf_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, leaf_index),
  CONSTRAINT provably_ledger_leaves_record_key UNIQUE (record_id)
);

CREATE TRIGGER provably_ledger_leaves_append_only
  BEFORE UPDATE OR DELETE ON provably_ledger_leaves
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_ledger_leaves_no_truncate
  BEFORE TRUNCATE ON provably_ledger_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE TABLE provably_checkpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id text NOT NULL,
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  "timestamp" timestamptz NOT NULL,
  key_id text NOT NULL,
  signature bytea NOT NULL CHECK (octet_length(signature) = 64),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provably_checkpoints_org ON provably_checkpoints (org_id, tree_size, "timestamp");

CREATE TRIGGER provably_checkpoints_append_only
  BEFORE UPDATE OR DELETE ON provably_checkpoints
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_checkpoints_no_truncate
  BEFORE TRUNCATE ON provably_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();
`,
};
