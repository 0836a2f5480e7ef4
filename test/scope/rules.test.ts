/**
 * Span mapping as configuration (issue #11, item 1): rules in code (`spanScopes`) and in
 * PROVABLY_SCOPE_ATTRIBUTES, the default rules (GenAI conventions + `ai`'s legacy `ai.toolCall`),
 * and bad values refused with a ProvablyConfigError naming the entry.
 */
import { type Span, trace } from '@opentelemetry/api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  activeScope,
  DEFAULT_SPAN_SCOPES,
  ensureOtel,
  interceptContext,
  parseScopeAttributes,
  readScopeOptions,
  type SpanScopeRule,
  setupScopes,
  spanMappingOn,
} from '../../src/scope/index.js';

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

function configError(fn: () => unknown): ProvablyConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProvablyConfigError);
    return err as ProvablyConfigError;
  }
  throw new Error('expected a ProvablyConfigError, nothing was thrown');
}

beforeAll(() => {
  setupScopes({ otelSdk: 'auto' });
  expect(['standalone', 'app']).toContain(ensureOtel());
});

afterEach(() => setupScopes({ otelSdk: 'auto' }));

describe('PROVABLY_SCOPE_ATTRIBUTES syntax', () => {
  it('parses rules, conditions, agent sources and a default agent; `defaults` expands', () => {
    expect(
      parseScopeAttributes(
        ' defaults ; action=tool.name when=op.name=run_tool,tool.kind agent=app.agent,team.agent default_agent=billing ;',
      ),
    ).toEqual([
      ...DEFAULT_SPAN_SCOPES,
      {
        action: 'tool.name',
        when: { 'op.name': 'run_tool', 'tool.kind': true },
        agent: ['app.agent', 'team.agent'],
        defaultAgent: 'billing',
      },
    ]);
    expect(parseScopeAttributes(undefined)).toBeUndefined();
    expect(parseScopeAttributes('   ')).toBeUndefined();
  });

  it.each([
    ['no action', 'agent=x', 'rule 1', 'action=<attribute> is required'],
    ['a field without =', 'defaults; action=a agentx', 'rule 2', 'expected key=value'],
    ['an unknown key', 'action=a tool=b', 'rule 1', 'unknown key "tool"'],
    ['an empty value', 'action=', 'rule 1', 'action= has no value'],
    ['a key twice', 'action=a action=b', 'rule 1', 'action given twice'],
    ['a bad attribute name', 'action=a agent=x,"y"', 'rule 1', 'agent[1]'],
    ['a condition without attribute', 'action=a when==x', 'rule 1', 'has no attribute'],
    ['only separators', ';;', 'PROVABLY_SCOPE_ATTRIBUTES', 'no rule given'],
  ])('refuses %s, naming the variable and the rule', (_label, raw, where, what) => {
    const err = configError(() => readScopeOptions({ PROVABLY_SCOPE_ATTRIBUTES: raw }));
    expect(err.setting).toContain('PROVABLY_SCOPE_ATTRIBUTES');
    expect(err.message).toContain(where);
    expect(err.message).toContain(what);
  });

  it('PROVABLY_SCOPE_ATTRIBUTES replaces what PROVABLY_SCOPE_FROM_GENAI selects', () => {
    const options = readScopeOptions({
      PROVABLY_SCOPE_FROM_GENAI: '1',
      PROVABLY_SCOPE_ATTRIBUTES: 'action=x.tool',
    });
    setupScopes(options);
    expect(spanMappingOn()).toBe(true);
    inSpan('execute_tool search', { 'gen_ai.tool.name': 'search' }, () => {
      expect(activeScope()).toBeUndefined();
    });
    inSpan('custom', { 'x.tool': 'lookup' }, () => {
      expect(activeScope()).toMatchObject({ agentId: 'agent', actionName: 'lookup' });
    });
  });
});

