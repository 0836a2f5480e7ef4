/**
 * The framework adapters end to end (issue #11): each SDK, as installed, runs an agent in a child
 * started with `--import provably/register`, against the fake LLM (examples/fake-llm, real wire
 * formats, SSE) in this process, with counting servers as the tools' targets. The model asks for
 * three tool calls in one turn (parallel): two trusted targets and one untrusted.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeLlm, startFakeLlm } from '../../examples/fake-llm/server.mjs';
import { startAgent, useAgentServers } from '../e2e/child.js';
import { describeE2E, useE2EStores } from '../e2e/stores.js';

const API_KEY = 'sk-adapters-secret-0d5e7a1c9b';

const TOOL_CALLS = [
  { name: 'get_weather', arguments: { city: 'Lisbon' } },
  { name: 'get_time', arguments: { zone: 'Europe/Lisbon' } },
  { name: 'post_note', arguments: { text: 'trip notes' } },
];

interface FixtureResult {
  text: string;
  deltas: number;
  sameTool: boolean;
  governed: boolean;
  originalUntouched: boolean;
}

const FRAMEWORKS: { name: string; fixture: string; api: string }[] = [
  { name: '`ai` 7 + @ai-sdk/openai (provably/ai)', fixture: 'ai.mjs', api: 'responses' },
  { name: '@openai/agents (provably/openai-agents)', fixture: 'openai-agents.mjs', api: 'responses' },
  {
    name: 'langchain createAgent + @langchain/openai (provably/langchain)',
    fixture: 'langchain.mjs',
    api: 'chat',
  },
  { name: '@anthropic-ai/sdk hand-written loop (governTool)', fixture: 'anthropic.mjs', api: 'anthropic' },
  { name: 'openai chat.completions.runTools (governTool)', fixture: 'openai.mjs', api: 'chat' },
];

const servers = useAgentServers();
let llm: FakeLlm;
beforeAll(async () => {
  llm = await startFakeLlm({ toolCalls: TOOL_CALLS, hold: true });
});
afterAll(async () => {
  await llm?.close();
});

/** Runs a fixture; lets the fake LLM finish its stream only once the agent saw the first delta. */
async function runFixture(fixture: string, env: NodeJS.ProcessEnv): Promise<FixtureResult> {
  const agent = startAgent<FixtureResult>(`../adapters/${fixture}`, { env, timeoutMs: 90_000 });
  await agent.next('first-delta', 60_000);
  llm.release();
  const run = await agent.done;
  return run.result;
}

describeE2E('framework adapters', (backend) => {
  const stores = useE2EStores(backend);

  for (const fw of FRAMEWORKS) {
    it(`${fw.name}: tools recorded apart, LLM untouched, BLOCKED text to the model, stream live`, async () => {
      const store = await stores.fresh();
      await store.trust(`${servers.trusted.url}/json`, `${servers.trusted.url}/echo`);
      const llmBefore = llm.requests.length;
      const untrusted = {
        connections: servers.untrusted.connections,
        bytes: servers.untrusted.bytesReceived,
      };

      const out = await runFixture(fw.fixture, store.env({ ...servers.env, LLM_URL: llm.url, API_KEY }));

      // Wrapping twice returned the same governed tool; the user's original is not changed.
      expect(out).toMatchObject({ sameTool: true, governed: true, originalUntouched: true });

      const mine = llm.requests.slice(llmBefore);
      expect(mine.map((r) => r.api)).toEqual([fw.api, fw.api]);
      // The second LLM request carries the three tool results; the blocked one says why.
      const results = mine[1]?.toolResults.map((r) => r.content) ?? [];
      expect(results).toHaveLength(3);
      const blockedUrl = `${servers.untrusted.url}/json?tool=post_note`;
      expect(results).toContain(
        `BLOCKED: ${blockedUrl} is not a trusted endpoint for travel-agent/post_note`,
      );
      expect(results.filter((r) => r.startsWith('BLOCKED'))).toHaveLength(1);
      // …and the model's answer quotes it (the held stream was released after the first delta).
      expect(out.text).toContain(`BLOCKED: ${blockedUrl}`);
      expect(out.deltas).toBeGreaterThan(1);

      // The refused call never reached the untrusted server.
      await servers.untrusted.settle();
      expect({ connections: servers.untrusted.connections, bytes: servers.untrusted.bytesReceived }).toEqual(
        untrusted,
      );

      // One row per trusted tool call, each under its own tool; nothing from the LLM; no key.
      const rows = await store.rows();
      const tagged = rows.map((r) => ({ agent: r.agentId, action: r.actionName, url: r.url }));
      expect(tagged).toHaveLength(2);
      expect(tagged).toEqual(
        expect.arrayContaining([
          {
            agent: 'travel-agent',
            action: 'get_weather',
            url: `${servers.trusted.url}/json?tool=get_weather&city=Lisbon`,
          },
          {
            agent: 'travel-agent',
            action: 'get_time',
            url: `${servers.trusted.url}/echo?tool=get_time&zone=Europe%2FLisbon`,
          },
        ]),
      );
      const everything = JSON.stringify(rows, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v,
      );
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toContain(llm.origin);
      // The two parallel calls are separate scopes (each its own span).
      expect(new Set(rows.map((r) => r.spanId)).size).toBe(2);
    }, 120_000);
  }

  it('`ai` behind a local policy gateway: a policy block reaches the model as BLOCKED by policy', async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`, `${servers.trusted.url}/echo`);
    const llmBefore = llm.requests.length;
    const out = await runFixture(
      'ai.mjs',
      store.env({ ...servers.env, LLM_URL: llm.url, API_KEY, GATEWAY: '1' }),
    );
    const results = llm.requests[llmBefore + 1]?.toolResults.map((r) => r.content) ?? [];
    expect(results).toContain('BLOCKED by policy: notes may not leave the company');
    expect(out.text).toContain('BLOCKED by policy: notes may not leave the company');
    // The allowed tools ran (and were recorded); the forbidden one never ran: no request at all.
    const rows = await store.rows();
    expect(rows.map((r) => r.actionName).sort()).toEqual(['get_time', 'get_weather']);
    // Each call was decided with the tool's arguments (only them) as `input`.
    const decided = await store.withStore(async (s) => {
      const r = await s.query<{ action_name: string; decision: string; params: unknown }>(
        `SELECT action_name, decision, params FROM provably_decisions
          WHERE org_id = $1 AND event_type = 'decision' ORDER BY action_name`,
        [store.orgId],
      );
      return r.rows;
    });
    expect(decided).toEqual([
      { action_name: 'get_time', decision: 'ALLOW', params: { input: { zone: 'Europe/Lisbon' } } },
      { action_name: 'get_weather', decision: 'ALLOW', params: { input: { city: 'Lisbon' } } },
      { action_name: 'post_note', decision: 'BLOCK', params: { input: { text: 'trip notes' } } },
    ]);
  });
});
