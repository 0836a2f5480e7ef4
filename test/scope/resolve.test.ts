import { setTimeout as sleep } from 'node:timers/promises';
import { context, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import { type ReadableSpan, TracerProvider } from '@opentelemetry/sdk-trace';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import {
  type ActiveScope,
  activeScope,
  ensureOtel,
  interceptContext,
  SCOPE_ATTRIBUTES,
  selfEgress,
  setupScopes,
} from '../../src/scope/index.js';

const A = SCOPE_ATTRIBUTES;

beforeAll(() => {
  setupScopes({ otelSdk: 'auto', scopeFromGenAi: false, defaultAgentId: 'agent' });
  // Standalone unless another file in this worker registered first: either way scopes work.
  expect(['standalone', 'app']).toContain(ensureOtel());
});

const tracer = () => trace.getTracer('app-under-test');

function idsOf(span: Span | undefined): { traceId: string; spanId: string } {
  const sc = span?.spanContext();
  if (sc === undefined) throw new Error('no span');
  return { traceId: sc.traceId, spanId: sc.spanId };
}

function scopeAttrs(agentId: string, actionName: string, interceptIndex?: number) {
  const attrs: Record<string, string | number> = { [A.agentId]: agentId, [A.actionName]: actionName };
  if (interceptIndex !== undefined) attrs[A.interceptIndex] = interceptIndex;
  return attrs;
}

describe('activeScope outside any scope', () => {
  it('is undefined with no span, with an explicit ROOT context, and inside a span without scope attributes', () => {
    expect(activeScope()).toBeUndefined();
    expect(activeScope(ROOT_CONTEXT)).toBeUndefined();
    tracer().startActiveSpan('plain', (span) => {
      tracer().startActiveSpan('plain child', (child) => {
        expect(activeScope()).toBeUndefined();
        child.end();
      });
      span.end();
    });
  });

  it('needs both agent_id and action_name, as non-empty strings', () => {
    const cases: Record<string, unknown>[] = [
      { [A.agentId]: 'a' },
      { [A.actionName]: 'x' },
      { [A.agentId]: '', [A.actionName]: 'x' },
      { [A.agentId]: 'a', [A.actionName]: '   ' },
      { [A.agentId]: 7, [A.actionName]: 'x' },
    ];
    for (const attributes of cases) {
      tracer().startActiveSpan('partial', { attributes: attributes as never }, (span) => {
        expect(activeScope(), JSON.stringify(attributes)).toBeUndefined();
        span.end();
      });
    }
  });
});

describe('activeScope resolution', () => {
  it('interceptContext: the scope of its own span, with that span ids', () => {
    const seen = interceptContext({ agentId: 'agent-1', actionName: 'search', interceptIndex: 3 }, () => ({
      scope: activeScope(),
      ids: idsOf(trace.getActiveSpan()),
      attributes: (trace.getActiveSpan() as unknown as ReadableSpan).attributes,
    }));
    expect(seen.scope).toEqual({ agentId: 'agent-1', actionName: 'search', interceptIndex: 3, ...seen.ids });
    expect(seen.ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(seen.ids.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(seen.attributes).toMatchObject(scopeAttrs('agent-1', 'search', 3));
  });

  it('a span of another tracer carrying the attributes at start is a scope', () => {
    tracer().startActiveSpan('tool', { attributes: scopeAttrs('a2', 'fetch-doc', 0) }, (span) => {
      expect(activeScope()).toEqual({
        agentId: 'a2',
        actionName: 'fetch-doc',
        interceptIndex: 0,
        ...idsOf(span),
      });
      span.end();
    });
  });

  it('is inherited from the nearest ancestor carrying it; ids are the ACTIVE span ones', () => {
    tracer().startActiveSpan('agent', { attributes: scopeAttrs('outer', 'plan') }, (agent) => {
      tracer().startActiveSpan('tool', { attributes: scopeAttrs('inner', 'lookup', 1) }, (tool) => {
        tracer().startActiveSpan('step', (step) => {
          tracer().startActiveSpan('http', (http) => {
            expect(activeScope()).toEqual({
              agentId: 'inner',
              actionName: 'lookup',
              interceptIndex: 1,
              ...idsOf(http),
            });
            http.end();
          });
          step.end();
        });
        tool.end();
      });
      tracer().startActiveSpan('sibling', (sibling) => {
        expect(activeScope()).toMatchObject({ agentId: 'outer', actionName: 'plan', ...idsOf(sibling) });
        sibling.end();
      });
      agent.end();
    });
  });

  it('counts attributes set after the span started, on the span itself and on an ancestor', () => {
    tracer().startActiveSpan('late', (span) => {
      expect(activeScope()).toBeUndefined();
      span.setAttribute(A.agentId, 'late-agent');
      span.setAttribute(A.actionName, 'late-action');
      expect(activeScope()).toMatchObject({
        agentId: 'late-agent',
        actionName: 'late-action',
        ...idsOf(span),
      });
      span.end();
    });
    tracer().startActiveSpan('parent', (parent) => {
      tracer().startActiveSpan('child', (child) => {
        expect(activeScope()).toBeUndefined();
        parent.setAttributes(scopeAttrs('p', 'set-later', 9));
        expect(activeScope()).toEqual({
          agentId: 'p',
          actionName: 'set-later',
          interceptIndex: 9,
          ...idsOf(child),
        });
        child.end();
      });
      parent.end();
    });
  });

  it('nested scopes: the innermost wins, the outer one is back after the inner returns', () => {
    interceptContext({ agentId: 'outer', actionName: 'a' }, () => {
      expect(activeScope()).toMatchObject({ agentId: 'outer', actionName: 'a' });
      interceptContext({ agentId: 'inner', actionName: 'b', interceptIndex: 2 }, () => {
        expect(activeScope()).toMatchObject({ agentId: 'inner', actionName: 'b', interceptIndex: 2 });
        // A span of another tracer carrying its own scope, inside: it is innermost.
        tracer().startActiveSpan('tool', { attributes: scopeAttrs('tool-agent', 'c') }, (span) => {
          expect(activeScope()).toMatchObject({ agentId: 'tool-agent', actionName: 'c' });
          span.end();
        });
        // A plain span inside: the enclosing scope, with the plain span ids.
        tracer().startActiveSpan('plain', (span) => {
          expect(activeScope()).toMatchObject({ agentId: 'inner', actionName: 'b', ...idsOf(span) });
          span.end();
        });
      });
      expect(activeScope()).toMatchObject({ agentId: 'outer', actionName: 'a', interceptIndex: null });
    });
    // An interceptContext inside another tracer's scope span wins too.
    tracer().startActiveSpan('tool', { attributes: scopeAttrs('x', 'y') }, (span) => {
      interceptContext({ agentId: 'explicit', actionName: 'z' }, () => {
        expect(activeScope()).toMatchObject({ agentId: 'explicit', actionName: 'z' });
      });
      span.end();
    });
  });

  it('a root span started inside interceptContext is still inside it (ids of the root span)', () => {
    interceptContext({ agentId: 'r', actionName: 'rooted' }, () => {
      const outerTrace = idsOf(trace.getActiveSpan()).traceId;
      const root = tracer().startSpan('detached', { root: true });
      context.with(trace.setSpan(context.active(), root), () => {
        const scope = activeScope();
        expect(scope).toMatchObject({ agentId: 'r', actionName: 'rooted', ...idsOf(root) });
        expect(scope?.traceId).not.toBe(outerTrace);
      });
      root.end();
    });
  });

  it('reads intercept_index only as a non-negative integer', () => {
    for (const [value, expected] of [
      [5, 5],
      [0, 0],
      [-1, null],
      [1.5, null],
      ['3', null],
    ] as const) {
      tracer().startActiveSpan(
        'idx',
        { attributes: { ...scopeAttrs('a', 'b'), [A.interceptIndex]: value } },
        (span) => {
          expect(activeScope()?.interceptIndex, String(value)).toBe(expected);
          span.end();
        },
      );
    }
  });

  it('evaluates an explicit context (captured earlier) rather than the active one', () => {
    const captured = interceptContext({ agentId: 'cap', actionName: 'later' }, () => context.active());
    expect(activeScope()).toBeUndefined();
    expect(activeScope(captured)).toMatchObject({ agentId: 'cap', actionName: 'later' });
  });

  it('traceId/spanId are null when the active span context is invalid', () => {
    const invalid = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
    interceptContext({ agentId: 'i', actionName: 'v' }, () => {
      context.with(trace.setSpan(context.active(), invalid), () => {
        expect(activeScope()).toEqual({
          agentId: 'i',
          actionName: 'v',
          interceptIndex: null,
          traceId: null,
          spanId: null,
        });
      });
    });
  });
});

describe('spans from a provider without provably’s span processor', () => {
  const foreign = new TracerProvider().getTracer('foreign');

  it('sees the active span’s own attributes, and interceptContext through its children', () => {
    const own = foreign.startSpan('own', { attributes: scopeAttrs('f', 'own') });
    context.with(trace.setSpan(context.active(), own), () => {
      expect(activeScope()).toMatchObject({ agentId: 'f', actionName: 'own', ...idsOf(own) });
    });
    own.end();
    interceptContext({ agentId: 'ic', actionName: 'through' }, () => {
      const child = foreign.startSpan('child');
      context.with(trace.setSpan(context.active(), child), () => {
        expect(activeScope()).toMatchObject({ agentId: 'ic', actionName: 'through', ...idsOf(child) });
      });
      child.end();
    });
  });

  it('cannot inherit from a foreign ancestor (documented limit: add provablySpanProcessor())', () => {
    const parent = foreign.startSpan('parent', { attributes: scopeAttrs('f', 'p') });
    const ctx = trace.setSpan(context.active(), parent);
    const child = foreign.startSpan('child', {}, ctx);
    expect(activeScope(trace.setSpan(ctx, child))).toBeUndefined();
    child.end();
    parent.end();
  });
});

describe('async propagation and isolation', () => {
  it('follows fn across await, setTimeout, setImmediate, promise chains and microtasks', async () => {
    const seen = await interceptContext({ agentId: 'async', actionName: 'chain' }, async () => {
      const out: (ActiveScope | undefined)[] = [];
      await sleep(1);
      out.push(activeScope());
      out.push(await new Promise((resolve) => setTimeout(() => resolve(activeScope()), 2)));
      out.push(await new Promise((resolve) => setImmediate(() => resolve(activeScope()))));
      out.push(
        await Promise.resolve()
          .then(() => sleep(1))
          .then(() => activeScope()),
      );
      out.push(await new Promise((resolve) => queueMicrotask(() => resolve(activeScope()))));
      return out;
    });
    expect(seen).toHaveLength(5);
    for (const s of seen) expect(s).toMatchObject({ agentId: 'async', actionName: 'chain' });
    expect(activeScope()).toBeUndefined();
  });

  it('2,000 concurrent interceptContext calls each see their own scope', async () => {
    const n = 2000;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        interceptContext(
          { agentId: `agent-${i}`, actionName: `action-${i % 7}`, interceptIndex: i },
          async () => {
            const before = activeScope();
            await sleep(i % 5);
            await Promise.resolve();
            const after = await new Promise<ActiveScope | undefined>((resolve) =>
              setImmediate(() => resolve(activeScope())),
            );
            return { i, before, after, spanId: trace.getActiveSpan()?.spanContext().spanId };
          },
        ),
      ),
    );
    let mismatches = 0;
    const spanIds = new Set<string>();
    for (const { i, before, after, spanId } of results) {
      for (const s of [before, after]) {
        if (s?.agentId !== `agent-${i}` || s.interceptIndex !== i || s.spanId !== spanId) mismatches++;
      }
      if (spanId !== undefined) spanIds.add(spanId);
    }
    expect(mismatches).toBe(0);
    expect(spanIds.size).toBe(n);
  });

  it('does not leak after fn returns, throws, or its promise rejects', async () => {
    interceptContext({ agentId: 'a', actionName: 'sync' }, () => 1);
    expect(activeScope()).toBeUndefined();
    expect(() =>
      interceptContext({ agentId: 'a', actionName: 'throws' }, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(activeScope()).toBeUndefined();
    await expect(
      interceptContext({ agentId: 'a', actionName: 'rejects' }, async () => {
        await sleep(1);
        throw new Error('later');
      }),
    ).rejects.toThrow('later');
    expect(activeScope()).toBeUndefined();
    await interceptContext({ agentId: 'a', actionName: 'resolves' }, async () => sleep(1));
    expect(activeScope()).toBeUndefined();
    await sleep(2);
    expect(activeScope()).toBeUndefined();
  });

  it('ends its span when fn settles, with an error status when it fails', async () => {
    const ok = interceptContext(
      { agentId: 'e', actionName: 'ok' },
      () => trace.getActiveSpan() as unknown as ReadableSpan,
    );
    expect(ok.ended).toBe(true);
    let failed: ReadableSpan | undefined;
    await interceptContext({ agentId: 'e', actionName: 'async-fail' }, async () => {
      failed = trace.getActiveSpan() as unknown as ReadableSpan;
      await sleep(1);
      expect(failed.ended).toBe(false);
      throw new Error('nope');
    }).catch(() => {});
    expect(failed?.ended).toBe(true);
    expect(failed?.status).toMatchObject({ code: 2, message: 'nope' });
  });
});

describe('selfEgress', () => {
  it('runs fn outside any scope, returns its value, and a nested interceptContext opens a scope again', async () => {
    await interceptContext({ agentId: 'a', actionName: 'with-egress' }, async () => {
      expect(activeScope()).toBeDefined();
      const inside = selfEgress(() => activeScope());
      expect(inside).toBeUndefined();
      const later = await selfEgress(async () => {
        await sleep(1);
        return activeScope();
      });
      expect(later).toBeUndefined();
      selfEgress(() => {
        tracer().startActiveSpan('tool', { attributes: scopeAttrs('t', 'u') }, (span) => {
          expect(activeScope()).toBeUndefined();
          span.end();
        });
        interceptContext({ agentId: 'again', actionName: 'nested' }, () => {
          expect(activeScope()).toMatchObject({ agentId: 'again', actionName: 'nested' });
        });
      });
      expect(activeScope()).toMatchObject({ agentId: 'a', actionName: 'with-egress' });
    });
    expect(selfEgress(() => 42)).toBe(42);
  });
});

describe('never hurts the host', () => {
  it('returns undefined and reports once when resolution fails', () => {
    const lines: string[] = [];
    configureDiag({ sink: (line) => lines.push(line) });
    try {
      const broken = {
        getValue: () => {
          throw new Error('broken context');
        },
      } as unknown as typeof ROOT_CONTEXT;
      expect(activeScope(broken)).toBeUndefined();
      expect(activeScope(broken)).toBeUndefined();
      const hostile = {
        spanContext: () => ({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), traceFlags: 1 }),
        get attributes(): never {
          throw new Error('hostile span');
        },
      } as unknown as Span;
      expect(activeScope(trace.setSpan(ROOT_CONTEXT, hostile))).toBeUndefined();
    } finally {
      configureDiag({ sink: (line) => process.stderr.write(`${line}\n`) });
    }
    expect(lines.filter((l) => l.includes('activeScope failed'))).toHaveLength(1);
  });
});
