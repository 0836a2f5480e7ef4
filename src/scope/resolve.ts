/**
 * activeScope: is the code creating a request inside a provably scope, and which one?
 *
 * Called by the transport adapters at every request creation, so the common case must cost
 * nothing: no context manager registered → return at once; no span and no frame in the active
 * context → two Map lookups and return. Only with an active span does it look further:
 *
 *   1. a selfEgress frame in the context → undefined (explicit pass-through);
 *   2. walk from the ACTIVE span up its ancestors (as remembered by the span processor), stopping
 *      at the span of the innermost interceptContext: the first span whose attributes carry
 *      `provably.agent_id` + `provably.action_name` (or match a span mapping rule, rules.ts) is
 *      the scope. Attributes are read at call time, so attributes set
 *      after the span started count;
 *   3. otherwise the innermost interceptContext frame, if any, is the scope.
 *
 * With the GenAI mapping on and no OpenTelemetry registered yet, the first call schedules the
 * wiring (next turn of the event loop, never inside the request's own creation).
 *
 * 4. otherwise the process scope (root.ts), when this thread/process inherited one — except in
 *    a context with OpenTelemetry tracing suppressed (an SDK exporter's own I/O).
 *
 * traceId/spanId always come from the active span (null when its span context is invalid), or,
 * for the process scope, from the parent that passed it on.
 * Nothing here throws: an internal error is reported once through src/diag and the request is
 * treated as outside any scope.
 */
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { diag } from '../diag/index.js';
import { SCOPE_ATTRIBUTES } from './attributes.js';
import {
  FRAME_KEY,
  type Frame,
  registeredContextManager,
  type ScopeFrame,
  SPAN_KEY,
  sharedState,
} from './globals.js';
import { processScope } from './root.js';
import type { CompiledRule } from './rules.js';
import { scopeOptions } from './setup.js';
import { noteScopeSpans } from './trace-events.js';
import type { ActiveScope } from './types.js';
import { scheduleEnsureOtel } from './wiring.js';

/** Guards against cycles or absurd depth in the remembered parent chain. */
const MAX_ANCESTORS = 128;

const AGENT = SCOPE_ATTRIBUTES.agentId;
const ACTION = SCOPE_ATTRIBUTES.actionName;
const INDEX = SCOPE_ATTRIBUTES.interceptIndex;

const TRACE_ID = /^[0-9a-f]{32}$/i;
const SPAN_ID = /^[0-9a-f]{16}$/i;
const INVALID_TRACE_ID = '00000000000000000000000000000000';
const INVALID_SPAN_ID = '0000000000000000';

/**
 * The provably scope active in `ctx` (default: the active context), or undefined. Synchronous,
 * never throws.
 */
export function activeScope(ctx?: Context): ActiveScope | undefined {
  try {
    let c = ctx;
    if (c === undefined) {
      const cm = registeredContextManager();
      if (cm === undefined) {
        // GenAI mapping in a process without OpenTelemetry: the framework's tool spans need a
        // registered provider to exist at all, so the first scope check is the first need.
        if (sharedState.spanRules.length > 0 && sharedState.wiring.mode === 'pending') scheduleEnsureOtel();
        return processScope();
      }
      c = cm.active();
    }
    const span = c.getValue(SPAN_KEY) as Span | undefined;
    const frame = c.getValue(FRAME_KEY) as Frame | undefined;
    if (!span && frame === undefined) return inherited(c);
    if (frame !== undefined && frame.kind === 'egress') return undefined;
    return resolve(span || undefined, frame) ?? inherited(c);
  } catch (err) {
    // In a process that inherited a scope, ambiguity fails closed: the call stays governed.
    const inherited = processScope();
    diag.once(
      'scope.resolve',
      'warn',
      inherited === undefined
        ? 'activeScope failed; the request is treated as outside any scope'
        : 'activeScope failed; the request is governed by the inherited process scope',
      err,
    );
    return inherited;
  }
}

// OpenTelemetry's createContextKey(name) is Symbol.for(name); SDK span processors export with
// this key set (suppressTracing), as does other telemetry self-I/O.
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

/**
 * The process scope for a context no explicit scope covers, unless the context is the
 * telemetry pipeline's own (tracing suppressed): an exporter started in a process that inherited
 * a scope must not have its exports refused or recorded as the agent's calls. Explicit scopes
 * are unaffected (resolve() runs first).
 */
