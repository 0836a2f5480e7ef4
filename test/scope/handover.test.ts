/**
 * The OpenTelemetry registry after provably registered its standalone setup (handover.ts), with
 * real API copies — @opentelemetry/api 1.10 (this process's) and otel-api-19 (1.9.1): readers
 * always see the registry as it is; a same-version registration takes the slot over (no
 * duplicate error) and tracers handed out before follow it; another version's registration is
 * refused by the API and provably reports it (warning + spanWarnings), never silently.
 * One process, one registry: the steps run in order.
 */
import * as api from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import * as api19 from 'otel-api-19';
import { describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ensureOtel, otelWiring, setupScopes, spanWarnings } from '../../src/scope/index.js';

const KEY = Symbol.for('opentelemetry.js.api.1');
const registry = () => (globalThis as unknown as Record<symbol, Record<string, unknown>>)[KEY];

const logged: string[] = [];
configureDiag({ level: 'warn', sink: (line) => logged.push(line) });

const otelErrors: string[] = [];
const otelLogger = {
  error: (m: string) => otelErrors.push(m),
  warn: () => {},
  info: () => {},
  debug: () => {},
  verbose: () => {},
};

describe('the registry provably filled (one process, in order)', () => {
  // Taken before anything is registered, from the 1.9.1 copy: bound to that copy's proxy unless
  // a registry exists by the time it is used — which provably's registration provides.
  let earlyTracer19: api19.Tracer;

  it('provably registers; tracers of both copies are real', () => {
    setupScopes({ otelSdk: 'auto', scopeFromGenAi: true });
    expect(ensureOtel()).toBe('standalone');
    earlyTracer19 = api19.trace.getTracer('framework-19');
    const span = earlyTracer19.startSpan('x');
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(api.trace.getTracer('t').startSpan('y').isRecording()).toBe(true);
    expect(registry()?.version).toBe('1.10.0');
  });

  it('diag.setLogger (an override registration) neither hides nor takes the trace slot', () => {
    const traceBefore = registry()?.trace;
    expect(api.diag.setLogger(otelLogger, api.DiagLogLevel.ERROR)).toBe(true);
    expect(registry()?.trace).toBe(traceBefore);
    expect(api.trace.getTracer('t').startSpan('y').isRecording()).toBe(true);
    expect(otelWiring()).toBe('standalone');
    expect(spanWarnings()).toBe(0);
  });

  it('a 1.9.1 registration is refused by the API: reported as a span-visibility warning', () => {
    const refused = new TracerProvider();
    expect(api19.trace.setGlobalTracerProvider(refused)).toBe(false);
    // Reported at the next look at the registry (the refusal itself happens inside the API).
    void registry()?.trace;
    expect(spanWarnings()).toBe(1);
    expect(logged.join('\n')).toMatch(
      /an @opentelemetry\/api copy of a version other than v1\.10\.0 tried to register its trace after provably and was refused/,
    );
    // Nothing changed for readers.
    expect(earlyTracer19.startSpan('still').isRecording()).toBe(true);
    expect(otelWiring()).toBe('standalone');
  });

  it('the application registers its own provider (same version): it takes over, no duplicate error; early tracers follow', () => {
    const exporter = new InMemorySpanExporter();
    const appProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    otelErrors.length = 0;
    expect(api.trace.setGlobalTracerProvider(appProvider)).toBe(true);
    expect(otelErrors.filter((e) => /duplicate/i.test(e))).toEqual([]);
    expect(otelWiring()).toBe('app');
    earlyTracer19.startSpan('from the early 1.9.1 tracer').end();
    api.trace.getTracer('t').startSpan('from a new tracer').end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
      'from the early 1.9.1 tracer',
      'from a new tracer',
    ]);
    expect(spanWarnings()).toBe(1);
  });

  it('a second registration after the hand-over is a duplicate again (the app owns the slot)', () => {
    otelErrors.length = 0;
    expect(api.trace.setGlobalTracerProvider(new TracerProvider())).toBe(false);
    expect(otelErrors.join('\n')).toMatch(/duplicate registration of API: trace/);
  });
});
