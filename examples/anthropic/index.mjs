// `node examples/anthropic/index.mjs` — @anthropic-ai/sdk with a hand-written tool loop
// (`messages.stream`), each tool body governed with one wrapper: `governTool(name, fn, { agentId })`.
// (The SDK's own `toolRunner` emits GenAI tool spans: it is governed by the span mapping, without
// code changes — see the README.)
import { example, isLauncher, launch } from '../fake-llm/harness.mjs';

if (isLauncher) {
  await launch(import.meta.url);
} else {
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  const { agentRun } = await import('provably');
  const { governTool } = await import('provably/adapters');
  const { llmUrl, weatherUrl, pasteUrl, agentId, apiKey } = example();

  const client = new Anthropic({ baseURL: llmUrl.replace(/\/v1$/, ''), apiKey });
  const tools = [
    {
      name: 'get_weather',
      description: 'The weather forecast for a city',
      input_schema: { type: 'object', properties: { city: { type: 'string' } } },
    },
    {
      name: 'post_note',
      description: 'Save a note online',
      input_schema: { type: 'object', properties: { text: { type: 'string' } } },
    },
  ];
  // ← one wrapper per tool body: a scope for its calls, and the BLOCKED text instead of a throw.
  const run = {
    get_weather: governTool(
      'get_weather',
      async ({ city }) => JSON.stringify(await (await fetch(`${weatherUrl}/weather?city=${city}`)).json()),
      { agentId },
    ),
    post_note: governTool(
      'post_note',
      async ({ text }) =>
        JSON.stringify(await (await fetch(`${pasteUrl}/notes`, { method: 'POST', body: text })).json()),
      { agentId },
    ),
  };

  await agentRun('travel-agent run', async () => {
    const messages = [
      { role: 'user', content: 'What is the weather in Lisbon? Save a note about the trip.' },
    ];
    for (let turn = 0; turn < 3; turn++) {
      const stream = client.messages.stream({ model: 'claude-fake', max_tokens: 512, messages, tools });
      stream.on('text', (delta) => process.stdout.write(delta));
      const message = await stream.finalMessage();
      if (message.stop_reason !== 'tool_use') break;
      messages.push({ role: 'assistant', content: message.content });
      const calls = message.content.filter((b) => b.type === 'tool_use');
      // Parallel tool calls, each in its own scope.
      const results = await Promise.all(
        calls.map(async (b) => ({
          type: 'tool_result',
          tool_use_id: b.id,
          content: await run[b.name](b.input),
        })),
      );
      messages.push({ role: 'user', content: results });
    }
    process.stdout.write('\n');
  });
}
