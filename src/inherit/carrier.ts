/**
 * How a scope travels to a worker thread or a child process, and how the receiving side turns it
 * into its process scope.
 *
 * Child processes: environment variables (a child's only input besides argv):
 *   PROVABLY_SCOPE_AGENT_ID, PROVABLY_SCOPE_ACTION_NAME, PROVABLY_SCOPE_INTERCEPT_INDEX (optional)
 *   TRACEPARENT  — W3C trace context (`00-<trace id>-<parent span id>-<flags>`), the name the
 *                  OpenTelemetry "environment variables as carriers" convention uses.
 * Worker threads: the same fields as one value in the worker's environment data
 * (`worker_threads.getEnvironmentData(SCOPE_DATA_KEY)`), so the user's workerData and env stay
 * untouched.
 */
import { randomBytes } from 'node:crypto';
import { type Env, readPositiveInt } from '../config/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import type { ActiveScope } from '../scope/index.js';

export const SCOPE_ENV = {
  agentId: 'PROVABLY_SCOPE_AGENT_ID',
  actionName: 'PROVABLY_SCOPE_ACTION_NAME',
  interceptIndex: 'PROVABLY_SCOPE_INTERCEPT_INDEX',
  traceparent: 'TRACEPARENT',
} as const;

/** The environment-data key a worker's inherited scope is passed under. */
export const SCOPE_DATA_KEY = 'provably.scope.v1';

/** A scope as passed on: plain strings/numbers, structured-clone and env safe. */
export interface ScopeCarrier {
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
  /** W3C traceparent naming the parent's span, or null when the parent had no valid span. */
  traceparent: string | null;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export function carrierOf(scope: ActiveScope): ScopeCarrier {
  return {
    agentId: scope.agentId,
    actionName: scope.actionName,
    interceptIndex: scope.interceptIndex,
    traceparent:
      scope.traceId !== null && scope.spanId !== null ? `00-${scope.traceId}-${scope.spanId}-01` : null,
  };
}

/** The environment entries a child needs to run in `carrier`'s scope. */
export function carrierEnv(carrier: ScopeCarrier): Record<string, string | undefined> {
  return {
    [SCOPE_ENV.agentId]: carrier.agentId,
    [SCOPE_ENV.actionName]: carrier.actionName,
    [SCOPE_ENV.interceptIndex]: carrier.interceptIndex === null ? undefined : String(carrier.interceptIndex),
    [SCOPE_ENV.traceparent]: carrier.traceparent ?? undefined,
  };
}

/**
 * The scope a process was started in, from its environment; undefined when none is set.
 * Half a scope (an agent without an action or the reverse) or a malformed value is a
 * ProvablyConfigError: a governed child must not start ungoverned because of a typo.
 */
export function carrierFromEnv(env: Env): ScopeCarrier | undefined {
  const agentId = env[SCOPE_ENV.agentId];
  const actionName = env[SCOPE_ENV.actionName];
  if ((agentId === undefined || agentId === '') && (actionName === undefined || actionName === '')) {
    return undefined;
  }
  if (agentId === undefined || agentId.trim() === '') {
    throw new ProvablyConfigError(
      SCOPE_ENV.agentId,
      `must be set (non-empty) when ${SCOPE_ENV.actionName} is`,
    );
  }
  if (actionName === undefined || actionName.trim() === '') {
    throw new ProvablyConfigError(
      SCOPE_ENV.actionName,
      `must be set (non-empty) when ${SCOPE_ENV.agentId} is`,
    );
  }
  const index = env[SCOPE_ENV.interceptIndex];
  let interceptIndex: number | null = null;
  if (index !== undefined && index.trim() !== '') {
    interceptIndex = index.trim() === '0' ? 0 : readPositiveInt(env, SCOPE_ENV.interceptIndex, 0);
  }
  // A malformed TRACEPARENT (another tool may set it) only costs the trace link, not the scope.
  const tp = env[SCOPE_ENV.traceparent]?.trim().toLowerCase();
  return {
    agentId,
    actionName,
    interceptIndex,
    traceparent: tp !== undefined && validTraceparent(tp) ? tp : null,
  };
}

/** A carrier received through worker environment data (shape-checked: it crossed a boundary). */
export function carrierFromData(value: unknown): ScopeCarrier | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const nonEmpty = (x: unknown): x is string => typeof x === 'string' && x.trim() !== '';
  if (!nonEmpty(v.agentId) || !nonEmpty(v.actionName)) return undefined;
  const index = v.interceptIndex;
  return {
    agentId: v.agentId,
    actionName: v.actionName,
    interceptIndex: typeof index === 'number' && Number.isSafeInteger(index) && index >= 0 ? index : null,
    traceparent: typeof v.traceparent === 'string' && validTraceparent(v.traceparent) ? v.traceparent : null,
  };
}

/**
 * The process scope a carrier becomes: same agent and action, the parent's trace, and a span id
 * of its own (this thread/process is a child span of the parent's span).
 */
export function scopeOfCarrier(carrier: ScopeCarrier): ActiveScope {
  const m = carrier.traceparent === null ? null : TRACEPARENT.exec(carrier.traceparent);
  return {
    agentId: carrier.agentId,
    actionName: carrier.actionName,
    interceptIndex: carrier.interceptIndex,
    traceId: m ? (m[1] as string) : null,
    spanId: m ? randomBytes(8).toString('hex') : null,
  };
}

function validTraceparent(tp: string): boolean {
  const m = TRACEPARENT.exec(tp);
  return m !== null && m[1] !== ZERO_TRACE && m[2] !== ZERO_SPAN;
}
