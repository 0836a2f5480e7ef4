/**
 * Span mapping governs agent frameworks without code changes (issue #11, items 1 and 4): the
 * real Anthropic SDK tool runner, `ai` + @ai-sdk/otel and `ai` + LegacyOpenTelemetry, in an ES
 * module and a CommonJS app under the built preload with PROVABLY_SCOPE_FROM_GENAI=1, against a
 * fake LLM on loopback that asks for two parallel tool calls (trusted, untrusted). The app has no
 * provably code. Spans are exported by provably's standalone export (OTEL_* → OTLP protobuf) to a
 * real receiver.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAgent, useAgentServers } from '../e2e/child.js';
import { describeE2E, useE2EStores } from '../e2e/stores.js';
import { type FakeLlm, startFakeLlm } from '../helpers/fake-llm.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';

const servers = useAgentServers();
let receiver: OtlpReceiver;
let llm: FakeLlm;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  llm = await startFakeLlm([
    { name: 'fetch_page', input: { url: `${servers.trusted.url}/json?tool=trusted` } },
    { name: 'fetch_page', input: { url: `${servers.untrusted.url}/json?tool=untrusted` } },
  ]);
});
afterAll(async () => {
  await receiver?.close();
  await llm?.close();
});

interface Outcome {
  url: string;
  ok: boolean;
  status?: number;
  message?: string;
  cause?: string | null;
}

const FRAMEWORKS = [
  // The Anthropic tool runner's spans carry no agent name: the configured default applies.
  { framework: 'anthropic', agent: 'support-bot', toolSpan: 'anthropic.custom_tool_use fetch_page' },
  { framework: 'ai-otel', agent: 'billing-agent', toolSpan: 'execute_tool fetch_page' },
  { framework: 'ai-legacy', agent: 'billing-agent', toolSpan: 'ai.toolCall' },
] as const;

function isToolSpan(s: ReceivedSpan): boolean {
  return (
    s.attributes['gen_ai.tool.name'] === 'fetch_page' || s.attributes['ai.toolCall.name'] === 'fetch_page'
  );
}

describeE2E('span mapping governs frameworks without code changes', (backend) => {
  const stores = useE2EStores(backend);

  for (const { framework, agent, toolSpan } of FRAMEWORKS) {
    for (const app of ['fw-agent.mjs', 'fw-agent.cjs']) {
      it(`${framework}, ${app.endsWith('.cjs') ? 'CommonJS' : 'ES module'} app: tool calls governed, LLM untouched, events on the tool spans`, async () => {
        const store = await stores.fresh();
        await store.trust(`${servers.trusted.url}/json`);
        const untrusted = servers.untrusted;
        const before = { connections: untrusted.connections, bytes: untrusted.bytesReceived };
        const llmBefore = llm.requests.length;
        const start = receiver.spans.length;
        const run = await runAgent<{ text: string; outcomes: Outcome[] }>(app, {
          env: store.env({
            ...servers.env,
            FRAMEWORK: framework,
            LLM_URL: llm.url,
            PROVABLY_SCOPE_FROM_GENAI: '1',
            PROVABLY_DEFAULT_AGENT_ID: 'support-bot',
            OTEL_TRACES_EXPORTER: 'otlp',
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          }),
        });
        expect(run.result.text).toBe('done');
        const trusted = run.result.outcomes.find((o) => o.url.endsWith('tool=trusted'));
        const blocked = run.result.outcomes.find((o) => o.url.endsWith('tool=untrusted'));
        expect(trusted).toMatchObject({
          url: `${servers.trusted.url}/json?tool=trusted`,
          ok: true,
          status: 200,
        });
        expect(blocked).toMatchObject({
          url: `${untrusted.url}/json?tool=untrusted`,
          ok: false,
          cause: 'PROVABLY_BLOCKED',
        });
        await untrusted.settle();
        expect({ connections: untrusted.connections, bytes: untrusted.bytesReceived }).toEqual(before);
        // Both LLM turns went out; only the tool's trusted call was recorded (LLM calls are outside any scope).
        expect(llm.requests.length - llmBefore).toBe(2);
        const rows = await store.rows();
        expect(rows.map((r) => ({ agentId: r.agentId, actionName: r.actionName, url: r.url }))).toEqual([
          { agentId: agent, actionName: 'fetch_page', url: `${servers.trusted.url}/json?tool=trusted` },
        ]);
        const row = rows[0];

        const spans = receiver.spans.slice(start);
        const ids = spans.map((s) => s.spanId);
        expect(new Set(ids).size, 'no span exported twice').toBe(ids.length);
        const tools = spans.filter(isToolSpan);
        expect(tools.map((s) => s.name)).toEqual([toolSpan, toolSpan]);
        const recordedOn = tools.find((s) => s.events.some((e) => e.name === 'provably.intercept'));
        expect(recordedOn?.spanId).toBe(row?.spanId);
        expect(recordedOn?.traceId).toBe(row?.traceId);
        expect(recordedOn?.events.find((e) => e.name === 'provably.intercept')?.attributes).toMatchObject({
          'provably.record_id': row?.id,
          'provably.body_sha256': row?.bodySha256,
          'http.response.status_code': 200,
        });
        const blockedOn = tools.find((s) => s.events.some((e) => e.name === 'provably.blocked'));
        expect(blockedOn).toBeDefined();
        expect(blockedOn?.spanId).not.toBe(recordedOn?.spanId); // parallel calls tagged apart
        expect(blockedOn?.events.find((e) => e.name === 'provably.blocked')?.attributes).toMatchObject({
          'url.full': `${untrusted.url}/json?tool=untrusted`,
          'provably.agent_id': agent,
          'provably.action_name': 'fetch_page',
        });
      }, 120_000);
    }
  }

  it("without the ai.toolCall rule, ai's legacy tool spans are not scopes (the rule is what governs them)", async () => {
    const store = await stores.fresh();
    await store.trust(`${servers.trusted.url}/json`);
    const untrusted = servers.untrusted;
    const before = untrusted.connections;
    const run = await runAgent<{ outcomes: Outcome[] }>('fw-agent.mjs', {
      env: store.env({
        ...servers.env,
        FRAMEWORK: 'ai-legacy',
        LLM_URL: llm.url,
        PROVABLY_SCOPE_ATTRIBUTES: 'action=gen_ai.tool.name agent=gen_ai.agent.name',
      }),
    });
    // Ungoverned: the untrusted call went out and nothing was recorded.
    expect(run.result.outcomes.find((o) => o.url.endsWith('tool=untrusted'))).toMatchObject({
      ok: true,
      status: 200,
    });
    await untrusted.settle();
    expect(untrusted.connections).toBeGreaterThan(before);
    expect(await store.rows()).toEqual([]);
  }, 120_000);
});
