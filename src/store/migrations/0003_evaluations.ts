/**
 * Migration 3: the eval service's verdicts. Append-only like every audit table: a verdict, once
 * given, is never edited.
 */
import type { Migration } from './types.js';

export const migration0003: Migration = {
  version: 3,
  name: 'evaluations',
  sql: `
CREATE TABLE provably_evaluations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id text NOT NULL,
  run_id text,
  task text,
  outcome text NOT NULL CHECK (outcome IN ('PASS', 'CAUGHT', 'ERROR')),
  claim_count integer NOT NULL,
  payload_sha256 text NOT NULL,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provably_evaluations_org ON provably_evaluations (org_id, created_at);

CREATE TRIGGER provably_evaluations_append_only
  BEFORE UPDATE OR DELETE ON provably_evaluations
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_evaluations_no_truncate
  BEFORE TRUNCATE ON provably_evaluations
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();
`,
};
