// The process scope (what a worker or child inherits): the fallback wherever no explicit scope
// is found; selfEgress and telemetry self-I/O (tracing suppressed) leave it; an interceptContext
// inside nests over it.
import { context, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeScope,
  ensureOtel,
  interceptContext,
  processScope,
  selfEgress,
  setProcessScope,
  setupScopes,
} from '../../src/scope/index.js';

const INHERITED = {
  agentId: 'inherited-agent',
  actionName: 'inherited-action',
  interceptIndex: 2,
  traceId: 'c'.repeat(32),
  spanId: 'd'.repeat(16),
};
const SUPPRESS_TRACING = Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

beforeAll(() => {
  setupScopes({ otelSdk: 'auto', scopeFromGenAi: false, defaultAgentId: 'agent' });
  expect(['standalone', 'app']).toContain(ensureOtel());
});
afterEach(() => setProcessScope(undefined));

describe('process scope', () => {
  it('is what activeScope() answers where no explicit scope is found', () => {
    expect(activeScope()).toBeUndefined();
    setProcessScope(INHERITED);
    expect(processScope()).toEqual(INHERITED);
    expect(activeScope()).toEqual(INHERITED);
    // Inside a span of the app that carries no scope attributes: still the inherited scope.
    trace.getTracer('app').startActiveSpan('plain', (span) => {
      expect(activeScope()).toEqual(INHERITED);
      span.end();
    });
  });

  it('an interceptContext nests over it; selfEgress leaves it', () => {
    setProcessScope(INHERITED);
    interceptContext({ agentId: 'inner', actionName: 'nested' }, () => {
      expect(activeScope()).toMatchObject({ agentId: 'inner', actionName: 'nested' });
    });
    selfEgress(() => {
      expect(activeScope()).toBeUndefined();
    });
  });

  it('telemetry self-I/O (tracing suppressed) is outside it, but never outside an explicit scope', () => {
    setProcessScope(INHERITED);
    const suppressed = context.active().setValue(SUPPRESS_TRACING, true);
    context.with(suppressed, () => {
      expect(activeScope()).toBeUndefined();
    });
    interceptContext({ agentId: 'inner', actionName: 'nested' }, () => {
      context.with(context.active().setValue(SUPPRESS_TRACING, true), () => {
        expect(activeScope()).toMatchObject({ agentId: 'inner' });
      });
    });
  });
});
