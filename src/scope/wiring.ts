/**
 * OpenTelemetry wiring, decided once: at preload when the GenAI span mapping is on (see
 * span-mapping.ts: tracers taken by the app's first modules must be real), otherwise at the
 * first moment a scope is needed (the first interceptContext call), never at import:
 *
 * - `otelSdk: 'off'` → register nothing (the application owns OpenTelemetry);
 * - something already registered (context manager or tracer provider) → 'app': register nothing;
 *   provably's spans go through the application's provider;
 * - nothing registered, trace export requested through OTEL_* → start `@opentelemetry/sdk-node`
 *   (traces only) and track span parents through its provider;
 * - nothing registered → register an AsyncLocalStorage context manager and a TracerProvider from
 *   `@opentelemetry/sdk-trace` carrying provably's span processor, both deferred (loaded at first
 *   use), and let an application that registers its own SDK later take over (handover.ts).
 *
 * Packages are loaded synchronously through load.ts, on first use only.
 */

import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Context, Span, SpanOptions, Tracer, TracerProvider } from '@opentelemetry/api';
import type * as SdkNodeModule from '@opentelemetry/sdk-node';
import type * as SdkTraceModule from '@opentelemetry/sdk-trace';
import { diag } from '../diag/index.js';
import { VERSION } from '../version.js';
import { DeferredContextManager } from './deferred-context.js';
import { DeferredTracerProvider } from './deferred-provider.js';
import {
  type OtelRegistry,
  otelRegistry,
  REGISTRY_KEY,
  registeredContextManager,
  registeredTracerProvider,
  sharedState,
} from './globals.js';
import { watchForHandover } from './handover.js';
import { loadSync } from './load.js';
import { provablySpanProcessor, rememberParent } from './processor.js';
import { scopeOptions, traceExportRequested } from './setup.js';
import { type CheckpointEventInfo, onSpanStart, traceCheckpoint } from './trace-events.js';
import type { OtelWiringMode } from './types.js';
import { packageJsonOf, warnSpanVisibility } from './visibility.js';

export const TRACER_NAME = 'provably';

/** Makes sure scopes can be seen, registering the standalone setup if it is provably's to do. */
export function ensureOtel(): OtelWiringMode {
  const wiring = sharedState.wiring;
  if (wiring.mode !== 'pending') return wiring.mode;
  const options = scopeOptions();
  try {
    const reg = otelRegistry();
    if (options.otelSdk === 'off') {
      wiring.mode = 'off';
    } else if (reg?.context !== undefined || reg?.trace !== undefined) {
      wiring.mode = 'app';
    } else if (options.traceExport ?? traceExportRequested()) {
      wiring.mode = startExportSdk() ?? registerStandalone();
    } else {
      wiring.mode = registerStandalone();
    }
  } catch (err) {
    diag.warn('could not set up OpenTelemetry for provably scopes', err);
    wiring.mode = 'unavailable';
  }
  diag.debug(`OpenTelemetry wiring for scopes: ${wiring.mode}`);
  if (registeredContextManager() === undefined) {
    diag.once(
      'scope.no-context-manager',
      'warn',
      `no OpenTelemetry context manager is registered (wiring: ${wiring.mode}): scopes cannot be seen until the application registers one`,
    );
  }
  return wiring.mode;
}

let ensureScheduled = false;

/**
 * ensureOtel on the next turn of the event loop: used from a request-creation hook, where loading
 * packages synchronously would stall (and re-enter) the host's request.
 */
export function scheduleEnsureOtel(): void {
  if (ensureScheduled) return;
  ensureScheduled = true;
  setImmediate(() => {
    ensureOtel();
  }).unref();
}

/** The caller (the running provably) flushes and shuts down the export SDK at exit itself. */
export function flushScopesAtExitByCaller(): void {
  sharedState.wiring.exitFlushedByRuntime = true;
}

/** How OpenTelemetry was wired for scopes ('pending' until the first scope was needed). */
export function otelWiring(): OtelWiringMode {
  return sharedState.wiring.mode;
}

/**
 * Flushes and shuts down what provably itself started (the export SDK or its own provider).
 * Nothing to do when the application owns OpenTelemetry.
 */
export async function shutdownScopes(): Promise<void> {
  const shutdown = sharedState.wiring.shutdown;
  sharedState.wiring.shutdown = undefined;
  if (shutdown !== undefined) await shutdown();
}

/**
 * The tracer interceptContext starts its spans with: the registered provider's (the
 * application's or provably's); without one, a private provider never registered globally, so
 * the spans still get real ids. Undefined if no provider can be had.
 */