function inherited(c: Context): ActiveScope | undefined {
  return c.getValue(SUPPRESS_TRACING) === true ? undefined : processScope();
}

interface Found {
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
}

function resolve(active: Span | undefined, frame: Frame | undefined): ActiveScope | undefined {
  if (frame !== undefined && frame.kind === 'egress') return undefined;
  const scopeFrame = frame as ScopeFrame | undefined;
  const boundary = scopeFrame?.boundary;
  if (!sharedState.optionsGiven) scopeOptions();
  const rules = sharedState.spanRules;
  const parentOf = sharedState.parentOf;
  let s: object | undefined = active;
  for (let depth = 0; s !== undefined && s !== boundary && depth < MAX_ANCESTORS; depth++) {
    const found = scopeOfSpan(s, rules, scopeFrame);
    if (found !== undefined) return noteScopeSpans(withIds(found, active), s, active);
    s = parentOf.get(s);
  }
  return scopeFrame === undefined
    ? undefined
    : noteScopeSpans(withIds(scopeFrame, active), scopeFrame.boundary, active);
}

function attributesOf(span: object): Attributes | undefined {
  const attrs = (span as { attributes?: unknown }).attributes;
  return attrs !== null && typeof attrs === 'object' ? (attrs as Attributes) : undefined;
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function scopeOfSpan(
  span: object,
  rules: readonly CompiledRule[],
  frame: ScopeFrame | undefined,
): Found | undefined {
  const attrs = attributesOf(span);
  if (attrs === undefined) return undefined;
  const agentId = attrs[AGENT];
  const actionName = attrs[ACTION];
  if (nonEmpty(agentId) && nonEmpty(actionName)) {
    return { agentId, actionName, interceptIndex: interceptIndexOf(attrs[INDEX]) };
  }
  for (const rule of rules) {
    const action = attrs[rule.action];
    if (!nonEmpty(action) || !conditionsHold(attrs, rule)) continue;
    return { agentId: agentOf(span, attrs, rule, frame), actionName: action, interceptIndex: null };
  }
  return undefined;
}

function conditionsHold(attrs: Attributes, rule: CompiledRule): boolean {
  for (const [name, expected] of rule.when) {
    const v = attrs[name];
    if (expected === true ? !nonEmpty(v) : v !== expected) return false;
  }
  return true;
}

/**
 * Agent of a span a rule made a scope: the rule's agent attributes on the span itself, then on
 * each ancestor (an agent span typically encloses its tool spans), nearest first; then the
 * enclosing interceptContext's agent, then the rule's default, then the configured default.
 */
function agentOf(span: object, attrs: Attributes, rule: CompiledRule, frame: ScopeFrame | undefined): string {
  const own = firstAgent(attrs, rule.agent);
  if (own !== undefined) return own;
  const boundary = frame?.boundary;
  let s = sharedState.parentOf.get(span);
  for (let depth = 0; s !== undefined && s !== boundary && depth < MAX_ANCESTORS; depth++) {
    const a = attributesOf(s);
    const found = a === undefined ? undefined : firstAgent(a, rule.agent);
    if (found !== undefined) return found;
    s = sharedState.parentOf.get(s);
  }
  return frame?.agentId ?? rule.defaultAgent ?? sharedState.options.defaultAgentId;
}

function firstAgent(attrs: Attributes, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = attrs[name];
    if (nonEmpty(v)) return v;
  }
  return undefined;
}

function interceptIndexOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function withIds(found: Found, active: Span | undefined): ActiveScope {
  let traceId: string | null = null;
  let spanId: string | null = null;
  const sc = typeof active?.spanContext === 'function' ? active.spanContext() : undefined;
  if (
    sc !== undefined &&
    typeof sc.traceId === 'string' &&
    typeof sc.spanId === 'string' &&
    TRACE_ID.test(sc.traceId) &&
    sc.traceId !== INVALID_TRACE_ID &&
    SPAN_ID.test(sc.spanId) &&
    sc.spanId !== INVALID_SPAN_ID
  ) {
    traceId = sc.traceId;
    spanId = sc.spanId;
  }
  return {
    agentId: found.agentId,
    actionName: found.actionName,
    interceptIndex: found.interceptIndex,
    traceId,
    spanId,
  };
}
