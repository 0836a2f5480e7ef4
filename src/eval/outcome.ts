/**
 * Outcome helpers (Python SDK parity: outcome_from_trace, aggregate_outcome), with one rule for
 * combining verdicts everywhere, including inside evaluateHandoff:
 *
 *   no verdicts at all          → ERROR   (nothing was shown to hold: never PASS)
 *   any CAUGHT                  → CAUGHT  (evidence against a claim outweighs anything else)
 *   else any ERROR or unknown   → ERROR
 *   else (all PASS)             → PASS
 *
 * Differences from the Python SDK, deliberately: an empty list is ERROR (Python: PASS), ERROR
 * is a third outcome (Python knows PASS and CAUGHT), and anything that is not one of the three
 * outcome strings counts as ERROR rather than being skipped.
 */
import type { Outcome } from '../handoff/types.js';

const OUTCOME_SET: ReadonlySet<unknown> = new Set(['PASS', 'CAUGHT', 'ERROR']);

function isOutcome(v: unknown): v is Outcome {
  return OUTCOME_SET.has(v);
}

/** Combines verdicts by the rule above. */
export function worstOutcome(verdicts: Iterable<unknown>): Outcome {
  let seen = false;
  let error = false;
  for (const v of verdicts) {
    seen = true;
    if (v === 'CAUGHT') return 'CAUGHT';
    if (v !== 'PASS') error = true;
  }
  return !seen || error ? 'ERROR' : 'PASS';
}

/**
 * The outcome an evaluation result (a "trace", possibly stored and read back) stands for, or
 * null when the value carries no outcome ('PASS' | 'CAUGHT' | 'ERROR' in `outcome`).
 * When the trace also has a `per_claim` array, its verdicts are combined by the rule above and
 * the stricter of the two is returned (CAUGHT over ERROR over PASS); a trace whose top-level
 * errors list is non-empty is at least ERROR. So an edited trace that says PASS over failing or
 * missing claims never reads as PASS. Never throws.
 */
export function outcomeFromTrace(trace: unknown): Outcome | null {
  try {
    if (trace === null || typeof trace !== 'object') return null;
    const t = trace as { outcome?: unknown; per_claim?: unknown; errors?: unknown };
    if (!isOutcome(t.outcome)) return null;
    const stated = t.outcome;
    const candidates: Outcome[] = [stated];
    if (Array.isArray(t.per_claim)) {
      candidates.push(worstOutcome(t.per_claim.map((c) => (c as { verdict?: unknown } | null)?.verdict)));
    }
    if (Array.isArray(t.errors) && t.errors.length > 0) candidates.push('ERROR');
    return strictest(candidates);
  } catch {
    return null;
  }
}

/**
 * Combines sender-reported per-claim outcomes by the rule above: the payload's
 * `verification_results` (missing or null: no verdicts, so ERROR), or an array of verdicts
 * passed directly. Informative only: it reads what it is given and verifies nothing (use
 * evaluateHandoff for that). Never throws.
 */
export function aggregateOutcome(
  payload: { verification_results?: readonly unknown[] | null } | readonly unknown[] | null | undefined,
): Outcome {
  try {
    if (Array.isArray(payload)) return worstOutcome(payload);
    if (payload === null || typeof payload !== 'object') return 'ERROR';
    const results = (payload as { verification_results?: unknown }).verification_results;
    return Array.isArray(results) ? worstOutcome(results) : 'ERROR';
  } catch {
    return 'ERROR';
  }
}

const RANK: Record<Outcome, number> = { PASS: 0, ERROR: 1, CAUGHT: 2 };

function strictest(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
}
