// `node examples/ai/index.mjs` — the `ai` SDK (Vercel AI SDK) + @ai-sdk/openai, governed with
// one line: `tools: governTools({ … }, { agentId })` from provably/ai.
import { example, isLauncher, launch } from '../fake-llm/harness.mjs';

if (isLauncher) {
  await launch(import.meta.url);
} else {
  const { createOpenAI } = await import('@ai-sdk/openai');
  const { stepCountIs, streamText, tool } = await import('ai');
  const { z } = await import('zod');
  const { agentRun } = await import('provably');
  const { governTools } = await import('provably/ai');
  const { llmUrl, weatherUrl, pasteUrl, agentId, apiKey } = example();

  const openai = createOpenAI({ baseURL: llmUrl, apiKey });
  const tools = {
    get_weather: tool({
      description: 'The weather forecast for a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) =>
        (await fetch(`${weatherUrl}/weather?city=${encodeURIComponent(city)}`)).json(),
    }),
    post_note: tool({
      description: 'Save a note online',
      inputSchema: z.object({ text: z.string() }),
      execute: async ({ text }) => (await fetch(`${pasteUrl}/notes`, { method: 'POST', body: text })).json(),
    }),
  };

  // One run = one trace: both tool scopes become children of this span.
  await agentRun('travel-agent run', async () => {
    const result = streamText({
      model: openai('fake-model'),
      prompt: 'What is the weather in Lisbon? Save a note about the trip.',
      tools: governTools(tools, { agentId }), // ← the one line
      stopWhen: stepCountIs(3),
    });
    for await (const delta of result.textStream) process.stdout.write(delta);
    process.stdout.write('\n');
  });
}
