/**
 * The span processor that lets a scope be inherited across spans made by other tracers.
 *
 * A Context only holds the active span, and an SDK span only knows its parent's ids, so nothing
 * leads from a child span back to its ancestors' attributes. This processor remembers, for every
 * span started through the provider it is part of, the parent span object (a WeakMap: an entry
 * lives exactly as long as the child span does, nothing to clean on end, no bound to tune).
 * activeScope walks that chain from the active span up to the nearest span carrying a scope.
 *
 * It does not import the SDK: a SpanProcessor is a plain object, so the app can build its
 * provider with it without provably loading anything.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span as SdkSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { diag } from '../diag/index.js';
import { SPAN_KEY, sharedState } from './globals.js';
import { onSpanStart } from './trace-events.js';

const resolved = Promise.resolve();

/** Records `span` → the span active in `parentContext`. Never throws. */
export function rememberParent(span: object, parentContext: Context | undefined): void {
  try {
    const parent = parentContext?.getValue(SPAN_KEY);
    if (parent !== undefined && parent !== null && parent !== span && typeof parent === 'object') {
      sharedState.parentOf.set(span, parent);
    }
  } catch (err) {
    diag.once(
      'scope.processor',
      'warn',
      'could not record a span parent (scope inheritance may be incomplete)',
      err,
    );
  }
}

/**
 * A SpanProcessor to add to the application's TracerProvider / NodeSDK (`spanProcessors`) when the
 * application owns OpenTelemetry, so that scopes set on its spans (or on agent-framework spans)
 * are inherited by their descendants, and HTTP client spans of governed calls carry
 * `provably.record_id`. Cheap: one WeakMap write per span start.
 */
export function provablySpanProcessor(): SpanProcessor {
  return {
    onStart(span: SdkSpan, parentContext: Context): void {
      rememberParent(span, parentContext);
      // An HTTP client span started inside a governed dispatch gets its record id.
      onSpanStart(span);
    },
    onEnd(_span: ReadableSpan): void {},
    forceFlush: () => resolved,
    shutdown: () => resolved,
  };
}
