/**
 * The TracerProvider provably registers: it builds the real one (`@opentelemetry/sdk-trace` with
 * provably's span processor) only when the first span starts, and can be handed over to a
 * provider the application registers later.
 *
 * Why deferred: in GenAI mode the provider is registered at preload, before the app's first
 * module, so that tracers taken at module top level from ANY copy of `@opentelemetry/api` are
 * real; loading the SDK there would add its whole load time to every start, while most
 * processes take tracers early and start spans much later (or never).
 *
 * Why a hand-over: an application that starts its own SDK after the preload must get its spans
 * exported by its own provider, not silently swallowed by provably's (see handover.ts). The
 * tracers handed out before that keep working: every span start asks the provider in force.
 */
import type { Context, Span, SpanOptions, Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';

type ActiveSpanArgs = [
  options: SpanOptions | undefined,
  ctx: Context | undefined,
  fn: (span: Span) => unknown,
];

export class DeferredTracerProvider implements TracerProvider {
  private built: TracerProvider | undefined;
  private handedTo: TracerProvider | undefined;
  private readonly tracers = new Map<string, DeferredTracer>();
  private readonly build: () => TracerProvider;

  // No parameter properties: the sources also run with Node's type stripping (tests).
  constructor(build: () => TracerProvider) {
    this.build = build;
  }

  /** The provider spans start in now: the application's after a hand-over, else provably's. */
  current(): TracerProvider {
    const handed = this.handedTo;
    // The app's API copy may be provably's own: its proxy still delegates to this provider until
    // the app's registration sets its delegate; following it would loop back here.
    if (handed !== undefined && (handed as { getDelegate?: () => unknown }).getDelegate?.() !== this) {
      return handed;
    }
    this.built ??= this.build();
    return this.built;
  }

  /** From now on every tracer (already handed out or not) starts its spans in `provider`. */
  handOver(provider: TracerProvider): void {
    this.handedTo = provider;
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      tracer = new DeferredTracer(this, name, version, options);
      this.tracers.set(key, tracer);
    }
    return tracer;
  }

  /** Flushes and shuts down provably's own provider, if it was ever built. */
  async shutdown(): Promise<void> {
    await (this.built as { shutdown?: () => Promise<void> } | undefined)?.shutdown?.();
  }
}

class DeferredTracer implements Tracer {
  private tracerOf: TracerProvider | undefined;
  private tracer: Tracer | undefined;
  private readonly provider: DeferredTracerProvider;
  private readonly name: string;
  private readonly version: string | undefined;
  private readonly options: TracerOptions | undefined;

  constructor(
    provider: DeferredTracerProvider,
    name: string,
    version: string | undefined,
    options: TracerOptions | undefined,
  ) {
    this.provider = provider;
    this.name = name;
    this.version = version;
    this.options = options;
  }

  private real(): Tracer {
    const p = this.provider.current();
    if (p !== this.tracerOf || this.tracer === undefined) {
      this.tracer = p.getTracer(this.name, this.version, this.options);
      this.tracerOf = p;
    }
    return this.tracer;
  }

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    return this.real().startSpan(name, options, ctx);
  }

  // The API's overloads: (name, fn) | (name, options, fn) | (name, options, context, fn).
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const real = this.real() as unknown as { startActiveSpan(name: string, ...a: unknown[]): ReturnType<F> };
    return real.startActiveSpan(name, ...(rest as Partial<ActiveSpanArgs>));
  }
}
