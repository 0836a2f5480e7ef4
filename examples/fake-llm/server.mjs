/**
 * A fake LLM server for the examples and the adapter tests: no key, no network, loopback only.
 * It speaks the real wire formats — OpenAI chat completions and Responses API, Anthropic
 * messages — with and without SSE streaming, and plays one script:
 *
 *   1. a request that carries no tool results yet → the model calls the configured tools that the
 *      request offers, all in one turn (parallel tool calls);
 *   2. a request that carries tool results → a final text that quotes them, so the tool result
 *      the model was given is visible in the answer (and in `requests`).
 *
 *   const llm = await startFakeLlm({ toolCalls: [{ name: 'fetch_page', arguments: { url } }] });
 *   llm.url            // http://127.0.0.1:<port>/v1 — give it as the SDK's baseURL
 *   llm.requests       // every request: { api, path, headers, body, toolResults }
 *   await llm.close();
 *
 * Streaming: text and tool-call arguments are sent in several SSE events. With `hold: true` each
 * streamed answer sends its first text delta, then waits for `llm.release()` before the rest — a
 * client that buffers the stream never sees that first delta, and never finishes (what the tests
 * check).
 */
import { createServer } from 'node:http';

let counter = 0;
const nextId = (prefix) => `${prefix}${(++counter).toString(36).padStart(6, '0')}`;

