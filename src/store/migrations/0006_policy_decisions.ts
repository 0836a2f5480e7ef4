/**
 * Migration 6: policy decisions and escalations (src/policy).
 *
 * provably_decisions is the audit trail of policy-gated actions: one row per event — a policy
 * decision (`decision`), the end of an escalation (`escalation`: approved → ALLOW, rejected or
 * expired → BLOCK) and a guarded body's outcome (`outcome`). Append-only like the intercepts
 * (PVA01 on UPDATE, DELETE, TRUNCATE); every row is also a leaf of its org's Merkle log
 * (src/ledger/decision-leaf.ts), written in the same transaction.
 *
 * provably_escalations holds what waits for a human. Its status moves once, from `pending` to
 * `approved` / `rejected` (only before expires_at) or `expired` (only from expires_at on), and
 * nothing else about it ever changes: the database refuses any other UPDATE, and DELETE and
 * TRUNCATE. Every change notifies channel `provably_escalations` with the id (waiters re-read
 * the row; a NOTIFY payload is never trusted for content).
 */
import type { Migration } from './types.js';

export const migration0006: Migration = {
  version: 6,
  name: 'policy_decisions',
  sql: `
CREATE TABLE provably_decisions (
  id uuid PRIMARY KEY,
  org_id text NOT NULL,
  event_type text NOT NULL CHECK (event_type IN ('decision', 'escalation', 'outcome')),
  decision text CHECK (decision IN ('ALLOW', 'BLOCK', 'ESCALATE')),
  mode text NOT NULL CHECK (mode IN ('enforce', 'log_only')),
  reason text NOT NULL,
  agent_id text NOT NULL,
  action_name text NOT NULL,
  session_id text,
  params jsonb NOT NULL,
  params_sha256 text NOT NULL,
  policy_version text NOT NULL,
  policy_ids jsonb NOT NULL,
  escalation_id uuid,
  escalation_status text CHECK (escalation_status IN ('pending', 'approved', 'rejected', 'expired')),
  reviewer text,
  parent_id uuid,
  trace_id text,
  span_id text,
  outcome jsonb,
  decided_at timestamptz NOT NULL,
  duration_ms double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((event_type = 'outcome') = (decision IS NULL))
);
CREATE INDEX provably_decisions_time ON provably_decisions (org_id, decided_at);
CREATE INDEX provably_decisions_agent ON provably_decisions (org_id, agent_id, decided_at);
CREATE INDEX provably_decisions_escalation ON provably_decisions (escalation_id);
CREATE INDEX provably_decisions_trace ON provably_decisions (trace_id);

CREATE TRIGGER provably_decisions_append_only
  BEFORE UPDATE OR DELETE ON provably_decisions
  FOR EACH ROW EXECUTE FUNCTION provably_reject_mutation();
CREATE TRIGGER provably_decisions_no_truncate
  BEFORE TRUNCATE ON provably_decisions
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE TABLE provably_escalations (
  id uuid PRIMARY KEY,
  org_id text NOT NULL,
  event_id uuid NOT NULL,
  agent_id text NOT NULL,
  action_name text NOT NULL,
  session_id text,
  params jsonb NOT NULL,
  params_sha256 text NOT NULL,
  reason text NOT NULL,
  policy_version text NOT NULL,
  policy_ids jsonb NOT NULL,
  trace_id text,
  span_id text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  decided_at timestamptz,
  reviewer text,
  decision_reason text,
  decision_event_id uuid
);
CREATE INDEX provably_escalations_status ON provably_escalations (org_id, status, created_at);

CREATE FUNCTION provably_escalations_guard() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = 'pending'
     AND NEW.status IN ('approved', 'rejected', 'expired')
     AND (NEW.status = 'expired') = (now() >= OLD.expires_at)
     AND NEW.decided_at IS NOT NULL AND NEW.decision_event_id IS NOT NULL
     AND NEW.id = OLD.id AND NEW.org_id = OLD.org_id AND NEW.event_id = OLD.event_id
     AND NEW.agent_id = OLD.agent_id AND NEW.action_name = OLD.action_name
     AND NEW.session_id IS NOT DISTINCT FROM OLD.session_id
     AND NEW.params = OLD.params AND NEW.params_sha256 = OLD.params_sha256
     AND NEW.reason = OLD.reason AND NEW.policy_version = OLD.policy_version
     AND NEW.policy_ids = OLD.policy_ids
     AND NEW.trace_id IS NOT DISTINCT FROM OLD.trace_id AND NEW.span_id IS NOT DISTINCT FROM OLD.span_id
     AND NEW.created_at = OLD.created_at AND NEW.expires_at = OLD.expires_at THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'provably: an escalation changes only once, from pending to approved/rejected before it expires or to expired after; % refused', TG_OP
    USING ERRCODE = 'PVA01';
END
$fn$;
CREATE TRIGGER provably_escalations_once
  BEFORE UPDATE OR DELETE ON provably_escalations
  FOR EACH ROW EXECUTE FUNCTION provably_escalations_guard();
CREATE TRIGGER provably_escalations_no_truncate
  BEFORE TRUNCATE ON provably_escalations
  FOR EACH STATEMENT EXECUTE FUNCTION provably_reject_mutation();

CREATE FUNCTION provably_escalations_notify() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('provably_escalations', NEW.id::text);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER provably_escalations_changed
  AFTER UPDATE ON provably_escalations
  FOR EACH ROW EXECUTE FUNCTION provably_escalations_notify();
`,
};