describe('rules in code', () => {
  it.each([
    ['not an array', { nope: 1 }, 'spanScopes', 'expected an array'],
    ['a rule that is not an object', ['x'], 'spanScopes[0]', 'expected a rule object'],
    ['an unknown field', [{ action: 'a', agents: ['b'] }], 'spanScopes[0]', 'unknown field "agents"'],
    ['a missing action', [{ agent: ['b'] }], 'spanScopes[0].action', 'expected an attribute name'],
    ['agent not an array', [{ action: 'a', agent: 'b' }], 'spanScopes[0].agent', 'expected an array'],
    [
      'a bad condition value',
      [{ action: 'a', when: { b: 1 } }],
      'spanScopes[0].when.b',
      'non-empty string or true',
    ],
    [
      'a blank default agent',
      [{ action: 'a', defaultAgent: ' ' }],
      'spanScopes[0].defaultAgent',
      'non-empty',
    ],
  ])('refuses %s with a ProvablyConfigError naming the entry', (_label, rules, setting, what) => {
    const err = configError(() => setupScopes({ spanScopes: rules as never }));
    expect(err.setting).toBe(setting);
    expect(err.message).toContain(what);
  });

  it('a rule with conditions: every condition must hold; agent from the nearest span that has one', () => {
    const rules: SpanScopeRule[] = [
      { action: 'tool.name', when: { 'op.name': 'run_tool', 'tool.kind': true }, agent: ['app.agent'] },
    ];
    setupScopes({ spanScopes: rules, defaultAgentId: 'fallback' });
    inSpan('agent', { 'app.agent': 'outer' }, () => {
      inSpan('agent', { 'app.agent': 'inner' }, () => {
        inSpan('run', { 'tool.name': 'search', 'op.name': 'run_tool', 'tool.kind': 'fn' }, () => {
          inSpan('GET', {}, () =>
            expect(activeScope()).toMatchObject({ agentId: 'inner', actionName: 'search' }),
          );
        });
        // A condition with another value, or a missing one: not a scope (the rule is not a prefix match).
        inSpan('run', { 'tool.name': 'search', 'op.name': 'chat', 'tool.kind': 'fn' }, () =>
          expect(activeScope()).toBeUndefined(),
        );
        inSpan('run', { 'tool.name': 'search', 'op.name': 'run_tool' }, () =>
          expect(activeScope()).toBeUndefined(),
        );
      });
    });
    inSpan('run', { 'tool.name': 'lonely', 'op.name': 'run_tool', 'tool.kind': 'fn' }, () =>
      expect(activeScope()).toMatchObject({ agentId: 'fallback', actionName: 'lonely' }),
    );
  });

  it('agent precedence: attributes, then the enclosing interceptContext, then the rule default, then the global one', () => {
    setupScopes({
      spanScopes: [{ action: 'tool.name', agent: ['app.agent'], defaultAgent: 'rule-default' }],
    });
    inSpan('tool', { 'tool.name': 't1' }, () =>
      expect(activeScope()).toMatchObject({ agentId: 'rule-default', actionName: 't1' }),
    );
    interceptContext({ agentId: 'explicit', actionName: 'outer' }, () => {
      inSpan('tool', { 'tool.name': 't2' }, () =>
        expect(activeScope()).toMatchObject({ agentId: 'explicit', actionName: 't2' }),
      );
    });
    // Explicit provably attributes on a span always win over any rule.
    inSpan('tool', { 'tool.name': 't3', 'provably.agent_id': 'p', 'provably.action_name': 'pa' }, () =>
      expect(activeScope()).toMatchObject({ agentId: 'p', actionName: 'pa' }),
    );
  });

  it('an empty list turns the mapping off even with scopeFromGenAi', () => {
    setupScopes({ scopeFromGenAi: true, spanScopes: [] });
    expect(spanMappingOn()).toBe(false);
    inSpan('execute_tool search', { 'gen_ai.tool.name': 'search' }, () =>
      expect(activeScope()).toBeUndefined(),
    );
  });
});

describe('default rules', () => {
  it("ai's legacy ai.toolCall spans: ai.toolCall.name → action, agent from ai.telemetry.functionId", () => {
    setupScopes({ scopeFromGenAi: true });
    inSpan(
      'ai.generateText',
      { 'ai.telemetry.functionId': 'billing-agent', 'operation.name': 'ai.generateText' },
      () => {
        inSpan('ai.toolCall', { 'ai.toolCall.name': 'get_invoice', 'ai.toolCall.id': 'call_1' }, () => {
          expect(activeScope()).toMatchObject({ agentId: 'billing-agent', actionName: 'get_invoice' });
        });
      },
    );
  });

  it('GenAI conventions: gen_ai.tool.name, agent from gen_ai.agent.name on an ancestor', () => {
    setupScopes({ spanScopes: DEFAULT_SPAN_SCOPES });
    inSpan('invoke_agent x', { 'gen_ai.agent.name': 'planner' }, () => {
      inSpan(
        'execute_tool calc',
        { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'calc' },
        () => {
          expect(activeScope()).toMatchObject({ agentId: 'planner', actionName: 'calc' });
        },
      );
    });
  });

  it('the default rules are frozen: a caller cannot change them for everyone', () => {
    expect(Object.isFrozen(DEFAULT_SPAN_SCOPES)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SPAN_SCOPES[0])).toBe(true);
    expect(() => (DEFAULT_SPAN_SCOPES as SpanScopeRule[]).push({ action: 'x' })).toThrow(TypeError);
  });
});
