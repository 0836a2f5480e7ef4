/**
 * Composes the parts into a running provably: scopes (OpenTelemetry), the cached trusted set,
 * the recorder, and the transport interception. `register.ts` calls startProvably() once at
 * preload; nothing here touches the store or loads OpenTelemetry until the first governed call.
 */
import { readChildExecutables } from '../config/child-executables.js';
import { readEgressConfig } from '../config/egress.js';
import { defaultOrgId, type Env, readFlag, readPositiveInt, readStoreConfig } from '../config/index.js';
import { readDnsServerAllowlist, readUdpAllowlist } from '../config/network.js';
import { diag } from '../diag/index.js';
import { ProvablyStoreError } from '../errors/index.js';
import { adoptInheritedScope, installInheritance } from '../inherit/index.js';
import {
  setInterceptBodyHook as applyHook,
  installInterception,
  type TrustGate,
} from '../intercept/index.js';
import { readRecorderConfig } from '../record/config.js';
import type { CallRecording, Recorder } from '../record/types.js';
import {
  activeScope,
  enterDispatch,
  exitDispatch,
  flushScopesAtExitByCaller,
  onFirstScope,
  otelWiring,
  readScopeOptions,
  type SpanScopeRule,
  scheduleEnsureOtel,
  setupScopes,
  shutdownScopes,
  spanWarnings,
  traceBlocked,
  traceRecorded,
  traceRecordStarted,
  wireForSpanMapping,
} from '../scope/index.js';
// Deep import on purpose: the store's face would load pg and PGlite's wrapper at preload.
import { prefetchPgliteAssets } from '../store/pglite-assets.js';
import { readCheckpointConfig } from './checkpoint-config.js';
import { controller, installController, type ProvablyController } from './controller.js';
import type { Pipeline } from './pipeline.js';

const DEFAULT_TRUST_REFRESH_MS = 5_000;

export interface StartOptions {
  /** Settings source; defaults to process.env. */
  env?: Env;
  /**
   * Span mapping rules (which spans of agent frameworks are scopes); replace what
   * PROVABLY_SCOPE_ATTRIBUTES / PROVABLY_SCOPE_FROM_GENAI select. Include
   * `...DEFAULT_SPAN_SCOPES` to keep the defaults. Invalid rules → ProvablyConfigError.
   */
  spanScopes?: readonly SpanScopeRule[];
}

function unrecordable(url: string): CallRecording {
  const err = () =>
    Promise.reject(new ProvablyStoreError('record', 'unknown', `the recorder was not ready for ${url}`));
  return { peer() {}, response() {}, chunk() {}, finish: err, fail: () => Promise.resolve() };
}

/** A recording that writes nothing: for governed calls outside the record allowlist. */
const NOT_RECORDED: CallRecording = {
  peer() {},
  response() {},
  chunk() {},
  finish: () => Promise.resolve(),
  fail: () => Promise.resolve(),
};

/**
 * Installs provably in this process (idempotent: a second call returns the running
 * controller). Invalid settings throw ProvablyConfigError — a misconfigured preload refuses to
 * start rather than letting governed calls out unchecked.
 */
