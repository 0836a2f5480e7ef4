/**
 * Escalation rows checked against the decision leaves that recorded them (for verifyLog).
 *
 * provably_escalations rows are not leaves: an escalation changes once (pending → decided), and
 * a leaf never changes. What a human decided is bound instead by two decision events, which are
 * leaves: the enforced ESCALATE decision that created the row (its event_id) and the
 * `escalation` event that recorded its end (its decision_event_id). So every field of an
 * escalation that matters is checked against those leaves, both ways:
 *   - the row against its ESCALATE event: agent, action, session, params (as stored, redacted),
 *     params hash, reason, policy version and ids, trace and span;
 *   - pending: no decision on the row, and no recorded end event for it;
 *   - decided: the end event exists and matches status, reviewer, decided_at, the reason shown
 *     ("approved by <reviewer>: <reason>", "rejected by …", or the expiry reason), the parent
 *     event and the time it was held (decided_at − created_at, to the millisecond); and an
 *     approval or rejection happened before expires_at, an expiry from it on;
 *   - every enforced ESCALATE event has its row, and every end event is the one its row names.
 * Not bound by any leaf (a documented limit): expires_at within those bounds, and the created_at
 * of a pending escalation.
 */
import type { Queryable } from '../store/types.js';

export interface EscalationProblem {
  /** The escalation's id, or the decision event's for an event without its escalation. */
  id: string;
  /** The leaf index of the decision event involved, when there is one. */
  leafIndex: number | null;
  detail: string;
}

const ROW_VS_EVENTS = `
SELECT e.id::text AS id, COALESCE(l1.leaf_index, l0.leaf_index) AS leaf_index, 'escalation ' || e.id || ': ' || CASE
  WHEN d0.id IS NULL THEN 'its ESCALATE decision event ' || e.event_id || ' is missing'
  WHEN NOT (d0.event_type = 'decision' AND d0.decision = 'ESCALATE' AND d0.mode = 'enforce')
    THEN 'its event ' || e.event_id || ' is not an enforced ESCALATE decision'
  WHEN (d0.agent_id, d0.action_name, d0.session_id, d0.params, d0.params_sha256, d0.reason,
        d0.policy_version, d0.policy_ids, d0.trace_id, d0.span_id)
    IS DISTINCT FROM (e.agent_id, e.action_name, e.session_id, e.params, e.params_sha256, e.reason,
        e.policy_version, e.policy_ids, e.trace_id, e.span_id)
    THEN 'differs from its ESCALATE decision event ' || e.event_id || ' (agent, action, session, params, reason, policy or trace)'
  WHEN e.status = 'pending' AND (e.decided_at IS NOT NULL OR e.reviewer IS NOT NULL
        OR e.decision_reason IS NOT NULL OR e.decision_event_id IS NOT NULL)
    THEN 'pending, but it carries a decision'
  WHEN e.status = 'pending' AND EXISTS (SELECT 1 FROM provably_decisions x
        WHERE x.escalation_id = e.id AND x.event_type = 'escalation')
    THEN 'pending, but its end was recorded'
  WHEN e.status = 'pending' THEN NULL
  WHEN d1.id IS NULL THEN 'status ' || e.status || ' but its decision event ' || COALESCE(e.decision_event_id::text, '(none)') || ' is missing'
  WHEN NOT (d1.event_type = 'escalation' AND d1.escalation_id = e.id AND d1.parent_id = e.event_id
        AND d1.escalation_status = e.status AND d1.reviewer IS NOT DISTINCT FROM e.reviewer
        AND d1.decided_at = e.decided_at
        AND d1.decision = CASE e.status WHEN 'approved' THEN 'ALLOW' ELSE 'BLOCK' END
        AND d1.reason = CASE e.status
          WHEN 'approved' THEN 'approved by ' || e.reviewer || ': ' || e.decision_reason
          WHEN 'rejected' THEN 'rejected by ' || e.reviewer || ': ' || e.decision_reason
          ELSE e.decision_reason END
        AND abs(d1.duration_ms - extract(epoch FROM (e.decided_at - e.created_at)) * 1000) < 1)
    THEN 'differs from its decision event ' || d1.id || ' (status, reviewer, reason, time or event)'
  WHEN e.status IN ('approved', 'rejected') AND e.decided_at >= e.expires_at THEN e.status || ' after it expired'
  WHEN e.status = 'expired' AND e.decided_at < e.expires_at THEN 'expired before its expiry time'
  END AS problem
FROM provably_escalations e
LEFT JOIN provably_decisions d0 ON d0.id = e.event_id AND d0.org_id = e.org_id
LEFT JOIN provably_ledger_leaves l0 ON l0.record_id = d0.id
LEFT JOIN provably_decisions d1 ON d1.id = e.decision_event_id AND d1.org_id = e.org_id
LEFT JOIN provably_ledger_leaves l1 ON l1.record_id = d1.id
WHERE e.org_id = $1`;

const EVENTS_WITHOUT_ROW = `
SELECT d.id::text AS id, l.leaf_index, CASE
  WHEN d.event_type = 'decision' THEN 'the enforced ESCALATE decision ' || d.id || ' has no escalation row'
  ELSE 'the escalation end event ' || d.id || ' is not the decision its escalation ' || COALESCE(d.escalation_id::text, '(none)') || ' names'
  END AS problem
FROM provably_decisions d LEFT JOIN provably_ledger_leaves l ON l.record_id = d.id
WHERE d.org_id = $1 AND (
  (d.event_type = 'decision' AND d.decision = 'ESCALATE' AND d.mode = 'enforce'
    AND NOT EXISTS (SELECT 1 FROM provably_escalations e WHERE e.event_id = d.id AND e.org_id = d.org_id))
  OR (d.event_type = 'escalation'
    AND NOT EXISTS (SELECT 1 FROM provably_escalations e WHERE e.id = d.escalation_id AND e.decision_event_id = d.id AND e.org_id = d.org_id)))`;

/** Every escalation of the org that its decision leaves do not bear out (see the header). */
export async function escalationProblems(q: Queryable, orgId: string): Promise<EscalationProblem[]> {
  const out: EscalationProblem[] = [];
  for (const sql of [ROW_VS_EVENTS, EVENTS_WITHOUT_ROW]) {
    const res = await q.query<{ id: string; leaf_index: number | null; problem: string | null }>(sql, [
      orgId,
    ]);
    for (const r of res.rows) {
      if (r.problem === null) continue;
      out.push({
        id: r.id,
        leafIndex: r.leaf_index === null ? null : Number(r.leaf_index),
        detail: r.problem,
      });
    }
  }
  return out;
}
