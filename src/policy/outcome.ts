/**
 * The outcome event a guarded body leaves after it ran: duration, and the SHA-256 of the
 * result's canonical JSON (null when it has none) or the error message. Recording it never
 * throws: the body already ran, and losing its outcome must not turn its result into an error
 * (the loss is logged). Everything taken from the result (its digest) is computed before the
 * first await: the guard returns the result without waiting, and its caller may change it.
 */
import { randomUUID } from 'node:crypto';
import { diag } from '../diag/index.js';
import type { Store } from '../store/types.js';
import { decisionRow } from './audit.js';
import { decisionWriter } from './decision-writer.js';
import { digestOf, type Params, paramsSha256, redactParams } from './params.js';
import type { ExecutionResult } from './result.js';

export interface OutcomeInput {
  orgId: string;
  agentId: string;
  redact: readonly string[];
  /** The decision the body ran under (its event is the outcome's parent). */
  decided: ExecutionResult;
  params: Params;
  trace: { traceId: string | null; spanId: string | null };
  durationMs: number;
  result: { value?: unknown; error?: unknown };
}

const MAX_ERROR_CHARS = 2000;

export async function recordOutcome(store: Store, o: OutcomeInput): Promise<void> {
  const failed = 'error' in o.result;
  const message = failed
    ? String((o.result.error as Error)?.message ?? o.result.error).slice(0, MAX_ERROR_CHARS)
    : undefined;
  const digest = failed ? undefined : digestOf(o.result.value);
  try {
    await decisionWriter(store).append(
      decisionRow({
        id: randomUUID(),
        orgId: o.orgId,
        eventType: 'outcome',
        decision: null,
        mode: 'enforce',
        reason: failed ? `failed: ${message}` : 'completed',
        agentId: o.agentId,
        actionName: o.decided.action,
        sessionId: o.decided.sessionId,
        params: redactParams(o.params, o.redact),
        paramsSha256: paramsSha256(o.params),
        policyVersion: o.decided.policyVersion,
        policyIds: [],
        escalationId: o.decided.escalationId ?? null,
        escalationStatus: null,
        reviewer: null,
        parentId: o.decided.eventId,
        traceId: o.trace.traceId,
        spanId: o.trace.spanId,
        outcome: failed
          ? { status: 'error', error: message ?? '' }
          : { status: 'ok', result_sha256: digest ?? null },
        decidedAt: new Date(),
        durationMs: Math.round(o.durationMs * 1000) / 1000,
      }),
      undefined,
      // Nobody waits for it: it may ride along with the next decision's statement.
      { deferred: true },
    );
  } catch (err) {
    diag.warn(`could not record the outcome of ${o.decided.action} (event ${o.decided.eventId})`, err);
  }
}
