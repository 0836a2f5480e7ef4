/**
 * Composes the parts into a running provably: scopes (OpenTelemetry), the cached trusted set,
 * the recorder, and the transport interception. `register.ts` calls startProvably() once at
 * preload; nothing here touches the store or loads OpenTelemetry until the first governed call.
 */
import { defaultOrgId, type Env, readFlag, readPositiveInt } from '../config/index.js';
import { diag } from '../diag/index.js';
import { setInterceptBodyHook as applyHook, installInterception } from '../intercept/index.js';
import { appendLeavesByOrg } from '../ledger/index.js';
import { type CallRecording, createRecorder, type Recorder } from '../record/index.js';
import { activeScope, readScopeOptions, selfEgress, setupScopes, shutdownScopes } from '../scope/index.js';
import { closeDefaultStore, getDefaultStore } from '../store/index.js';
import { createTrustedSetCache, DEFAULT_TRUST_REFRESH_MS } from '../trust/index.js';
import { createCheckpointScheduler } from './checkpoints.js';
import { controller, installController, type ProvablyController } from './controller.js';

export interface StartOptions {
  /** Settings source; defaults to process.env. */
  env?: Env;
}

/** A recording that writes nothing: for governed calls outside the record allowlist. */
const NOT_RECORDED: CallRecording = {
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

  const orgId = defaultOrgId(env);
  const scopeOptions = readScopeOptions(env);
  const refreshMs = readPositiveInt(env, 'PROVABLY_TRUST_REFRESH_MS', DEFAULT_TRUST_REFRESH_MS);
  const startEnabled = readFlag(env, 'PROVABLY_ENABLED', true);

  setupScopes(scopeOptions);
  const gate = createTrustedSetCache({ store: getDefaultStore, refreshMs, runOutsideScope: selfEgress });
  const checkpoints = createCheckpointScheduler({ store: getDefaultStore, env, runOutsideScope: selfEgress });
  const storeRecorder = createRecorder({
    store: getDefaultStore,
    runOutsideScope: selfEgress,
    env,
    // Every row becomes a leaf of its org's Merkle log in the same transaction: a row is never
    // committed without its leaf.
    withinBatch: (tx, rows) => appendLeavesByOrg(tx, rows),
    onCommitted: (rows) => {
      const perOrg = new Map<string, number>();
      for (const r of rows) perOrg.set(r.orgId, (perOrg.get(r.orgId) ?? 0) + 1);
      for (const [org, n] of perOrg) checkpoints.noteLeaves(org, n);
    },
  });

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
      const r = storeRecorder.stats();
      return {
        started: true,
        enabled: this.enabled,
        blocked: i.blocked,
        recorded: r.recorded,
        gateErrors: i.gateErrors,
        internalErrors: i.internalErrors,
        storeErrors: r.storeErrors,
        dropped: r.dropped,
      };
    },
    async shutdown() {
      gate.close();
      await storeRecorder.close();
      await checkpoints.flush();
      checkpoints.close();
      await shutdownScopes();
      await closeDefaultStore();
    },
  };

  const recorder: Recorder = {
    start(scope, request) {
      const allow = c.recordAllowlist;
      if (allow !== null && allow.match(request.url) === null) return NOT_RECORDED;
      return storeRecorder.start(scope, request);
    },
  };

  const handle = installInterception({
    gate,
    recorder,
    // Disabled means "as if no scope were active": one property read on the passthrough path.
    resolveScope: () => (c.enabled ? activeScope() : undefined),
    orgId: () => orgId,
  });
  installController(c);
  if (!startEnabled) c.enabled = false;

  // When the host runs out of work: wait for rows still in flight and flush provably's own span
  // exporter. Nothing is closed — an app may schedule more work from 'beforeExit', and its
  // governed calls must still be recorded; the embedded store's lock is released at exit.
  let flushing = false;
  process.on('beforeExit', () => {
    if (flushing) return;
    flushing = true;
    Promise.all([storeRecorder.flush().then(() => checkpoints.flush()), shutdownScopes()])
      .catch((err: unknown) => diag.warn('flushing at exit did not complete cleanly', err))
      .finally(() => {
        flushing = false;
      });
  });
  diag.debug(`started for org ${orgId} (otel sdk: ${scopeOptions.otelSdk}, refresh ${refreshMs} ms)`);
  return c;
}
