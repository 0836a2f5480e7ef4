/**
 * End to end: scopes never leak. In one async task a scoped tool call followed by an unscoped
 * "LLM" call records the tool call only; N tasks doing that concurrently (N scoped + N unscoped
 * calls interleaved) give exactly N rows, each tagged with its own action — checked against the
 * action the request itself carried (stored request header and echoed body) — and no row for
 * any unscoped call. The fake LLM server is untrusted, so a leaked scope would also block it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CountingServer, startCountingServer } from '../helpers/counting-server.js';
import { runAgent } from './child.js';
import { bodyText, describeE2E, useE2EStores } from './stores.js';

const N = Number(process.env.E2E_LEAK_N ?? '') || 2_000;

interface LeakResult {
  single: { tool: string; llm: string };
  failures: string[];
  failureCount: number;
  concurrentMs: number;
  maxEventLoopDelayMs: number;
  status: { recorded: number; blocked: number; storeErrors: number; dropped: number };
}

let tool: CountingServer;
let llm: CountingServer;
beforeAll(async () => {
  [tool, llm] = await Promise.all([
    startCountingServer({ keepAliveMs: 120_000 }),
    startCountingServer({ keepAliveMs: 120_000 }),
  ]);
});
afterAll(async () => {
  await Promise.all([tool?.close(), llm?.close()]);
});

describeE2E('no scope leak', (backend) => {
  const stores = useE2EStores(backend);

  it(`one task: tool call recorded, LLM call not; ${N} concurrent tasks: exactly ${N} rows, each its own action`, {
    timeout: 180_000,
  }, async () => {
    const store = await stores.fresh();
    await store.trust(`${tool.url}/echo`);
    const toolBefore = tool.requests;
    const llmBefore = llm.requests;

    const run = await runAgent<LeakResult>('leak.mjs', {
      env: store.env({ TOOL: tool.url, LLM: llm.url, N: String(N) }),
      timeoutMs: 170_000,
    });
    const r = run.result;
    console.log(
      `[e2e leak ${backend}] ${N} tool + ${N} LLM calls concurrently in ${r.concurrentMs} ms (max event-loop delay ${r.maxEventLoopDelayMs} ms); agent ran ${run.workMs} ms`,
    );
    expect(r.failures).toEqual([]);
    expect(r.failureCount).toBe(0);
    expect(r.single).toEqual({ tool: 'single tool', llm: 'single llm' });
    expect(r.status).toMatchObject({ recorded: N + 1, blocked: 0, storeErrors: 0, dropped: 0 });
    // Every call reached its server: the LLM server got all N+1 unscoped calls.
    expect(tool.requests - toolBefore).toBe(N + 1);
    expect(llm.requests - llmBefore).toBe(N + 1);

    const rows = await store.rows();
    expect(rows).toHaveLength(N + 1);
    const expected = new Set(['single tool', ...Array.from({ length: N }, (_, i) => `act-${i}`)]);
    const seen = new Set<string>();
    for (const row of rows) {
      // The row's action is the action of the request it records (header the agent set, and the
      // server's echo of it in the stored body) — never another task's.
      expect(row.url.startsWith(`${tool.url}/echo?action=`), row.url).toBe(true);
      expect(row.requestHeaders['x-action']).toBe(row.actionName);
      expect(new URL(row.url).searchParams.get('action')).toBe(row.actionName);
      expect(JSON.parse(bodyText(row)).headers['x-action']).toBe(row.actionName);
      expect(row.agentId).toBe('agent-loop');
      expect(row.status).toBe(200);
      seen.add(row.actionName);
    }
    expect(seen).toEqual(expected);
    // Distinct scopes, distinct spans.
    expect(new Set(rows.map((row) => row.spanId)).size).toBe(N + 1);
  });
});
