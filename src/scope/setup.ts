/**
 * Scope options: given once by the register entry (`setupScopes`), or read from the environment
 * at first need when nobody called it (an app importing provably without the preload).
 */
import { type Env, readFlag } from '../config/index.js';
import { splitList } from '../config/list.js';
import { diag } from '../diag/index.js';
import { ProvablyConfigError } from '../errors/index.js';
import { sharedState } from './globals.js';
import { type CompiledRule, compileRules, DEFAULT_SPAN_SCOPES, parseScopeAttributes } from './rules.js';
import type { OtelSdkMode, ScopeSetupOptions } from './types.js';

export const DEFAULT_AGENT_ID = 'agent';

/**
 * Reads the scope options from the environment:
 * - `PROVABLY_OTEL_SDK`: `auto` (default) or `off`;
 * - `PROVABLY_SCOPE_FROM_GENAI`: 1/0, true/false, yes/no, on/off (default off);
 * - `PROVABLY_SCOPE_ATTRIBUTES`: span mapping rules (rules.ts syntax); replaces what
 *   PROVABLY_SCOPE_FROM_GENAI selects (write `defaults;` in it to keep the default rules);
 * - `PROVABLY_DEFAULT_AGENT_ID`: agent id for GenAI tool spans without an agent name (default `agent`);
 * - `OTEL_TRACES_EXPORTER` (standard): set to anything but `none` → `traceExport` (unless
 *   `OTEL_SDK_DISABLED=true`).
 * Throws ProvablyConfigError naming the variable on an invalid value.
 */
export function readScopeOptions(env: Env = process.env): ScopeSetupOptions {
  const rawSdk = env.PROVABLY_OTEL_SDK?.trim().toLowerCase();
  let otelSdk: OtelSdkMode = 'auto';
  if (rawSdk !== undefined && rawSdk !== '') {
    if (rawSdk !== 'auto' && rawSdk !== 'off') {
      throw new ProvablyConfigError(
        'PROVABLY_OTEL_SDK',
        `expected auto or off, got ${JSON.stringify(env.PROVABLY_OTEL_SDK)}`,
      );
    }
    otelSdk = rawSdk;
  }
  const agent = env.PROVABLY_DEFAULT_AGENT_ID?.trim();
  const spanScopes = parseScopeAttributes(env.PROVABLY_SCOPE_ATTRIBUTES);
  const options: ScopeSetupOptions = {
    otelSdk,
    scopeFromGenAi: readFlag(env, 'PROVABLY_SCOPE_FROM_GENAI', false),
    defaultAgentId: agent === undefined || agent === '' ? DEFAULT_AGENT_ID : agent,
    traceExport: traceExportRequested(env),
  };
  if (spanScopes !== undefined) options.spanScopes = spanScopes;
  return options;
}

/** True when the standard OTEL_* variables ask for trace export (and the SDK is not disabled). */
export function traceExportRequested(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const names = splitList(env.OTEL_TRACES_EXPORTER)
    .map((s) => s.toLowerCase())
    .filter((s) => s !== 'null');
  return names.length > 0 && names[0] !== 'none';
}

/**
 * Sets how scopes are resolved and how OpenTelemetry is wired. Called by the register entry at
 * startup; loads and registers nothing (wiring happens on first need). Missing fields keep
 * their defaults (`auto`, GenAI mapping off, agent `agent`, trace export from OTEL_*).
 * `otelSdk` and `traceExport` only matter until the first scope is needed.
 */
export function setupScopes(options: Partial<ScopeSetupOptions> = {}): void {
  if (options === null || typeof options !== 'object') {
    throw new ProvablyConfigError('setupScopes', 'expected an options object');
  }
  const {
    otelSdk = 'auto',
    scopeFromGenAi = false,
    defaultAgentId = DEFAULT_AGENT_ID,
    traceExport,
    spanScopes,
  } = options;
  if (otelSdk !== 'auto' && otelSdk !== 'off') {
    throw new ProvablyConfigError('otelSdk', `expected 'auto' or 'off', got ${JSON.stringify(otelSdk)}`);
  }
  if (typeof scopeFromGenAi !== 'boolean') {
    throw new ProvablyConfigError(
      'scopeFromGenAi',
      `expected a boolean, got ${JSON.stringify(scopeFromGenAi)}`,
    );
  }
  if (typeof defaultAgentId !== 'string' || defaultAgentId.trim() === '') {
    throw new ProvablyConfigError(
      'defaultAgentId',
      `expected a non-empty string, got ${JSON.stringify(defaultAgentId)}`,
    );
  }
  if (traceExport !== undefined && typeof traceExport !== 'boolean') {
    throw new ProvablyConfigError('traceExport', `expected a boolean, got ${JSON.stringify(traceExport)}`);
  }
  const rules: readonly CompiledRule[] =
    spanScopes !== undefined
      ? compileRules(spanScopes)
      : scopeFromGenAi
        ? compileRules(DEFAULT_SPAN_SCOPES, 'DEFAULT_SPAN_SCOPES')
        : [];
  if (sharedState.wiring.mode !== 'pending' && otelSdk !== sharedState.options.otelSdk) {
    diag.warn(
      `setupScopes: otelSdk=${otelSdk} ignored, OpenTelemetry is already wired (${sharedState.wiring.mode})`,
    );
  }
  sharedState.options = { otelSdk, scopeFromGenAi, defaultAgentId, traceExport };
  sharedState.spanRules = rules;
  sharedState.optionsGiven = true;
}

/** Whether any span mapping rule is in force (spans of other tracers can be scopes). */
export function spanMappingOn(): boolean {
  if (!sharedState.optionsGiven) scopeOptions();
  return sharedState.spanRules.length > 0;
}

/** The options in force; reads the environment once if setupScopes was never called. */
export function scopeOptions(): ScopeSetupOptions {
  if (!sharedState.optionsGiven) {
    try {
      setupScopes(readScopeOptions());
    } catch (err) {
      diag.once('scope.options', 'warn', 'invalid scope settings in the environment, using defaults', err);
      sharedState.optionsGiven = true;
    }
  }
  return { ...sharedState.options };
}
