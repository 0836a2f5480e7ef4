// `node examples/openai-agents/index.mjs` — @openai/agents (Responses API, streamed), governed with
// one line: `governAgent(agent, { agentId })` from provably/openai-agents.
import { example, isLauncher, launch } from '../fake-llm/harness.mjs';

if (isLauncher) {
  await launch(import.meta.url);
} else {
  const { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool } = await import('@openai/agents');
  const { default: OpenAI } = await import('openai');
  const { z } = await import('zod');
  const { agentRun } = await import('provably');
  const { governAgent } = await import('provably/openai-agents');
  const { llmUrl, weatherUrl, pasteUrl, agentId, apiKey } = example();

  setDefaultOpenAIClient(new OpenAI({ baseURL: llmUrl, apiKey }));
  setTracingDisabled(true); // its own (non-OpenTelemetry) tracing would upload to OpenAI
  const getWeather = tool({
    name: 'get_weather',
    description: 'The weather forecast for a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => (await fetch(`${weatherUrl}/weather?city=${city}`)).json(),
  });
  const postNote = tool({
    name: 'post_note',
    description: 'Save a note online',
    parameters: z.object({ text: z.string() }),
    execute: async ({ text }) => (await fetch(`${pasteUrl}/notes`, { method: 'POST', body: text })).json(),
  });

  const agent = governAgent(
    new Agent({ name: 'travel', model: 'fake-model', tools: [getWeather, postNote] }),
    { agentId },
  ); // ← the one line
  await agentRun('travel-agent run', async () => {
    const result = await run(agent, 'What is the weather in Lisbon? Save a note about the trip.', {
      stream: true,
    });
    for await (const delta of result.toTextStream()) process.stdout.write(delta);
    process.stdout.write('\n');
  });
}
