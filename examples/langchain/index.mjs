// `node examples/langchain/index.mjs` — langchain 1.x `createAgent` + @langchain/openai, governed
// with one line: `tools: governTools([...], { agentId })` from provably/langchain.
import { example, isLauncher, launch } from '../fake-llm/harness.mjs';

if (isLauncher) {
  await launch(import.meta.url);
} else {
  const { createAgent, tool } = await import('langchain');
  const { ChatOpenAI } = await import('@langchain/openai');
  const { z } = await import('zod');
  const { agentRun } = await import('provably');
  const { governTools } = await import('provably/langchain');
  const { llmUrl, weatherUrl, pasteUrl, agentId, apiKey } = example();

  const getWeather = tool(
    async ({ city }) => JSON.stringify(await (await fetch(`${weatherUrl}/weather?city=${city}`)).json()),
    {
      name: 'get_weather',
      description: 'The weather forecast for a city',
      schema: z.object({ city: z.string() }),
    },
  );
  const postNote = tool(
    async ({ text }) =>
      JSON.stringify(await (await fetch(`${pasteUrl}/notes`, { method: 'POST', body: text })).json()),
    {
      name: 'post_note',
      description: 'Save a note online',
      schema: z.object({ text: z.string() }),
    },
  );

  const model = new ChatOpenAI({
    model: 'fake-model',
    apiKey,
    configuration: { baseURL: llmUrl },
    streaming: true,
  });
  const agent = createAgent({ model, tools: governTools([getWeather, postNote], { agentId }) }); // ← the one line
  await agentRun('travel-agent run', async () => {
    const stream = await agent.stream(
      { messages: [{ role: 'user', content: 'What is the weather in Lisbon? Save a note.' }] },
      { streamMode: 'messages' },
    );
    for await (const [chunk] of stream)
      if (chunk.getType?.() === 'ai' && typeof chunk.content === 'string')
        process.stdout.write(chunk.content);
    process.stdout.write('\n');
  });
}
