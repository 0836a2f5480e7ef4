/**
 * The few OpenTelemetry and provably globals the hot path reads, without loading
 * `@opentelemetry/api` (≈ 60 % of a bare Node start): importing src/scope must stay free for
 * processes that never enter a scope.
 *
 * Every copy of `@opentelemetry/api` 1.x shares its registrations through one object on
 * `globalThis` (key `Symbol.for('opentelemetry.js.api.1')`, fields `version`, `context`,
 * `trace`, …) and keys spans in a context with `Symbol.for('OpenTelemetry Context Key SPAN')`:
 * that is the protocol that lets several API copies coexist, so reading it here sees exactly
 * what `context.active()` / `trace.getSpan()` would. Registering still goes through the API
 * itself (see wiring.ts).
 */
import type { ContextManager, Span, TracerProvider } from '@opentelemetry/api';
import type { CompiledRule } from './rules.js';
import type { OtelWiringMode, ScopeSetupOptions } from './types.js';

/** Key of the API's global registry (major version 1). */
export const REGISTRY_KEY: symbol = Symbol.for('opentelemetry.js.api.1');
/** Key under which the API stores the active span in a Context. */
export const SPAN_KEY: symbol = Symbol.for('OpenTelemetry Context Key SPAN');
/** Key under which interceptContext / selfEgress store their frame in a Context. */
export const FRAME_KEY: symbol = Symbol.for('provably.scope.frame');

export interface OtelRegistry {
  version?: string;
  context?: ContextManager;
  trace?: TracerProvider & { getDelegate?: () => TracerProvider; setDelegate?: (p: TracerProvider) => void };
}

type GlobalBag = Record<symbol, unknown>;
const bag = globalThis as unknown as GlobalBag;

/** The registry object, once it exists (the API creates it on first registration and keeps it). */
let registryCache: OtelRegistry | undefined;

export function otelRegistry(): OtelRegistry | undefined {
  if (registryCache !== undefined) return registryCache;
  const r = bag[REGISTRY_KEY];
  if (r !== null && typeof r === 'object') registryCache = r as OtelRegistry;
  return registryCache;
}

/** The registered context manager, or undefined (then `context.active()` is always ROOT). */
export function registeredContextManager(): ContextManager | undefined {
  return otelRegistry()?.context;
}

/** The registered (proxy) tracer provider, or undefined when none is registered. */
export function registeredTracerProvider(): OtelRegistry['trace'] | undefined {
  return otelRegistry()?.trace;
}

/** What interceptContext puts in the context it runs fn in. */
export interface ScopeFrame {
  readonly kind: 'scope';
  readonly agentId: string;
  readonly actionName: string;
  readonly interceptIndex: number | null;
  /** Where the ancestor walk stops: the scope's span, or the span active when it began. */
  readonly boundary: Span | undefined;
}

/** What selfEgress puts in the context: nothing under it is in a scope. */
export interface EgressFrame {
  readonly kind: 'egress';
}

export type Frame = ScopeFrame | EgressFrame;

export const EGRESS_FRAME: EgressFrame = Object.freeze({ kind: 'egress' });

/**
 * State shared by every copy of this module in the process (the ESM and CJS builds can both be
 * loaded: `--import provably/register` and a `require('provably')` in the app), so that a span
 * processor built by one copy feeds the resolution done by the other.
 */
export interface SharedScopeState {
  /** Options given by setupScopes (undefined until then: read from the environment on need). */
  options: Required<Pick<ScopeSetupOptions, 'otelSdk' | 'scopeFromGenAi' | 'defaultAgentId'>> &
    Pick<ScopeSetupOptions, 'traceExport'>;
  optionsGiven: boolean;
  /**
   * The span mapping rules in force (rules.ts), compiled from `spanScopes` or the GenAI flag:
   * empty = only `provably.*` attributes make a scope.
   */
  spanRules: readonly CompiledRule[];
  /**
   * The record a transport is handing to the next dispatcher layer right now (synchronously):
   * an HTTP client span another instrumentation starts meanwhile is that call's (trace-events.ts).
   */
  dispatching: { recordId: string } | undefined;
  /** Live span → its parent span, filled by the span processor (weak: nothing to clean up). */
  readonly parentOf: WeakMap<object, object>;
  wiring: {
    mode: OtelWiringMode;
    /**
     * A TracerProvider used only by provably when none is registered (never global); null once
     * it could not be built.
     */
    privateProvider?: TracerProvider | null | undefined;
    /** Flush/shutdown of what provably started (sdk-node, its own provider). */
    shutdown?: (() => Promise<void>) | undefined;
    /** runtime/start.ts shuts the export SDK down at exit (after its last checkpoint). */
    exitFlushedByRuntime?: boolean;
  };
  /** Span-visibility problems reported (see visibility.ts): how many, and their keys. */
  visibility: { warnings: number; keys: string[] };
}

const STATE_KEY = Symbol.for('provably.scope.state.v1');

function createState(): SharedScopeState {
  return {
    options: { otelSdk: 'auto', scopeFromGenAi: false, defaultAgentId: 'agent' },
    optionsGiven: false,
    spanRules: [],
    dispatching: undefined,
    parentOf: new WeakMap(),
    wiring: { mode: 'pending' },
    visibility: { warnings: 0, keys: [] },
  };
}

export const sharedState: SharedScopeState = (() => {
  const existing = bag[STATE_KEY] as SharedScopeState | undefined;
  if (existing !== undefined) {
    // Made by another copy of this module, possibly one from before this field existed.
    existing.visibility ??= { warnings: 0, keys: [] };
    existing.spanRules ??= [];
    return existing;
  }
  const created = createState();
  Object.defineProperty(globalThis, STATE_KEY, { value: created, enumerable: false, configurable: true });
  return created;
})();