export function scopeTracer(): Tracer | undefined {
  const registered = registeredTracerProvider();
  if (registered !== undefined) return registered.getTracer(TRACER_NAME, VERSION);
  const wiring = sharedState.wiring;
  if (wiring.privateProvider === undefined) {
    try {
      const { TracerProvider: SdkTracerProvider } =
        loadSync<typeof SdkTraceModule>('@opentelemetry/sdk-trace');
      wiring.privateProvider = new SdkTracerProvider({ spanProcessors: [provablySpanProcessor()] });
    } catch (err) {
      diag.once(
        'scope.private-provider',
        'warn',
        'cannot load @opentelemetry/sdk-trace: scope spans have no ids',
        err,
      );
      wiring.privateProvider = null;
    }
  }
  return wiring.privateProvider?.getTracer(TRACER_NAME, VERSION) ?? undefined;
}

/**
 * A checkpoint was issued: traced on a span of its own through the registered provider, when
 * provably's spans are exported (see trace-events.ts). Never throws.
 */
export function traceCheckpointIssued(info: CheckpointEventInfo): void {
  let tracer: Tracer | undefined;
  try {
    tracer = registeredTracerProvider()?.getTracer(TRACER_NAME, VERSION);
  } catch (err) {
    diag.once('scope.checkpoint-tracer', 'warn', 'no tracer for checkpoint spans', err);
  }
  traceCheckpoint(info, tracer);
}

/**
 * Registers provably's context manager and tracer provider straight into the registry every
 * copy of `@opentelemetry/api` 1.x reads (see globals.ts), as the API's own registerGlobal
 * would, but without loading the API: both are deferred (deferred-context.ts,
 * deferred-provider.ts), so registering costs nothing until a span is started or made active.
 * The registry's version is that of the API provably depends on, the one its objects implement.
 */
function registerStandalone(): OtelWiringMode {
  const bag = globalThis as unknown as Record<symbol, OtelRegistry | undefined>;
  const existing = bag[REGISTRY_KEY];
  if (existing?.context !== undefined || existing?.trace !== undefined) return 'app';
  let registry = existing;
  if (registry === undefined) {
    const version = ownApiVersion();
    if (version === undefined) {
      diag.warn('cannot find @opentelemetry/api: provably registers no OpenTelemetry globals');
      return 'unavailable';
    }
    // Same shape as the API makes it: `version` fixed for the life of the process.
    registry = Object.defineProperty({}, 'version', { value: version, enumerable: true }) as OtelRegistry;
    bag[REGISTRY_KEY] = registry;
  }
  const provider = new DeferredTracerProvider(buildOwnProvider);
  registry.context = new DeferredContextManager();
  registry.trace = provider;
  sharedState.wiring.shutdown = () => provider.shutdown();
  const watched = watchForHandover({
    onHandover(slot) {
      if (slot === 'trace') provider.handOver(registeredTracerProvider() ?? provider);
      sharedState.wiring.mode = 'app';
      diag.info(
        `the application registered its own OpenTelemetry ${slot === 'trace' ? 'tracer provider' : 'context manager'} ` +
          'after provably: it takes over (add provablySpanProcessor() to it for scope inheritance)',
      );
    },
    onRefused(slot, version) {
      warnSpanVisibility(
        `refused:${slot}`,
        `an @opentelemetry/api copy of a version other than v${version} tried to register its ${slot} ` +
          'after provably and was refused by the API: its exporters get no spans, and if that copy is newer ' +
          `than v${version} its spans are no-ops provably cannot see (calls inside them are NOT governed)`,
      );
    },
  });
  if (!watched)
    diag.debug('the OpenTelemetry registry cannot be watched: a later app registration is refused');
  return 'standalone';
}

/** Version of the `@opentelemetry/api` provably itself resolves (its package.json, not loaded). */
function ownApiVersion(): string | undefined {
  try {
    return packageJsonOf(createRequire(import.meta.url).resolve('@opentelemetry/api'))?.version;
  } catch {
    return undefined;
  }
}

function buildOwnProvider(): TracerProvider {
  try {
    const { TracerProvider: SdkTracerProvider } = loadSync<typeof SdkTraceModule>('@opentelemetry/sdk-trace');
    return new SdkTracerProvider({ spanProcessors: [provablySpanProcessor()] });
  } catch (err) {
    warnSpanVisibility(
      'no-sdk-trace',
      'cannot load @opentelemetry/sdk-trace: spans have no attributes provably can read, so span scopes ' +
        '(GenAI tool spans, provably.* attributes) are NOT seen; interceptContext still works',
    );
    diag.debug('sdk-trace load failure', err);
    return new (loadSync<typeof OtelApi>('@opentelemetry/api').ProxyTracerProvider)();
  }
}