/** @param {import('./server.d.mts').FakeLlmOptions} [options] */
export async function startFakeLlm(options = {}) {
  const toolCalls = options.toolCalls ?? [];
  const finalText = options.finalText ?? defaultFinalText;
  const requests = [];
  // Streams waiting at their hold point; release() lets all of them go on (and a release that
  // comes before any stream waits lets the next one through).
  const holding = [];
  let earlyReleases = 0;
  const holdHere = () => {
    if (earlyReleases > 0) {
      earlyReleases--;
      return Promise.resolve();
    }
    return new Promise((resolve) => holding.push(resolve));
  };
  const releaseAll = () => {
    if (holding.length === 0) earlyReleases++;
    for (const resolve of holding.splice(0)) resolve();
  };
  const sockets = new Set();

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      handle(req, res, raw).catch((err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(err?.message ?? err) } }));
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req, res, raw) {
    const path = (req.url ?? '').split('?')[0];
    let body;
    try {
      body = raw === '' ? {} : JSON.parse(raw);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'body is not JSON' } }));
      return;
    }
    const api = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/responses')
        ? 'responses'
        : path.endsWith('/messages')
          ? 'anthropic'
          : undefined;
    if (req.method !== 'POST' || api === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      return;
    }
    const results = toolResultsOf(api, body);
    requests.push({ api, path, headers: req.headers, body, toolResults: results });
    const offered = new Set(offeredTools(api, body));
    const calls =
      results.length === 0
        ? toolCalls
            .filter((c) => offered.has(c.name))
            .map((c) => ({ ...c, id: nextId(api === 'anthropic' ? 'toolu_' : 'call_') }))
        : [];
    const text = calls.length > 0 ? '' : finalText(results);
    const turn = {
      model: String(body.model ?? 'fake-model'),
      calls,
      text,
      responseId: nextId('resp_'),
      messageId: nextId('msg_'),
    };
    const stream = body.stream === true;
    if (api === 'chat') return stream ? chatStream(res, turn, body) : json(res, chatJson(turn));
    if (api === 'responses') return stream ? responsesStream(res, turn) : json(res, responsesJson(turn));
    return stream ? anthropicStream(res, turn) : json(res, anthropicJson(turn));
  }

  // --- SSE helpers -----------------------------------------------------------------------------
  function sse(res) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    return {
      send(data, event) {
        res.write(
          `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
        );
      },
      end: () => res.end(),
    };
  }
  /** The text split in pieces; with hold, the server waits for release() after the first one. */
  async function* pieces(text) {
    const parts = text.match(/\S+\s*/g) ?? [];
    for (let i = 0; i < parts.length; i++) {
      yield parts[i];
      if (i === 0 && options.hold && parts.length > 1) await holdHere();
    }
  }

  // --- OpenAI chat completions -----------------------------------------------------------------
  function chatJson(turn) {
    const message = { role: 'assistant', content: turn.calls.length > 0 ? null : turn.text, refusal: null };
    if (turn.calls.length > 0) message.tool_calls = turn.calls.map(chatToolCall);
    return {
      id: nextId('chatcmpl-'),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: turn.model,
      choices: [
        { index: 0, message, logprobs: null, finish_reason: turn.calls.length > 0 ? 'tool_calls' : 'stop' },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    };
  }
  function chatToolCall(c) {
    return {
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) },
    };
  }
  async function chatStream(res, turn, body) {
    const out = sse(res);
    const base = {
      id: nextId('chatcmpl-'),
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: turn.model,
    };
    const chunk = (delta, finish = null) =>
      out.send({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    chunk({ role: 'assistant', content: '' });
    turn.calls.forEach((c, index) => {
      const args = JSON.stringify(c.arguments ?? {});
      chunk({
        tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }],
      });
      const half = Math.ceil(args.length / 2);
      chunk({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] });
      chunk({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] });
    });
    for await (const piece of pieces(turn.text)) chunk({ content: piece });
    chunk({}, turn.calls.length > 0 ? 'tool_calls' : 'stop');
    if (body.stream_options?.include_usage) {
      out.send({
        ...base,
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
    }
    out.send('[DONE]');
    out.end();
  }

  // --- OpenAI Responses API --------------------------------------------------------------------
  function responseItems(turn) {
    if (turn.calls.length > 0) {
      return turn.calls.map((c) => ({
        type: 'function_call',
        id: nextId('fc_'),
        call_id: c.id,
        name: c.name,
        arguments: JSON.stringify(c.arguments ?? {}),
        status: 'completed',
      }));
    }
    return [
      {
        type: 'message',
        id: nextId('msg_'),
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: turn.text, annotations: [], logprobs: [] }],
      },
    ];
  }
  function responseObject(turn, status, output) {
    return {
      id: turn.responseId,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      status,
      model: turn.model,
      output,
      parallel_tool_calls: true,
      tool_choice: 'auto',
      tools: [],
      error: null,
      incomplete_details: null,
      usage:
        status === 'completed'
          ? {
              input_tokens: 10,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: 5,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: 15,
            }
          : null,
    };
  }
  function responsesJson(turn) {
    return responseObject(turn, 'completed', responseItems(turn));
  }
  async function responsesStream(res, turn) {
    const out = sse(res);
    let seq = 0;
    const send = (type, data) => out.send({ type, sequence_number: seq++, ...data }, type);
    send('response.created', { response: responseObject(turn, 'in_progress', []) });
    send('response.in_progress', { response: responseObject(turn, 'in_progress', []) });
    const items = responseItems(turn);
    for (const [output_index, item] of items.entries()) {
      if (item.type === 'function_call') {
        send('response.output_item.added', {
          output_index,
          item: { ...item, arguments: '', status: 'in_progress' },
        });
        const half = Math.ceil(item.arguments.length / 2);
        for (const delta of [item.arguments.slice(0, half), item.arguments.slice(half)]) {
          send('response.function_call_arguments.delta', { item_id: item.id, output_index, delta });
        }
        send('response.function_call_arguments.done', {
          item_id: item.id,
          output_index,
          arguments: item.arguments,
        });
        send('response.output_item.done', { output_index, item });
      } else {
        const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
        send('response.output_item.added', {
          output_index,
          item: { ...item, status: 'in_progress', content: [] },
        });
        send('response.content_part.added', { item_id: item.id, output_index, content_index: 0, part });
        for await (const delta of pieces(turn.text)) {
          send('response.output_text.delta', {
            item_id: item.id,
            output_index,
            content_index: 0,
            delta,
            logprobs: [],
          });
        }
        send('response.output_text.done', {
          item_id: item.id,
          output_index,
          content_index: 0,
          text: turn.text,
          logprobs: [],
        });
        send('response.content_part.done', {
          item_id: item.id,
          output_index,
          content_index: 0,
          part: { ...part, text: turn.text },
        });
        send('response.output_item.done', { output_index, item });
      }
    }
    send('response.completed', { response: responseObject(turn, 'completed', items) });
    out.end();
  }

  // --- Anthropic messages ----------------------------------------------------------------------
  function anthropicContent(turn) {
    if (turn.calls.length > 0)
      return turn.calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments ?? {} }));
    return [{ type: 'text', text: turn.text }];
  }
  function anthropicMessage(turn, content, stop) {
    return {
      id: turn.messageId,
      type: 'message',
      role: 'assistant',
      model: turn.model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5 },
    };
  }
  function anthropicJson(turn) {
    return anthropicMessage(turn, anthropicContent(turn), turn.calls.length > 0 ? 'tool_use' : 'end_turn');
  }
  async function anthropicStream(res, turn) {
    const out = sse(res);
    const send = (type, data) => out.send({ type, ...data }, type);
    send('message_start', { message: anthropicMessage(turn, [], null) });
    for (const [index, block] of anthropicContent(turn).entries()) {
      if (block.type === 'tool_use') {
        send('content_block_start', { index, content_block: { ...block, input: {} } });
        const json = JSON.stringify(block.input);
        const half = Math.ceil(json.length / 2);
        for (const partial_json of [json.slice(0, half), json.slice(half)]) {
          send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
        }
      } else {
        send('content_block_start', { index, content_block: { type: 'text', text: '' } });
        for await (const text of pieces(block.text))
          send('content_block_delta', { index, delta: { type: 'text_delta', text } });
      }
      send('content_block_stop', { index });
    }
    send('message_delta', {
      delta: { stop_reason: turn.calls.length > 0 ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: 5 },
    });
    send('message_stop', {});
    out.end();
  }

  function json(res, value) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    release: releaseAll,
    async close() {
      for (const resolve of holding.splice(0)) resolve();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
}

/** The tool results a request carries, in order: { id, content } (content as text). */
export function toolResultsOf(api, body) {
  const out = [];
  if (api === 'chat') {
    for (const m of body.messages ?? [])
      if (m.role === 'tool') out.push({ id: m.tool_call_id, content: textOf(m.content) });
  } else if (api === 'responses') {
    for (const item of Array.isArray(body.input) ? body.input : []) {
      if (item?.type === 'function_call_output') out.push({ id: item.call_id, content: textOf(item.output) });
    }
  } else {
    for (const m of body.messages ?? []) {
      if (m.role !== 'user' || !Array.isArray(m.content)) continue;
      for (const block of m.content) {
        if (block?.type === 'tool_result')
          out.push({ id: block.tool_use_id, content: textOf(block.content) });
      }
    }
  }
  return out;
}

function offeredTools(api, body) {
  return (body.tools ?? []).map((t) => (api === 'chat' ? t.function?.name : t.name)).filter(Boolean);
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p === 'string' ? p : (p?.text ?? ''))).join('');
  return content === undefined || content === null ? '' : JSON.stringify(content);
}

function defaultFinalText(results) {
  return `I used ${results.length} tool result(s): ${results.map((r) => r.content).join(' | ')}`;
}

// `node examples/fake-llm/server.mjs [port]`: run it on its own (any SDK's baseURL).
if (import.meta.url === `file://${process.argv[1]}`) {
  const llm = await startFakeLlm({ port: Number(process.argv[2] ?? 0) });
  console.log(`fake LLM listening on ${llm.url}`);
}
