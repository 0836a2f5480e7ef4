/**
 * A small fake LLM on 127.0.0.1 speaking the real wire formats (non-streaming JSON) of the two
 * APIs the span-mapping tests drive: Anthropic Messages (`POST /v1/messages`, used by the
 * Anthropic SDK's tool runner) and OpenAI Chat Completions (`POST /v1/chat/completions`, used by
 * `@ai-sdk/openai`'s chat models). First turn: it asks for `calls` (parallel tool calls); once the
 * conversation carries tool results it answers with text listing them. It counts requests, so a
 * test can check the LLM calls went out (and, from the rows, that they were not recorded).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolCallPlan {
  name: string;
  input: Record<string, unknown>;
}

export interface FakeLlm {
  readonly url: string;
  readonly requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function hasAnthropicToolResult(messages: Json[]): boolean {
  return messages.some(
    (m) => Array.isArray(m.content) && (m.content as Json[]).some((c) => c.type === 'tool_result'),
  );
}

function anthropicReply(body: Json, calls: ToolCallPlan[]): Json {
  const messages = (body.messages as Json[] | undefined) ?? [];
  const base = {
    id: `msg_${messages.length}`,
    type: 'message',
    role: 'assistant',
    model: body.model ?? 'fake',
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
  if (hasAnthropicToolResult(messages)) {
    return { ...base, content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn' };
  }
  return {
    ...base,
    content: calls.map((c, i) => ({ type: 'tool_use', id: `toolu_${i}`, name: c.name, input: c.input })),
    stop_reason: 'tool_use',
  };
}

function chatReply(body: Json, calls: ToolCallPlan[]): Json {
  const messages = (body.messages as Json[] | undefined) ?? [];
  const base = {
    id: `chatcmpl_${messages.length}`,
    object: 'chat.completion',
    created: 1,
    model: body.model ?? 'fake',
  };
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
  if (messages.some((m) => m.role === 'tool')) {
    return {
      ...base,
      choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }],
      usage,
    };
  }
  return {
    ...base,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: calls.map((c, i) => ({
            id: `call_${i}`,
            type: 'function',
            function: { name: c.name, arguments: JSON.stringify(c.input) },
          })),
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage,
  };
}

export async function startFakeLlm(calls: ToolCallPlan[]): Promise<FakeLlm> {
  const requests: FakeLlm['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Json;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Json;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ path, body });
      let reply: Json | undefined;
      if (req.method === 'POST' && path.endsWith('/messages')) reply = anthropicReply(body, calls);
      else if (req.method === 'POST' && path.endsWith('/chat/completions')) reply = chatReply(body, calls);
      if (reply === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
