// The scope carrier and the executable allowlist: malformed input is a typed error naming the
// setting, never a silently ungoverned child.
import { describe, expect, it } from 'vitest';
import { parseChildExecutables, readChildExecutables } from '../../src/config/child-executables.js';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  carrierEnv,
  carrierFromData,
  carrierFromEnv,
  carrierOf,
  scopeOfCarrier,
} from '../../src/inherit/carrier.js';
import { isAllowedExecutable, resolveExecutable } from '../../src/inherit/executable.js';

const TRACE = 'a'.repeat(32);
const SPAN = 'b'.repeat(16);

describe('scope carrier', () => {
  it('round-trips a scope through the environment, as a child span of the same trace', () => {
    const carrier = carrierOf({
      agentId: 'a',
      actionName: 'b',
      interceptIndex: 3,
      traceId: TRACE,
      spanId: SPAN,
    });
    const env = carrierEnv(carrier);
    expect(env).toEqual({
      PROVABLY_SCOPE_AGENT_ID: 'a',
      PROVABLY_SCOPE_ACTION_NAME: 'b',
      PROVABLY_SCOPE_INTERCEPT_INDEX: '3',
      TRACEPARENT: `00-${TRACE}-${SPAN}-01`,
    });
    const back = carrierFromEnv(env);
    expect(back).toEqual(carrier);
    const scope = scopeOfCarrier(back as NonNullable<typeof back>);
    expect(scope).toMatchObject({ agentId: 'a', actionName: 'b', interceptIndex: 3, traceId: TRACE });
    expect(scope.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(scope.spanId).not.toBe(SPAN);
  });

  it('no scope variables → no scope; half a scope or a bad index → ProvablyConfigError', () => {
    expect(carrierFromEnv({})).toBeUndefined();
    expect(() => carrierFromEnv({ PROVABLY_SCOPE_AGENT_ID: 'a' })).toThrow(ProvablyConfigError);
    expect(() => carrierFromEnv({ PROVABLY_SCOPE_ACTION_NAME: 'b' })).toThrow(/PROVABLY_SCOPE_AGENT_ID/);
    expect(() =>
      carrierFromEnv({
        PROVABLY_SCOPE_AGENT_ID: 'a',
        PROVABLY_SCOPE_ACTION_NAME: 'b',
        PROVABLY_SCOPE_INTERCEPT_INDEX: '-1',
      }),
    ).toThrow(/PROVABLY_SCOPE_INTERCEPT_INDEX/);
  });

  it('a malformed or all-zero TRACEPARENT costs the trace link, not the scope', () => {
    for (const tp of ['nonsense', `00-${'0'.repeat(32)}-${SPAN}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`]) {
      expect(
        carrierFromEnv({ PROVABLY_SCOPE_AGENT_ID: 'a', PROVABLY_SCOPE_ACTION_NAME: 'b', TRACEPARENT: tp }),
      ).toEqual({
        agentId: 'a',
        actionName: 'b',
        interceptIndex: null,
        traceparent: null,
      });
    }
  });

  it('worker environment data is shape-checked', () => {
    expect(carrierFromData(undefined)).toBeUndefined();
    expect(carrierFromData({ agentId: '', actionName: 'b' })).toBeUndefined();
    expect(carrierFromData({ agentId: 'a', actionName: 'b', interceptIndex: -2, traceparent: 7 })).toEqual({
      agentId: 'a',
      actionName: 'b',
      interceptIndex: null,
      traceparent: null,
    });
  });
});

describe('PROVABLY_CHILD_EXECUTABLES', () => {
  it('parses names, absolute paths and *', () => {
    expect(readChildExecutables({})).toMatchObject({ all: false });
    const p = parseChildExecutables(' git , /usr/bin/curl,,');
    expect([...p.names]).toEqual(['git']);
    expect([...p.paths]).toEqual(['/usr/bin/curl']);
    expect(parseChildExecutables('*').all).toBe(true);
  });

  it('refuses relative paths and names with whitespace, naming the setting', () => {
    for (const bad of ['bin/git', './git', 'my tool']) {
      expect(() => readChildExecutables({ PROVABLY_CHILD_EXECUTABLES: bad })).toThrow(ProvablyConfigError);
      expect(() => readChildExecutables({ PROVABLY_CHILD_EXECUTABLES: bad })).toThrow(
        /PROVABLY_CHILD_EXECUTABLES/,
      );
    }
  });

  it('tells Node from other executables and matches the allowlist by name or path', () => {
    expect(resolveExecutable(process.execPath, undefined, undefined).isNode).toBe(true);
    const bash = resolveExecutable('bash', process.env.PATH, undefined);
    expect(bash.isNode).toBe(false);
    expect(isAllowedExecutable(bash, parseChildExecutables(''))).toBe(false);
    expect(isAllowedExecutable(bash, parseChildExecutables('bash'))).toBe(true);
    expect(isAllowedExecutable(bash, parseChildExecutables(bash.path as string))).toBe(true);
    expect(isAllowedExecutable(bash, parseChildExecutables('/nowhere/bash-other'))).toBe(false);
    // Unresolvable: not Node (fails closed), and not allowed by a path entry.
    expect(resolveExecutable('no-such-program-xyz', process.env.PATH, undefined)).toMatchObject({
      isNode: false,
      path: null,
    });
  });
});
