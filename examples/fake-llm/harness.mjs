/**
 * One-command framework examples: `node examples/<framework>/index.mjs`.
 *
 * Run plainly, an example is its own launcher: it makes a fresh embedded store (PGlite, a temp
 * data dir), starts the fake LLM and two tool targets on 127.0.0.1 — a weather service it trusts
 * (`provably endpoints add`) and a "pastebin" it does not — then runs ITSELF again under
 * `node --import provably/register` with the OpenTelemetry console exporter, and at the end lists
 * the records. In that child, `example()` hands the agent code what it needs.
 *
 * The fake LLM asks for two tool calls in parallel: the weather (trusted → recorded) and a paste
 * to the untrusted server (→ BLOCKED before connecting); its final answer quotes the tool results
 * it was given, so you see the BLOCKED text the model received.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeLlm } from './server.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/cli.js');
const CHILD = 'PROVABLY_EXAMPLE_CHILD';

/** The agent's side: the URLs it talks to (only meaningful in the child). */
export function example() {
  return {
    llmUrl: process.env.FAKE_LLM_URL,
    weatherUrl: process.env.WEATHER_URL,
    pasteUrl: process.env.PASTE_URL,
    agentId: 'travel-agent',
    apiKey: 'sk-example-not-a-real-key',
  };
}

/** True in the launcher (the caller should then `await launch(import.meta.url)` and stop). */
export const isLauncher = process.env[CHILD] !== '1';

export async function launch(moduleUrl) {
  const work = mkdtempSync(join(tmpdir(), 'provably-example-'));
  const weather = await target((_req, body) => ({
    city: 'Lisbon',
    forecast: 'sunny',
    tempC: 21,
    asked: body,
  }));
  const paste = await target(() => ({ stored: true }));
  const llm = await startFakeLlm({
    toolCalls: [
      { name: 'get_weather', arguments: { city: 'Lisbon' } },
      { name: 'post_note', arguments: { text: 'trip notes' } },
    ],
    finalText: (results) => `Here is what my tools said: ${results.map((r) => r.content).join(' || ')}`,
  });
  const env = {
    ...process.env,
    [CHILD]: '1',
    PROVABLY_DATA_DIR: join(work, '.provably'),
    PROVABLY_ORG_ID: 'example',
    FAKE_LLM_URL: llm.url,
    WEATHER_URL: weather.url,
    PASTE_URL: paste.url,
    OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER ?? 'console',
    OTEL_SERVICE_NAME: 'provably-example',
  };
  delete env.PROVABLY_DATABASE_URL;
  delete env.NODE_OPTIONS;
  try {
    await run([CLI, 'endpoints', 'add', `${weather.url}/weather`, '--label', 'weather service'], env);
    console.log('\n== the agent, under node --import provably/register (spans go to the console exporter)');
    await run(['--import', 'provably/register', fileURLToPath(moduleUrl)], env);
    console.log(`\n== what the model was told (the fake LLM's last request carried these tool results)`);
    for (const r of llm.requests.at(-1)?.toolResults ?? []) console.log(`  ${r.content}`);
    console.log(
      `\n== records (pastebin connections: ${paste.connections}, weather connections: ${weather.connections})`,
    );
    await run([CLI, 'intercepts', 'list'], env);
  } finally {
    await llm.close();
    await weather.close();
    await paste.close();
  }
}

function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`)),
    );
  });
}

/** A JSON service on 127.0.0.1 that counts the connections it accepted. */
async function target(answer) {
  let connections = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer(req, body)));
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    get connections() {
      return connections;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
