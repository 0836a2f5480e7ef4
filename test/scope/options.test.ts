import { afterAll, describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  interceptContext,
  readScopeOptions,
  SCOPE_ATTRIBUTES,
  setupScopes,
  traceExportRequested,
} from '../../src/scope/index.js';

function configError(fn: () => unknown): ProvablyConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProvablyConfigError);
    return err as ProvablyConfigError;
  }
  throw new Error('expected a ProvablyConfigError, nothing was thrown');
}

afterAll(() => setupScopes({}));

describe('interceptContext options', () => {
  it.each([
    ['missing options', undefined, 'interceptContext'],
    ['agentId missing', { actionName: 'x' }, 'agentId'],
    ['agentId empty', { agentId: '', actionName: 'x' }, 'agentId'],
    ['agentId blank', { agentId: '  ', actionName: 'x' }, 'agentId'],
    ['agentId not a string', { agentId: 1, actionName: 'x' }, 'agentId'],
    ['actionName empty', { agentId: 'a', actionName: '' }, 'actionName'],
    ['interceptIndex negative', { agentId: 'a', actionName: 'x', interceptIndex: -1 }, 'interceptIndex'],
    ['interceptIndex fractional', { agentId: 'a', actionName: 'x', interceptIndex: 0.5 }, 'interceptIndex'],
    ['interceptIndex a string', { agentId: 'a', actionName: 'x', interceptIndex: '1' }, 'interceptIndex'],
    ['interceptIndex NaN', { agentId: 'a', actionName: 'x', interceptIndex: Number.NaN }, 'interceptIndex'],
  ])('rejects %s with a typed error before running fn', (_label, options, setting) => {
    let ran = false;
    const err = configError(() =>
      interceptContext(options as never, () => {
        ran = true;
      }),
    );
    expect(err.code).toBe('PROVABLY_CONFIG_ERROR');
    expect(err.setting).toBe(setting);
    expect(ran).toBe(false);
  });

  it('rejects a missing fn', () => {
    expect(
      configError(() => interceptContext({ agentId: 'a', actionName: 'x' }, undefined as never)).setting,
    ).toBe('interceptContext');
  });

  it('returns fn’s value, and its very promise when fn is async', () => {
    expect(interceptContext({ agentId: 'a', actionName: 'x', interceptIndex: 0 }, () => 'value')).toBe(
      'value',
    );
    const promise = Promise.resolve(1);
    expect(interceptContext({ agentId: 'a', actionName: 'x' }, () => promise)).toBe(promise);
  });

  it('exports the attribute names', () => {
    expect(SCOPE_ATTRIBUTES).toEqual({
      agentId: 'provably.agent_id',
      actionName: 'provably.action_name',
      interceptIndex: 'provably.intercept_index',
    });
  });
});

describe('readScopeOptions', () => {
  it('defaults', () => {
    expect(readScopeOptions({})).toEqual({
      otelSdk: 'auto',
      scopeFromGenAi: false,
      defaultAgentId: 'agent',
      traceExport: false,
    });
  });

  it('reads PROVABLY_* and OTEL_TRACES_EXPORTER', () => {
    expect(
      readScopeOptions({
        PROVABLY_OTEL_SDK: 'OFF',
        PROVABLY_SCOPE_FROM_GENAI: '1',
        PROVABLY_DEFAULT_AGENT_ID: ' my-agent ',
        OTEL_TRACES_EXPORTER: 'console',
      }),
    ).toEqual({ otelSdk: 'off', scopeFromGenAi: true, defaultAgentId: 'my-agent', traceExport: true });
  });

  it('rejects invalid values naming the variable', () => {
    expect(configError(() => readScopeOptions({ PROVABLY_OTEL_SDK: 'yes' })).setting).toBe(
      'PROVABLY_OTEL_SDK',
    );
    expect(configError(() => readScopeOptions({ PROVABLY_SCOPE_FROM_GENAI: 'maybe' })).setting).toBe(
      'PROVABLY_SCOPE_FROM_GENAI',
    );
  });

  it.each([
    [undefined, false],
    ['', false],
    ['none', false],
    ['NONE', false],
    ['none,console', false],
    ['null', false],
    ['console', true],
    ['otlp', true],
    [' otlp , console ', true],
  ])('OTEL_TRACES_EXPORTER=%j → trace export %s', (value, expected) => {
    expect(traceExportRequested({ OTEL_TRACES_EXPORTER: value })).toBe(expected);
  });

  it('OTEL_SDK_DISABLED=true wins over OTEL_TRACES_EXPORTER', () => {
    expect(traceExportRequested({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });
});

describe('setupScopes', () => {
  it('validates its options', () => {
    expect(configError(() => setupScopes({ otelSdk: 'on' as never })).setting).toBe('otelSdk');
    expect(configError(() => setupScopes({ scopeFromGenAi: 'yes' as never })).setting).toBe('scopeFromGenAi');
    expect(configError(() => setupScopes({ defaultAgentId: ' ' })).setting).toBe('defaultAgentId');
    expect(configError(() => setupScopes({ traceExport: 1 as never })).setting).toBe('traceExport');
  });
});
