/**
 * GenAI span mapping never fails open: when spans are to become scopes, OpenTelemetry must be
 * real before the application's first module runs.
 *
 * A tracer taken from a copy of `@opentelemetry/api` while nothing is registered is bound to
 * that copy's own proxy, which only that copy's registration ever fills: registered later
 * through another copy (the CommonJS build of the same version, or another 1.x version such as
 * the 1.9.x `@ai-sdk/otel` pins), it stays a no-op forever, its tool spans carry nothing and a
 * tool's call would leave as if outside any scope. Registered before the app runs, every copy's
 * `getTracer` finds the registry and its tracers are real. Whatever provably cannot cover, it
 * reports at start (visibility.ts).
 */
import { otelRegistry } from './globals.js';
import { scopeOptions, spanMappingOn } from './setup.js';
import { checkApplicationApis, warnSpanVisibility } from './visibility.js';
import { ensureOtel } from './wiring.js';

/**
 * Called by the register entry at preload. Does nothing unless span mapping rules are in force
 * (PROVABLY_SCOPE_FROM_GENAI=1, PROVABLY_SCOPE_ATTRIBUTES, `spanScopes`); then
 * wires OpenTelemetry now (as ensureOtel would at first need) and warns about every way spans
 * could still go unseen. Never throws.
 */
export function wireForSpanMapping(): void {
  const options = scopeOptions();
  if (!spanMappingOn()) return;
  const before = otelRegistry();
  const registeredBefore = before?.context !== undefined || before?.trace !== undefined;
  if (options.otelSdk === 'off' && !registeredBefore) {
    warnSpanVisibility(
      'genai-otel-off',
      'PROVABLY_SCOPE_FROM_GENAI=1 with PROVABLY_OTEL_SDK=off: provably registers no OpenTelemetry ' +
        'globals, so tracers taken before the application registers its SDK from any other ' +
        '@opentelemetry/api copy (the CommonJS build, another version) stay no-ops and calls inside ' +
        'their spans are NOT governed. Start your SDK in a preload before provably ' +
        '(--import ./otel.js --import provably/register) or leave PROVABLY_OTEL_SDK=auto.',
    );
  }
  const mode = ensureOtel();
  const reg = otelRegistry();
  if (mode === 'unavailable' || (options.otelSdk !== 'off' && reg?.context === undefined)) {
    warnSpanVisibility(
      'genai-no-context',
      `GenAI span mapping: no OpenTelemetry context manager could be registered (wiring: ${mode}): ` +
        'no span can be seen, calls inside GenAI tool spans are NOT governed',
    );
  } else if (registeredBefore) {
    warnSpanVisibility(
      'genai-registered-before',
      `GenAI span mapping: OpenTelemetry (v${reg?.version ?? '?'}) was registered before provably ` +
        '(another preload): tool spans are seen while active, but ancestor spans (the agent name) ' +
        'only if its provider runs provablySpanProcessor(), and only API copies accepting ' +
        `v${reg?.version ?? '?'} make real spans`,
    );
  }
  checkApplicationApis(reg?.version);
}
