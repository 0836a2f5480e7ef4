/**
 * Entering and leaving provably scopes explicitly.
 *
 * interceptContext runs fn in a new span carrying the scope attributes AND puts a frame in the
 * context, so resolution inside fn never depends on being able to read span attributes (a
 * sampled-out span, a provider that is not the SDK). The span ends when fn returns, throws, or
 * its promise settles; the context is the caller's again as soon as fn returns, so the scope
 * cannot leak into the caller. Work fn started (callbacks, timers, promise chains) keeps fn's
 * context, as with any OpenTelemetry span.
 */
import type { Span, SpanStatusCode } from '@opentelemetry/api';
import { diag } from '../diag/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import { SCOPE_ATTRIBUTES } from './attributes.js';
import { noteScopeEntered } from './first-scope.js';
import { EGRESS_FRAME, FRAME_KEY, registeredContextManager, type ScopeFrame, SPAN_KEY } from './globals.js';
import type { InterceptContextOptions } from './types.js';
import { ensureOtel, scopeTracer } from './wiring.js';

const STATUS_ERROR = 2 as SpanStatusCode;

/**
 * Runs `fn` inside a new provably scope (a span carrying `provably.agent_id`,
 * `provably.action_name` and, when given, `provably.intercept_index`) and returns what fn
 * returns (its promise, unchanged, when it is async). Throws ProvablyConfigError on invalid
 * options, before running anything.
 */
export function interceptContext<T>(options: InterceptContextOptions, fn: () => T): T {
  const { agentId, actionName, interceptIndex } = validateOptions(options);
  if (typeof fn !== 'function')
    throw new ProvablyConfigError('interceptContext', 'expected a function to run');
  noteScopeEntered();
  ensureOtel();
  const cm = registeredContextManager();
  if (cm === undefined) return fn(); // reported once by ensureOtel: nothing could carry the scope.

  const parent = cm.active();
  let span: Span | undefined;
  try {
    const attributes: Record<string, string | number> = {
      [SCOPE_ATTRIBUTES.agentId]: agentId,
      [SCOPE_ATTRIBUTES.actionName]: actionName,
    };
    if (interceptIndex !== null) attributes[SCOPE_ATTRIBUTES.interceptIndex] = interceptIndex;
    span = scopeTracer()?.startSpan(`provably ${actionName}`, { attributes }, parent);
  } catch (err) {
    diag.once('scope.start-span', 'warn', 'could not start the scope span (the scope still applies)', err);
  }
  const frame: ScopeFrame = {
    kind: 'scope',
    agentId,
    actionName,
    interceptIndex,
    boundary: span ?? ((parent.getValue(SPAN_KEY) as Span | undefined) || undefined),
  };
  let ctx = parent.setValue(FRAME_KEY, frame);
  if (span !== undefined) ctx = ctx.setValue(SPAN_KEY, span);

  let result: T;
  try {
    result = cm.with(ctx, fn);
  } catch (err) {
    endSpan(span, true, err);
    throw err;
  }
  if (span !== undefined && isThenable(result)) {
    const ended = span;
    try {
      result.then(
        () => endSpan(ended, false),
        (err: unknown) => endSpan(ended, true, err),
      );
    } catch (err) {
      endSpan(ended, true, err);
    }
  } else {
    endSpan(span, false);
  }
  return result;
}

/**
 * Runs `fn` inside a new span that is NOT a scope: one agent run. Scoped calls made inside it
 * (interceptContext) share its trace id, which is what buildHandoffPayload resolves a model's
 * claims against — "this run's records". Use your framework's own run/agent span instead when it
 * has one. Returns what fn returns.
 */
export function agentRun<T>(name: string, fn: () => T): T {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ProvablyConfigError('agentRun', `expected a non-empty run name, got ${describe(name)}`);
  }
  if (typeof fn !== 'function') throw new ProvablyConfigError('agentRun', 'expected a function to run');
  noteScopeEntered();
  ensureOtel();
  const cm = registeredContextManager();
  if (cm === undefined) return fn();
  const parent = cm.active();
  let span: Span | undefined;
  try {
    span = scopeTracer()?.startSpan(name, {}, parent);
  } catch (err) {
    diag.once('scope.start-run', 'warn', 'could not start the run span', err);
  }
  if (span === undefined) return fn();
  const ended = span;
  let result: T;
  try {
    result = cm.with(parent.setValue(SPAN_KEY, span), fn);
  } catch (err) {
    endSpan(ended, true, err);
    throw err;
  }
  if (isThenable(result)) {
    result.then(
      () => endSpan(ended, false),
      (err: unknown) => endSpan(ended, true, err),
    );
  } else endSpan(ended, false);
  return result;
}

/**
 * Runs `fn` outside any provably scope: requests it makes pass through untouched (the
 * recorder's own I/O runs here). A nested interceptContext opens a scope again.
 */
export function selfEgress<T>(fn: () => T): T {
  const cm = registeredContextManager();
  if (cm === undefined) return fn(); // no context manager: nothing is in a scope anyway.
  return cm.with(cm.active().setValue(FRAME_KEY, EGRESS_FRAME), fn);
}

function validateOptions(options: InterceptContextOptions): {
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
} {
  if (options === null || typeof options !== 'object') {
    throw new ProvablyConfigError(
      'interceptContext',
      'expected an options object { agentId, actionName, interceptIndex? }',
    );
  }
  const { agentId, actionName, interceptIndex } = options;
  if (typeof agentId !== 'string' || agentId.trim() === '') {
    throw new ProvablyConfigError('agentId', `expected a non-empty string, got ${describe(agentId)}`);
  }
  if (typeof actionName !== 'string' || actionName.trim() === '') {
    throw new ProvablyConfigError('actionName', `expected a non-empty string, got ${describe(actionName)}`);
  }
  if (
    interceptIndex !== undefined &&
    (typeof interceptIndex !== 'number' || !Number.isSafeInteger(interceptIndex) || interceptIndex < 0)
  ) {
    throw new ProvablyConfigError(
      'interceptIndex',
      `expected a non-negative integer, got ${describe(interceptIndex)}`,
    );
  }
  return { agentId, actionName, interceptIndex: interceptIndex ?? null };
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return typeof v;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function endSpan(span: Span | undefined, failed: boolean, err?: unknown): void {
  if (span === undefined) return;
  try {
    if (failed) {
      if (err instanceof Error) span.recordException(err);
      span.setStatus({ code: STATUS_ERROR, message: err instanceof Error ? err.message : String(err) });
    }
    span.end();
  } catch (e) {
    diag.once('scope.end-span', 'warn', 'could not end a scope span', e);
  }
}
