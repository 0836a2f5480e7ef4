/**
 * The adapters' contract, in process, with the real framework objects (ai `tool()`, LangChain
 * `tool()`, @openai/agents `tool()` + RunContext) and an application-owned OpenTelemetry provider
 * with an in-memory exporter, so scopes can be counted: one governed call = one scope span, a
 * block anywhere in the error's chain = the blocked text, anything else = the error unchanged.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { beforeEach, describe, expect, it } from 'vitest';
import { governTools as governAiTools } from '../../src/adapters/ai.js';
import { type BlockedCall, findBlocked, governTool, isGoverned } from '../../src/adapters/index.js';
import { governTools as governLangChainTools, governToolNode } from '../../src/adapters/langchain.js';
import {
  governAgent,
  governTools as governAgentTools,
  OPENAI_AGENTS_GENERIC_ERROR,
} from '../../src/adapters/openai-agents.js';
import {
  EscalationTimeoutError,
  PolicyBlockedError,
  ProvablyBlockedError,
  ProvablyConfigError,
} from '../../src/errors/index.js';
import { activeScope, provablySpanProcessor } from '../../src/scope/index.js';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter }), provablySpanProcessor()] }),
);
beforeEach(() => exporter.reset());

const AGENT = 'travel-agent';
const scopeSpans = (action: string) =>
  exporter.getFinishedSpans().filter((s) => s.name === `provably ${action}`);
const refusal = (url = 'http://127.0.0.1:9/x', action = 'post_note') =>
  new TypeError('fetch failed', { cause: new ProvablyBlockedError(url, AGENT, action) });

describe('governTool', () => {
  it('runs the body in a scope (agent, action = name) and returns its value; the caller stays outside', async () => {
    const seen: unknown[] = [];
    const tool = governTool(
      'get_weather',
      async (input: { city: string }) => {
        seen.push(activeScope());
        return `sunny in ${input.city}`;
      },
      { agentId: AGENT },
    );
    await expect(tool({ city: 'Lisbon' })).resolves.toBe('sunny in Lisbon');
    expect(seen).toMatchObject([{ agentId: AGENT, actionName: 'get_weather' }]);
    expect(activeScope()).toBeUndefined();
    expect(scopeSpans('get_weather')).toHaveLength(1);
  });

  it('a block anywhere in the chain (fetch cause, AggregateError, sync throw) becomes the BLOCKED text', async () => {
    const url = 'http://127.0.0.1:9/notes?x=1';
    const text = `BLOCKED: ${url} is not a trusted endpoint for ${AGENT}/post_note`;
    const viaFetch = governTool(
      'post_note',
      async () => {
        throw refusal(url);
      },
      { agentId: AGENT },
    );
    await expect(viaFetch()).resolves.toBe(text);
    const nested = governTool(
      'post_note',
      async () => {
        throw new Error('tool failed', {
          cause: new AggregateError([new Error('other'), refusal(url)], 'all failed'),
        });
      },
      { agentId: AGENT },
    );
    await expect(nested()).resolves.toBe(text);
    const sync = governTool(
      'post_note',
      () => {
        throw refusal(url);
      },
      { agentId: AGENT },
    );
    await expect(sync()).resolves.toBe(text);
  });

  it('policy blocks, expired escalations, a gate failure and a copied code each get their words', async () => {
    const run = (err: unknown) =>
      governTool(
        'pay',
        async () => {
          throw err;
        },
        { agentId: AGENT },
      )();
    await expect(run(new PolicyBlockedError('pay', 'over the limit', 'ev1'))).resolves.toBe(
      'BLOCKED by policy: over the limit',
    );
    await expect(run(new EscalationTimeoutError('pay', 'esc1', 'ev2'))).resolves.toBe(
      'BLOCKED by policy: escalation esc1 expired before a human decided',
    );
    const gate = new ProvablyBlockedError('http://h/x', AGENT, 'pay', { detail: 'the trust gate failed' });
    await expect(run(gate)).resolves.toBe(
      `BLOCKED: http://h/x was refused for ${AGENT}/pay (the trust gate failed)`,
    );
    // axios/got keep provably's code on their own error type.
    const copied = Object.assign(new Error('Request failed'), { code: 'PROVABLY_BLOCKED' });
    await expect(run(copied)).resolves.toBe(
      `BLOCKED: the requested URL is not a trusted endpoint for ${AGENT}/pay`,
    );
  });

  it('other errors propagate unchanged (same object), cyclic cause chains included', async () => {
    const plain = new Error('boom');
    await expect(
      governTool(
        't',
        async () => {
          throw plain;
        },
        { agentId: AGENT },
      )(),
    ).rejects.toBe(plain);
    const cyclic = new Error('a', { cause: new Error('b') }) as Error & {
      cause: Error & { cause?: unknown };
    };
    cyclic.cause.cause = cyclic;
    await expect(
      governTool(
        't',
        () => {
          throw cyclic;
        },
        { agentId: AGENT },
      )(),
    ).rejects.toBe(cyclic);
    const thrownString = 'not an error';
    await expect(
      governTool(
        't',
        async () => {
          throw thrownString;
        },
        { agentId: AGENT },
      )(),
    ).rejects.toBe(thrownString);
  });

  it('formatBlocked decides the text; a formatter that throws or answers no string falls back to the default', async () => {
    const calls: BlockedCall[] = [];
    const custom = governTool(
      'post_note',
      async () => {
        throw refusal('http://h/n');
      },
      {
        agentId: AGENT,
        formatBlocked: (b) => {
          calls.push(b);
          return `refused ${b.kind} ${b.url}`;
        },
      },
    );
    await expect(custom()).resolves.toBe('refused untrusted-endpoint http://h/n');
    expect(calls[0]).toMatchObject({
      agentId: AGENT,
      actionName: 'post_note',
      reason: 'not a trusted endpoint',
    });
    for (const formatBlocked of [
      () => {
        throw new Error('bad formatter');
      },
      () => 42 as unknown as string,
    ]) {
      const t = governTool(
        'post_note',
        async () => {
          throw refusal('http://h/n');
        },
        { agentId: AGENT, formatBlocked },
      );
      await expect(t()).resolves.toBe(`BLOCKED: http://h/n is not a trusted endpoint for ${AGENT}/post_note`);
    }
  });

  it('wrapping twice: the same function back; nesting at run time: still one scope', async () => {
    const once = governTool('get_weather', async () => activeScope()?.spanId, { agentId: AGENT });
    expect(governTool('get_weather', once, { agentId: AGENT })).toBe(once);
    expect(isGoverned(once)).toBe(true);
    const outer = governTool('get_weather', async () => once(), { agentId: AGENT });
    const spanId = await outer();
    const spans = scopeSpans('get_weather');
    expect(spans).toHaveLength(1);
    expect(spans[0]?.spanContext().spanId).toBe(spanId);
  });

  it('another agent nested inside: the inner wrapper opens its own scope', async () => {
    const inner = governTool('lookup', async () => activeScope()?.agentId, { agentId: 'helper-agent' });
    const outer = governTool('lookup', async () => inner(), { agentId: AGENT });
    await expect(outer()).resolves.toBe('helper-agent');
    expect(scopeSpans('lookup')).toHaveLength(2);
  });

  it('a streaming (async generator) body: every step runs in the scope; a block ends it with the text', async () => {
    const steps = governTool(
      'search',
      async function* () {
        yield activeScope()?.actionName;
        yield activeScope()?.agentId;
        throw refusal('http://h/s', 'search');
      },
      { agentId: AGENT },
    );
    const out: unknown[] = [];
    for await (const v of steps()) out.push(v);
    expect(out).toEqual([
      'search',
      AGENT,
      `BLOCKED: http://h/s is not a trusted endpoint for ${AGENT}/search`,
    ]);
    expect(activeScope()).toBeUndefined();
  });

  it('bad input is a ProvablyConfigError naming what was wrong, before anything runs', () => {
    const fn = async () => 1;
    expect(() => governTool('', fn, { agentId: AGENT })).toThrow(ProvablyConfigError);
    expect(() => governTool('t', 'x' as never, { agentId: AGENT })).toThrow(/expected a function/);
    expect(() => governTool('t', fn, {})).toThrow(/agentId: expected a non-empty agent id/);
    expect(() => governTool('t', fn, undefined as never)).toThrow(ProvablyConfigError);
    expect(() => governTool('t', fn, { agentId: AGENT, formatBlocked: 'x' as never })).toThrow(
      /formatBlocked/,
    );
    expect(() => governTool('t', fn, { agentId: AGENT, gateway: {} as never })).toThrow(/gateway/);
    const gateway = { agentId: 'other', guard: () => fn } as never;
    expect(() => governTool('t', fn, { agentId: AGENT, gateway })).toThrow(
      /differs from the gateway's agent "other"/,
    );
  });

  it('findBlocked never throws on hostile errors', () => {
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'cause', {
      get: () => {
        throw new Error('getter');
      },
    });
    expect(findBlocked(hostile, { agentId: AGENT, actionName: 'a' })).toBeUndefined();
    expect(findBlocked(null, { agentId: AGENT, actionName: 'a' })).toBeUndefined();
  });
});

describe('provably/ai with real `ai` tools', () => {
  it('governs each execute (action = key), keeps tools without execute, leaves the originals alone', async () => {
    const { tool } = await import('ai');
    const { z } = await import('zod');
    const tools = {
      get_weather: tool({ inputSchema: z.object({}), execute: async () => activeScope()?.actionName }),
      post_note: tool({
        inputSchema: z.object({}),
        execute: async (): Promise<string> => {
          throw refusal();
        },
      }),
      client_side: tool({ inputSchema: z.object({}) }),
    };
    const governed = governAiTools(tools, { agentId: AGENT });
    expect(governed.client_side).toBe(tools.client_side);
    expect(isGoverned(tools.get_weather)).toBe(false);
    const opts = { toolCallId: 'c1', messages: [] } as never;
    await expect(governed.get_weather.execute?.({}, opts)).resolves.toBe('get_weather');
    await expect(governed.post_note.execute?.({}, opts)).resolves.toMatch(/^BLOCKED: /);
    expect(governAiTools(governed, { agentId: AGENT }).get_weather).toBe(governed.get_weather);
    expect(() => governAiTools([] as never, { agentId: AGENT })).toThrow(ProvablyConfigError);
  });
});

describe('provably/langchain with real LangChain tools', () => {
  it('a governed tool is still its class, runs in a scope, and answers BLOCKED (also as content_and_artifact)', async () => {
    const { tool, StructuredTool } = await import('@langchain/core/tools');
    const { z } = await import('zod');
    const weather = tool(async () => activeScope()?.actionName ?? 'none', {
      name: 'get_weather',
      schema: z.object({}),
    });
    const note = tool(
      async () => {
        throw refusal();
      },
      { name: 'post_note', schema: z.object({}) },
    );
    const artifact = tool(
      async () => {
        throw refusal();
      },
      {
        name: 'post_note',
        schema: z.object({}),
        responseFormat: 'content_and_artifact',
      },
    );
    const [w, n, a] = governLangChainTools([weather, note, artifact], { agentId: AGENT });
    expect(w).toBeInstanceOf(StructuredTool);
    await expect(w?.invoke({})).resolves.toBe('get_weather');
    await expect(weather.invoke({})).resolves.toBe('none'); // the original is not governed
    await expect(n?.invoke({})).resolves.toMatch(
      /^BLOCKED: .* is not a trusted endpoint for travel-agent\/post_note$/,
    );
    const msg = await a?.invoke({ id: 'call_1', name: 'post_note', args: {}, type: 'tool_call' });
    expect((msg as { content: unknown }).content).toMatch(/^BLOCKED: /);
    expect(governLangChainTools([w as typeof weather], { agentId: AGENT })[0]).toBe(w);
  });

  it('governToolNode governs a ToolNode in place; non-tools are refused with a typed error', async () => {
    const { tool } = await import('@langchain/core/tools');
    const { AIMessage } = await import('@langchain/core/messages');
    const { ToolNode } = await import('@langchain/langgraph/prebuilt');
    const { z } = await import('zod');
    const node = new ToolNode([
      tool(
        async () => {
          throw refusal();
        },
        { name: 'post_note', schema: z.object({}) },
      ),
    ]);
    expect(governToolNode(node, { agentId: AGENT })).toBe(node);
    expect(isGoverned(node.tools[0])).toBe(true);
    const call = new AIMessage({ content: '', tool_calls: [{ id: 'c1', name: 'post_note', args: {} }] });
    const out = (await node.invoke({ messages: [call] })) as { messages: { content: unknown }[] };
    expect(out.messages[0]?.content).toMatch(
      /^BLOCKED: .* is not a trusted endpoint for travel-agent\/post_note$/,
    );
    expect(() => governLangChainTools([{ name: 'x' }], { agentId: AGENT })).toThrow(/without a _call method/);
  });
});

describe('provably/openai-agents with real @openai/agents tools', () => {
  it('the SDK swallows the block; the adapter still tells the model, per call, not for a parallel call', async () => {
    const { Agent, RunContext, tool } = await import('@openai/agents');
    const { z } = await import('zod');
    const blocked = tool({
      name: 'post_note',
      description: 'd',
      parameters: z.object({}),
      execute: async () => {
        await fetch('http://127.0.0.1:9/never').catch(() => {}); // outside interception here: no-op
        throw refusal('http://h/n');
      },
    });
    const failing = tool({
      name: 'get_time',
      description: 'd',
      parameters: z.object({}),
      execute: async () => {
        throw new Error('plain');
      },
    });
    const custom = tool({
      name: 'lookup',
      description: 'd',
      parameters: z.object({}),
      execute: async () => {
        throw refusal('http://h/l', 'lookup');
      },
      errorFunction: () => 'my own words',
    });
    // Ungoverned: what the model gets from the SDK itself.
    const ctx = new RunContext();
    await expect(blocked.invoke(ctx, '{}')).resolves.toBe(OPENAI_AGENTS_GENERIC_ERROR);

    const agent = governAgent(new Agent({ name: 'a', tools: [blocked, failing, custom] }), {
      agentId: AGENT,
    });
    const [b, f, c] = agent.tools as (typeof blocked)[];
    const [rb, rf, rc] = await Promise.all([
      b?.invoke(ctx, '{}'),
      f?.invoke(ctx, '{}'),
      c?.invoke(ctx, '{}'),
    ]);
    expect(rb).toBe(`BLOCKED: http://h/n is not a trusted endpoint for ${AGENT}/post_note`);
    expect(rf).toBe(OPENAI_AGENTS_GENERIC_ERROR); // a plain error keeps the SDK's text
    expect(rc).toBe('my own words'); // a custom errorFunction's answer is kept
    expect(governAgentTools(agent.tools, { agentId: AGENT })[0]).toBe(agent.tools[0]);
    expect(() => governAgent({} as never, { agentId: AGENT })).toThrow(ProvablyConfigError);
  });

  it('hosted tools are left as they are; an agent used as a tool is governed like any tool', async () => {
    const { Agent, webSearchTool } = await import('@openai/agents');
    const hosted = webSearchTool();
    const sub = new Agent({ name: 'helper', instructions: 'help' }).asTool({
      toolName: 'ask_helper',
      toolDescription: 'd',
    });
    const [h, s] = governAgentTools([hosted, sub], { agentId: AGENT });
    expect(h).toBe(hosted);
    // Its sub-agent's own LLM calls then run inside this scope (README: trust them or leave it out).
    expect(isGoverned(s)).toBe(true);
  });
});
