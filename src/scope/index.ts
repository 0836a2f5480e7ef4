/**
 * scope — what "inside a provably scope" means: an OpenTelemetry span carrying
 * `provably.agent_id` + `provably.action_name` (on itself or its nearest ancestor that carries
 * them), entered with interceptContext, left with selfEgress. Knows nothing about HTTP.
 *
 * Importing this module loads no OpenTelemetry package (not even the API): the API, the context
 * manager and the SDK are loaded on first need only (see wiring.ts).
 *
 * What is supported
 * - interceptContext scopes: always, with any tracer provider (or none: the frame it puts in
 *   the context is enough), through any spans started inside fn, sync or async.
 * - Scopes set as attributes on spans of other tracers (the app, agent frameworks), including
 *   attributes set after the span started: seen on the active span itself always; inherited by
 *   descendant spans when the provider runs provably's span processor — provably's own
 *   standalone provider does; an application-owned provider needs `provablySpanProcessor()`
 *   in its `spanProcessors`.
 * - Span mapping rules (opt-in, rules.ts): spans of other tracers matching a rule are scopes
 *   (action from the rule's attribute, agent from its agent attributes on the span or an
 *   ancestor, else the enclosing interceptContext's agent, else the rule's / global default).
 *   The default rules (GenAI conventions, `ai`'s legacy `ai.toolCall`) are what
 *   PROVABLY_SCOPE_FROM_GENAI=1 turns on; PROVABLY_SCOPE_ATTRIBUTES / `spanScopes` replace them.
 * - Records in traces (trace-events.ts): span events for recorded and blocked calls, the record
 *   id on HTTP client spans, a span per checkpoint issued.
 *
 * Wiring (b), the application owns OpenTelemetry: start your SDK whenever you like — before
 * the first scope, or later (it takes over from provably's registration, see handover.ts) — or
 * set PROVABLY_OTEL_SDK=off so provably never registers; add `provablySpanProcessor()` to its
 * `spanProcessors` for inheritance from your own or your frameworks' spans. provably's spans
 * then go through your provider and exporters.
 *
 * GenAI mode wires OpenTelemetry at preload (span-mapping.ts) and reports at start whatever
 * spans it may not see (visibility.ts, `provablyStatus().spanWarnings`).
 */
export { GEN_AI_ATTRIBUTES, SCOPE_ATTRIBUTES } from './attributes.js';
export { agentRun, interceptContext, selfEgress } from './context.js';
export { onFirstScope } from './first-scope.js';
export { provablySpanProcessor } from './processor.js';
export { activeScope } from './resolve.js';
export { processScope, setProcessScope } from './root.js';
export { compileRules, DEFAULT_SPAN_SCOPES, parseScopeAttributes, type SpanScopeRule } from './rules.js';
export {
  DEFAULT_AGENT_ID,
  readScopeOptions,
  scopeOptions,
  setupScopes,
  spanMappingOn,
  traceExportRequested,
} from './setup.js';
export { activeSpanIds } from './span-ids.js';
export { wireForSpanMapping } from './span-mapping.js';
export {
  type CheckpointEventInfo,
  enterDispatch,
  exitDispatch,
  type InterceptEventInfo,
  TRACE_EVENTS,
  traceBlocked,
  traceRecorded,
  traceRecordStarted,
} from './trace-events.js';
export type {
  ActiveScope,
  InterceptContextOptions,
  OtelSdkMode,
  OtelWiringMode,
  ScopeSetupOptions,
} from './types.js';
export { spanWarnings } from './visibility.js';
export {
  ensureOtel,
  flushScopesAtExitByCaller,
  otelWiring,
  scheduleEnsureOtel,
  shutdownScopes,
  traceCheckpointIssued,
} from './wiring.js';
