import type { SpanScopeRule } from './rules.js';

/**
 * What "inside a provably scope" resolves to at the moment a request is created. Read
 * synchronously by the transport adapters; everything else about OpenTelemetry stays in
 * src/scope.
 */
export interface ActiveScope {
  agentId: string;
  actionName: string;
  interceptIndex: number | null;
  /** Ids of the active span (hex), or null when it has no valid span context. */
  traceId: string | null;
  spanId: string | null;
}

export interface InterceptContextOptions {
  agentId: string;
  actionName: string;
  interceptIndex?: number;
}

/**
 * Who owns the OpenTelemetry globals (context manager, tracer provider).
 * - `auto`: provably registers a minimal standalone setup on first need (at preload with the
 *   GenAI mapping on), but only if nothing is registered by then; an application that started
 *   its own SDK first is detected and left alone, one that starts it later takes over.
 * - `off`: the application owns its SDK; provably never registers anything global.
 */
export type OtelSdkMode = 'auto' | 'off';

/** How scopes are resolved and how OpenTelemetry is wired; given by the register entry. */
export interface ScopeSetupOptions {
  otelSdk: OtelSdkMode;
  /**
   * Treat spans of the OpenTelemetry GenAI conventions and `ai`'s legacy `ai.toolCall` spans as
   * scopes (the default span mapping rules, DEFAULT_SPAN_SCOPES). Ignored when `spanScopes` is given.
   */
  scopeFromGenAi: boolean;
  /**
   * The span mapping rules (rules.ts); include `...DEFAULT_SPAN_SCOPES` to keep the defaults.
   * When given (even empty) it replaces what `scopeFromGenAi` would select.
   */
  spanScopes?: readonly SpanScopeRule[];
  /** Agent id for GenAI tool spans when no `gen_ai.agent.name` is found. */
  defaultAgentId: string;
  /**
   * Export provably's own spans through `@opentelemetry/sdk-node` configured by the standard
   * `OTEL_*` variables. Only used when provably registers the standalone setup. When omitted it
   * is derived from `OTEL_TRACES_EXPORTER` at first need.
   */
  traceExport?: boolean;
}

/** What provably did about the OpenTelemetry globals (decided at first need, or at preload in GenAI mode). */
export type OtelWiringMode =
  /** No scope has been needed yet: nothing loaded, nothing registered. */
  | 'pending'
  /** provably registered an AsyncLocalStorage context manager and its own TracerProvider. */
  | 'standalone'
  /** provably started `@opentelemetry/sdk-node` (trace export requested through OTEL_*). */
  | 'standalone-export'
  /**
   * The application owns the OpenTelemetry globals: registered first (provably registered
   * nothing), or registered after provably and took over.
   */
  | 'app'
  /** PROVABLY_OTEL_SDK=off: provably registers nothing. */
  | 'off'
  /** Registration failed (reported through src/diag); scopes work only as far as the globals allow. */
  | 'unavailable';