export function startProvably(options: StartOptions = {}): ProvablyController {
  const existing = controller();
  if (existing.started) return existing;
  const env = options.env ?? process.env;

  // Every setting is checked now, so a misconfigured preload stops at start, not at the first call.
  const orgId = defaultOrgId(env);
  const scopeOptions = readScopeOptions(env);
  if (options.spanScopes !== undefined) scopeOptions.spanScopes = options.spanScopes;
  const refreshMs = readPositiveInt(env, 'PROVABLY_TRUST_REFRESH_MS', DEFAULT_TRUST_REFRESH_MS);
  const startEnabled = readFlag(env, 'PROVABLY_ENABLED', true);
  readRecorderConfig(env);
  // Checked at start so a bad list stops the preload (scoped sends re-read them on use).
  readUdpAllowlist(env);
  readDnsServerAllowlist(env);
  const { shutdownTimeoutMs } = readCheckpointConfig(env);
  const childExecutables = readChildExecutables(env);
  const egress = readEgressConfig(env);
  setupScopes(scopeOptions);
  // A worker or child started inside a scope runs inside it from its first line of code.
  const inherited = adoptInheritedScope(env);

  // The store, recorder and ledger load on the first governed call (the gate is asked first).
  let pipeline: Pipeline | undefined;
  let loading: Promise<Pipeline> | undefined;
  const load = (): Promise<Pipeline> => {
    loading ??= Promise.all([import('./pipeline.js'), import('./signals.js')]).then(([m, signals]) => {
      const p = m.createPipeline(env, refreshMs);
      pipeline = p;
      signals.checkpointOnSignals(() => p.flush(), shutdownTimeoutMs);
      return p;
    });
    return loading;
  };
  const gate: TrustGate = {
    check(url, org) {
      return pipeline ? pipeline.gate.check(url, org) : load().then((p) => p.gate.check(url, org));
    },
    allowsDestination(host, port, org) {
      return pipeline
        ? pipeline.gate.allowsDestination(host, port, org)
        : load().then((p) => p.gate.allowsDestination(host, port, org));
    },
  };

  const c: ProvablyController = {
    started: true,
    enabled: startEnabled,
    recordAllowlist: null,
    bodyHook: undefined,
    applyBodyHook() {
      applyHook(this.bodyHook);
    },
    status() {
      const i = handle.stats();
      const r = pipeline?.recorder.stats();
      return {
        started: true,
        enabled: this.enabled,
        blocked: i.blocked,
        connectionsBlocked: i.connectionsBlocked,
        peerMismatches: i.peerMismatches,
        recorded: r?.recorded ?? 0,
        gateErrors: i.gateErrors,
        internalErrors: i.internalErrors,
        storeErrors: r?.storeErrors ?? 0,
        dropped: r?.dropped ?? 0,
        otelWiring: otelWiring(),
        spanWarnings: spanWarnings(),
      };
    },
    async shutdown() {
      await pipeline?.close();
      await shutdownScopes();
    },
  };

  const recorder: Recorder = {
    start(scope, request) {
      const allow = c.recordAllowlist;
      if (allow !== null && allow.match(request.url) === null) return NOT_RECORDED;
      if (pipeline) return pipeline.recorder.start(scope, request);
      // Unreachable in practice (the gate loads the pipeline before any call is let through);
      // if it ever happens the call fails closed rather than going unrecorded.
      return unrecordable(request.url);
    },
  };

  const handle = installInterception({
    gate,
    recorder,
    // Disabled means "as if no scope were active": one property read on the passthrough path.
    resolveScope: () => (c.enabled ? activeScope() : undefined),
    orgId: () => orgId,
    egress: { proxies: egress.proxies.map((p) => p.origin), unixSockets: egress.unixSockets },
    // Governed calls in the application's traces (span events, record id on client spans).
    traces: {
      recorded: (scope, row) => traceRecorded(scope, { ...row, recordId: row.id }),
      blocked: traceBlocked,
      started: traceRecordStarted,
      enterDispatch,
      exitDispatch: (token) => exitDispatch(token as ReturnType<typeof enterDispatch>),
    },
  });
  installController(c);
  if (!startEnabled) c.enabled = false;
  // The first governed call of an embedded-store process opens PGlite; its artifacts (the wasm
  // module, the file-system bundle) start loading off the main thread at the first explicit
  // scope, so they are ready by then. Nothing happens in a process that never enters a scope
  // (or has governance switched off then).
  onFirstScope(() => {
    if (c.enabled && !readStoreConfig(env).databaseUrl) prefetchPgliteAssets();
  });
  // GenAI mode: OpenTelemetry must be real before the app's first module takes a tracer.
  wireForSpanMapping();
  installInheritance({
    resolveScope: () => (c.enabled ? activeScope() : undefined),
    childExecutables: () => childExecutables,
  });
  if (inherited !== undefined) {
    diag.debug(`running inside the inherited scope ${inherited.agentId}/${inherited.actionName}`);
    // selfEgress (provably's own I/O) needs a context manager to step out of the process scope:
    // wire OpenTelemetry soon, but after the app's synchronous start (it may register its own).
    scheduleEnsureOtel();
  }

  // When the host runs out of work: wait for rows still in flight, checkpoint them and flush
  // provably's own span exporter. Nothing is closed — an app may schedule more work from
  // 'beforeExit', and its governed calls must still be recorded; the embedded store's lock is
  // released at exit.
  let flushing = false;
  flushScopesAtExitByCaller();
  process.on('beforeExit', () => {
    if (flushing) return;
    flushing = true;
    // Rows and checkpoints first, then the span exporter: a checkpoint issued by the flush is
    // traced (provably.checkpoint) and must still find the exporter running.
    Promise.resolve(pipeline?.flush())
      .catch((err: unknown) => diag.warn('flushing rows at exit did not complete cleanly', err))
      .then(() => shutdownScopes())
      .catch((err: unknown) => diag.warn('flushing at exit did not complete cleanly', err))
      .finally(() => {
        flushing = false;
      });
  });
  diag.debug(`started for org ${orgId} (otel sdk: ${scopeOptions.otelSdk}, refresh ${refreshMs} ms)`);
  return c;
}
