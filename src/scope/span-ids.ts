/**
 * The ids of the active OpenTelemetry span, scope or not (policy decisions record the trace
 * they were made in). Reads the API's global registry like the rest of src/scope: no
 * OpenTelemetry package is loaded here.
 */
import type { Span } from '@opentelemetry/api';
import { registeredContextManager, SPAN_KEY } from './globals.js';

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** `{ traceId, spanId }` of the active span, or nulls when there is none (never throws). */
export function activeSpanIds(): { traceId: string | null; spanId: string | null } {
  try {
    const span = registeredContextManager()?.active().getValue(SPAN_KEY) as Span | undefined;
    const sc = typeof span?.spanContext === 'function' ? span.spanContext() : undefined;
    if (
      sc &&
      TRACE_ID.test(sc.traceId) &&
      !/^0+$/.test(sc.traceId) &&
      SPAN_ID.test(sc.spanId) &&
      !/^0+$/.test(sc.spanId)
    ) {
      return { traceId: sc.traceId, spanId: sc.spanId };
    }
  } catch {
    // No readable span: the decision is recorded without trace ids.
  }
  return { traceId: null, spanId: null };
}