/**
 * Trace export requested through OTEL_*: `@opentelemetry/sdk-node` builds the exporters from
 * the environment and owns the globals. Traces only: metrics and logs stay off (empty readers
 * and processors) whatever their OTEL_* defaults say. Undefined when sdk-node is unavailable.
 */
function startExportSdk(): OtelWiringMode | undefined {
  let sdkNode: typeof SdkNodeModule;
  try {
    sdkNode = loadSync<typeof SdkNodeModule>('@opentelemetry/sdk-node');
  } catch (err) {
    diag.warn(
      'OTEL_TRACES_EXPORTER is set but @opentelemetry/sdk-node cannot be loaded: provably spans are not exported',
      err,
    );
    return undefined;
  }
  const api = loadSync<typeof OtelApi>('@opentelemetry/api');
  const reg = otelRegistry();
  if (reg?.context !== undefined || reg?.trace !== undefined) return 'app';
  const sdk = new sdkNode.NodeSDK({ metricReaders: [], logRecordProcessors: [], instrumentations: [] });
  sdk.start();
  if (registeredContextManager() === undefined) {
    // Nothing registered (the SDK is disabled or failed): fall back to the plain standalone setup.
    void sdk.shutdown().catch(() => {});
    return undefined;
  }
  const proxy = registeredTracerProvider();
  if (proxy === undefined) {
    // No exporter could be built from OTEL_TRACES_EXPORTER (sdk-node said why): ids still matter.
    const { TracerProvider: SdkTracerProvider } = loadSync<typeof SdkTraceModule>('@opentelemetry/sdk-trace');
    api.trace.setGlobalTracerProvider(new SdkTracerProvider({ spanProcessors: [provablySpanProcessor()] }));
  } else if (typeof proxy.getDelegate === 'function' && typeof proxy.setDelegate === 'function') {
    // sdk-node builds its processors from the environment and takes no extra one alongside
    // them: track span parents by wrapping the provider it registered (provably's registration).
    proxy.setDelegate(parentTrackingProvider(proxy.getDelegate(), api));
  }
  let done: Promise<void> | undefined;
  const shutdown = () => {
    done ??= sdk.shutdown().catch((err: unknown) => diag.warn('trace export shutdown failed', err));
    return done;
  };
  sharedState.wiring.shutdown = shutdown;
  // The running provably (runtime/start.ts) shuts this down itself at exit, AFTER its last rows
  // and checkpoint (whose span must still be exported); alone, provably's scopes do it here.
  process.once('beforeExit', () => {
    if (!sharedState.wiring.exitFlushedByRuntime) void shutdown();
  });
  return 'standalone-export';
}

/** A TracerProvider whose tracers remember each span's parent (as the span processor does). */
function parentTrackingProvider(inner: TracerProvider, api: typeof OtelApi): TracerProvider {
  const tracers = new Map<string, Tracer>();
  const provider = {
    getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
      const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
      let tracer = tracers.get(key);
      if (tracer === undefined) {
        tracer = parentTrackingTracer(inner.getTracer(name, version, options), api);
        tracers.set(key, tracer);
      }
      return tracer;
    },
    forceFlush: () => (inner as { forceFlush?: () => Promise<void> }).forceFlush?.() ?? Promise.resolve(),
    shutdown: () => (inner as { shutdown?: () => Promise<void> }).shutdown?.() ?? Promise.resolve(),
  };
  return provider;
}

function parentTrackingTracer(inner: Tracer, api: typeof OtelApi): Tracer {
  const startSpan = (name: string, options?: SpanOptions, ctx?: Context): Span => {
    const parentContext = ctx ?? api.context.active();
    const span = inner.startSpan(name, options, parentContext);
    if (options?.root !== true) rememberParent(span, parentContext);
    onSpanStart(span);
    return span;
  };
  // Same argument forms as the SDK's: (fn) | (options, fn) | (options, context, fn).
  const startActiveSpan = (name: string, ...rest: unknown[]): unknown => {
    if (rest.length === 0) return undefined;
    const fn = rest[rest.length - 1] as (span: Span) => unknown;
    const options = rest.length >= 2 ? (rest[0] as SpanOptions | undefined) : undefined;
    const ctx = rest.length >= 3 ? (rest[1] as Context | undefined) : undefined;
    const parentContext = ctx ?? api.context.active();
    const span = startSpan(name, options, parentContext);
    return api.context.with(api.trace.setSpan(parentContext, span), fn, undefined, span);
  };
  return { startSpan, startActiveSpan } as Tracer;
}
