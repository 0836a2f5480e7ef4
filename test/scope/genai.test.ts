import { type Span, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeScope,
  ensureOtel,
  GEN_AI_ATTRIBUTES,
  interceptContext,
  SCOPE_ATTRIBUTES,
  setupScopes,
} from '../../src/scope/index.js';

const G = GEN_AI_ATTRIBUTES;
const tracer = () => trace.getTracer('agent-framework');

function inSpan<T>(name: string, attributes: Record<string, string>, fn: (span: Span) => T): T {
  return tracer().startActiveSpan(name, { attributes }, (span) => {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  });
}

beforeAll(() => {
  setupScopes({ otelSdk: 'auto' });
  expect(['standalone', 'app']).toContain(ensureOtel());
});

afterEach(() => setupScopes({ otelSdk: 'auto', scopeFromGenAi: false, defaultAgentId: 'agent' }));

describe('GenAI mapping', () => {
  it('is off by default: a tool span is not a scope', () => {
    inSpan('execute_tool search', { [G.toolName]: 'search', [G.agentName]: 'researcher' }, () => {
      expect(activeScope()).toBeUndefined();
    });
  });

  it('on: gen_ai.tool.name → action, gen_ai.agent.name → agent, ids of the active span', () => {
    setupScopes({ scopeFromGenAi: true });
    inSpan('execute_tool search', { [G.toolName]: 'search', [G.agentName]: 'researcher' }, () => {
      inSpan('HTTP GET', {}, (http) => {
        const sc = http.spanContext();
        expect(activeScope()).toEqual({
          agentId: 'researcher',
          actionName: 'search',
          interceptIndex: null,
          traceId: sc.traceId,
          spanId: sc.spanId,
        });
      });
    });
  });

  it('on: the agent comes from the enclosing agent span, else the configured default', () => {
    setupScopes({ scopeFromGenAi: true, defaultAgentId: 'fallback-agent' });
    inSpan('invoke_agent planner', { [G.agentName]: 'planner' }, () => {
      // The agent span alone (no tool) is not an action.
      expect(activeScope()).toBeUndefined();
      inSpan('execute_tool calc', { [G.toolName]: 'calc' }, () => {
        expect(activeScope()).toMatchObject({ agentId: 'planner', actionName: 'calc' });
      });
    });
    inSpan('execute_tool lonely', { [G.toolName]: 'lonely' }, () => {
      expect(activeScope()).toMatchObject({ agentId: 'fallback-agent', actionName: 'lonely' });
    });
    interceptContext({ agentId: 'explicit-agent', actionName: 'run' }, () => {
      inSpan('execute_tool inner', { [G.toolName]: 'inner' }, () => {
        expect(activeScope()).toMatchObject({ agentId: 'explicit-agent', actionName: 'inner' });
      });
    });
  });

  it('on: explicit provably attributes on the same span win; tool name set after start counts', () => {
    setupScopes({ scopeFromGenAi: true });
    inSpan(
      'both',
      {
        [G.toolName]: 'tool-name',
        [SCOPE_ATTRIBUTES.agentId]: 'p-agent',
        [SCOPE_ATTRIBUTES.actionName]: 'p-action',
      },
      () => expect(activeScope()).toMatchObject({ agentId: 'p-agent', actionName: 'p-action' }),
    );
    inSpan('late tool', {}, (span) => {
      expect(activeScope()).toBeUndefined();
      span.setAttribute(G.toolName, 'late');
      expect(activeScope()).toMatchObject({ agentId: 'agent', actionName: 'late' });
    });
  });
});
