/**
 * Records in traces, in process with the real SDK (in-memory exporter): which span gets which
 * event or attribute, and that nothing here can throw into the host — a span that ended, a span
 * whose methods throw, a non-SDK span all get nothing and raise nothing.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActiveScope,
  activeScope,
  enterDispatch,
  exitDispatch,
  type InterceptEventInfo,
  interceptContext,
  provablySpanProcessor,
  setupScopes,
  TRACE_EVENTS,
  traceBlocked,
  traceRecorded,
  traceRecordStarted,
} from '../../src/scope/index.js';

const exporter = new InMemorySpanExporter();
// A provider of the test's own (not registered): spans are started with explicit parents.
const provider = new TracerProvider({
  spanProcessors: [provablySpanProcessor(), new SimpleSpanProcessor({ exporter })],
});
const tracer = provider.getTracer('test');

const INFO: InterceptEventInfo = {
  recordId: '0b7c6c1e-0000-4000-8000-000000000001',
  orgId: 'org',
  method: 'GET',
  url: 'http://127.0.0.1:1/x',
  status: 200,
  bodySha256: 'a'.repeat(64),
  bodySize: 3,
  bodyTruncated: false,
  error: null,
  peer: { address: '127.0.0.1', port: 1, protocol: 'http/1.1', tlsCertSha256: null, proxy: null },
};

afterEach(() => {
  exporter.reset();
  setupScopes({});
});

function scopeIn(fn: (scope: ActiveScope) => void): void {
  interceptContext({ agentId: 'a', actionName: 'act' }, () => {
    const scope = activeScope();
    expect(scope).toBeDefined();
    fn(scope as ActiveScope);
  });
}

describe('span events on the scope span', () => {
  it('provably.intercept and provably.blocked land on the scope span, not on a child span', () => {
    let scope: ActiveScope | undefined;
    interceptContext({ agentId: 'a', actionName: 'act' }, () => {
      const parent = trace.getActiveSpan();
      expect(parent).toBeDefined();
      // A child span active when the call is made: the events still go to the scope's span.
      tracer.startActiveSpan('child', (child) => {
        scope = activeScope();
        child.end();
      });
      traceRecorded(scope as ActiveScope, INFO);
      traceBlocked(scope as ActiveScope, 'http://127.0.0.1:2/y', 'not a trusted endpoint');
      const events = (parent as unknown as { events: { name: string; attributes: object }[] }).events;
      expect(events.map((e) => e.name)).toEqual([TRACE_EVENTS.intercept, TRACE_EVENTS.blocked]);
      expect(events[0]?.attributes).toMatchObject({
        'provably.record_id': INFO.recordId,
        'provably.body_sha256': INFO.bodySha256,
        'http.response.status_code': 200,
        'network.peer.port': 1,
      });
    });
    expect(exporter.getFinishedSpans().find((s) => s.name === 'child')?.events).toEqual([]);
  });

  it('a scope span that already ended gets nothing, and nothing throws', () => {
    let scope: ActiveScope | undefined;
    interceptContext({ agentId: 'a', actionName: 'act' }, () => {
      scope = activeScope();
    });
    expect(() => traceRecorded(scope as ActiveScope, INFO)).not.toThrow();
    expect(() => traceBlocked(scope as ActiveScope, 'u', 'r')).not.toThrow();
  });

  it('a span whose methods throw, or a scope object never resolved, raises nothing', () => {
    scopeIn((scope) => {
      const span = trace.getActiveSpan() as unknown as Record<string, unknown>;
      span.addEvent = () => {
        throw new Error('exporter bug');
      };
      expect(() => traceRecorded(scope, INFO)).not.toThrow();
      expect(() => traceBlocked(scope, 'u', 'r')).not.toThrow();
    });
    const foreign: ActiveScope = {
      agentId: 'x',
      actionName: 'y',
      interceptIndex: null,
      traceId: null,
      spanId: null,
    };
    expect(() => traceRecorded(foreign, INFO)).not.toThrow();
    expect(() => traceRecordStarted(foreign, 'id')).not.toThrow();
  });
});

describe('provably.record_id on HTTP client spans', () => {
  it('a CLIENT span started while a record is dispatched gets its id; other kinds and other times do not', () => {
    const outer = enterDispatch('rec-1');
    const inner = enterDispatch('rec-2'); // nested dispatch layers restore the outer record
    tracer.startSpan('GET inner', { kind: SpanKind.CLIENT }).end();
    exitDispatch(inner);
    tracer.startSpan('GET outer', { kind: SpanKind.CLIENT }).end();
    tracer.startSpan('internal', { kind: SpanKind.INTERNAL }).end();
    exitDispatch(outer);
    tracer.startSpan('GET after', { kind: SpanKind.CLIENT }).end();
    const byName = new Map(exporter.getFinishedSpans().map((s) => [s.name, s.attributes]));
    expect(byName.get('GET inner')?.[TRACE_EVENTS.recordIdAttribute]).toBe('rec-2');
    expect(byName.get('GET outer')?.[TRACE_EVENTS.recordIdAttribute]).toBe('rec-1');
    expect(byName.get('internal')?.[TRACE_EVENTS.recordIdAttribute]).toBeUndefined();
    expect(byName.get('GET after')?.[TRACE_EVENTS.recordIdAttribute]).toBeUndefined();
  });

  it('the active CLIENT span below the scope span (instrumentation-http) gets the id; the scope span never does', () => {
    scopeIn((outerScope) => {
      traceRecordStarted(outerScope, 'not-on-scope-span');
      const scopeSpan = trace.getActiveSpan() as unknown as { attributes: Record<string, unknown> };
      expect(scopeSpan.attributes[TRACE_EVENTS.recordIdAttribute]).toBeUndefined();
      tracer.startActiveSpan('GET http', { kind: SpanKind.CLIENT }, (client) => {
        const scope = activeScope() as ActiveScope;
        traceRecordStarted(scope, 'rec-http');
        client.end();
      });
    });
    const client = exporter.getFinishedSpans().find((s) => s.name === 'GET http');
    expect(client?.attributes[TRACE_EVENTS.recordIdAttribute]).toBe('rec-http');
  });
});
