// Fuzzed POST /v1/execute bodies against the gateway child: a body that would be ALLOWed
// (action tool.ok is permitted for everyone) with one field broken — wrong type, out of range,
// too long, too deep, unstorable text — must be a 4xx naming the problem: never a 500, never
// ALLOW. Random JSON and random text must never be a 500 either.
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeE2E, type E2EStore, useE2EStores } from '../e2e/stores.js';
import { type GatewayChild, type Json, startGateway } from './child.js';
import { setUpTenant, type TenantKeys } from './fixtures.js';

const nest = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
};

const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
);
const unstorable = fc.oneof(
  fc.string().map((s) => `${s}\u0000${s}`),
  fc.string().map((s) => `${s}\ud800${s}`),
);
const tooLong = fc.integer({ min: 257, max: 200_000 }).map((n) => 'x'.repeat(n));

/** [field, broken value] pairs; every one must be refused. */
const broken = fc.oneof(
  fc.tuple(
    fc.constant('action'),
    fc.oneof(notString, fc.constant(''), fc.constant('   '), tooLong, unstorable),
  ),
  fc.tuple(
    fc.constant('params'),
    fc.oneof(
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.integer({ min: 33, max: 60 }).map((d) => ({ deep: nest(d, 1) })),
      unstorable.map((s) => ({ note: s })),
      unstorable.map((s) => ({ [s]: 1 })),
    ),
  ),
  fc.tuple(fc.constant('params-deep-body'), fc.integer({ min: 65, max: 5000 })),
  fc.tuple(
    fc.constant('sessionId'),
    fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string()), tooLong, fc.constant(''), unstorable),
  ),
  fc.tuple(
    fc.constant('trace'),
    fc.oneof(
      fc.string(),
      fc.integer(),
      fc.array(fc.string()),
      fc
        .record({ traceId: fc.oneof(fc.string(), fc.integer()), spanId: fc.constant(null) })
        .filter((t) => typeof t.traceId !== 'string' || !/^[0-9a-f]{32}$/.test(t.traceId)),
    ),
  ),
  fc.tuple(
    fc.constant('wait'),
    fc.oneof(
      fc.integer({ max: -1 }),
      fc.integer({ min: 56 }),
      fc.string({ minLength: 1 }),
      fc.boolean(),
      fc.array(fc.integer(), { minLength: 1 }),
    ),
  ),
  fc.tuple(
    fc.constant('agentId'),
    fc.oneof(
      notString.filter((v) => v !== null),
      fc.constant(''),
      tooLong,
      unstorable,
    ),
  ),
);

describeE2E('gateway fuzzed /v1/execute', (backend) => {
  const stores = useE2EStores(backend);
  let store: E2EStore;
  let gw: GatewayChild;
  let t: TenantKeys;

  beforeAll(async () => {
    store = await stores.fresh();
    await store.withStore(async (s) => {
      t = await setUpTenant(s, `tf-${backend}`);
    });
    gw = await startGateway(store.env());
  }, 120_000);
  afterAll(async () => {
    if (gw) expect(await gw.stop()).toBe(0);
  });

  it('the unbroken body is ALLOWed (so a broken one that passed would show)', async () => {
    const r = await gw.call<Json>('POST', '/v1/execute', {
      key: t.anyAgent,
      body: { agentId: 'fuzz', action: 'tool.ok', params: { a: 1 }, sessionId: 's', wait: 0 },
    });
    expect(r.body.decision).toBe('ALLOW');
  });

  it('one broken field → 4xx with a code and message, never 500, never ALLOW', async () => {
    await fc.assert(
      fc.asyncProperty(broken, async ([field, value]) => {
        const body: Record<string, unknown> = {
          agentId: 'fuzz',
          action: 'tool.ok',
          params: { a: 1 },
          sessionId: 's',
          wait: 0,
        };
        let raw: string;
        if (field === 'params-deep-body') {
          // Nesting deeper than any parser limit of ours, written as text.
          const depth = value as number;
          raw = `{"agentId":"fuzz","action":"tool.ok","params":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
        } else {
          body[field] = value;
          raw = JSON.stringify(body);
        }
        const r = await gw.call<Json>('POST', '/v1/execute', {
          key: t.anyAgent,
          raw,
          headers: { 'content-type': 'application/json' },
        });
        expect(r.status, `${field} = ${raw.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect(r.body.error?.code).toMatch(/^[a-z_]+$/);
        expect(typeof r.body.error?.message).toBe('string');
        expect(r.body.decision).toBeUndefined();
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('random JSON and random text: never a 500; an answer is never ALLOW', async () => {
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc
        .record({ action: fc.string(), params: fc.jsonValue({ maxDepth: 4 }) }, { requiredKeys: [] })
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (raw) => {
        const r = await gw.call<Json>('POST', '/v1/execute', { key: t.agent, raw });
        expect(r.status, raw.slice(0, 200)).toBeLessThan(500);
        if (r.status === 200) expect(r.body.decision).not.toBe('ALLOW');
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('every other endpoint taking a body or a query: random input is never a 500', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    const routes = [
      ['POST', `/v1/escalations/${id}/approve`],
      ['POST', `/v1/escalations/${id}/reject`],
      ['POST', '/v1/escalations/decide'],
      ['POST', '/v1/events'],
      ['PUT', '/v1/policies'],
    ] as const;
    const input = fc.tuple(
      fc.constantFrom(...routes),
      fc.oneof(
        fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 100 }),
        fc
          .record(
            {
              ids: fc.array(fc.oneof(fc.uuid(), fc.string()), { maxLength: 5 }),
              decision: fc.constantFrom('approve', 'reject', 'maybe'),
              reason: fc.oneof(fc.string(), unstorable),
              parentEventId: fc.oneof(fc.uuid(), fc.string()),
              kind: fc.constantFrom('fail_open', 'outcome', 'other'),
              outcome: fc.jsonValue({ maxDepth: 2 }),
              durationMs: fc.oneof(fc.double(), fc.string()),
              decidedAt: fc.oneof(
                fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
                fc.string(),
              ),
              text: fc.oneof(fc.string(), unstorable),
              schema: fc.oneof(fc.string(), fc.constant(null)),
            },
            { requiredKeys: [] },
          )
          .map((v) => JSON.stringify(v)),
      ),
    );
    await fc.assert(
      fc.asyncProperty(input, async ([[method, path], raw]) => {
        const r = await gw.call<Json>(method, path, { key: t.admin, raw });
        expect(r.status, `${method} ${path} ${raw.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    const queries = fc.tuple(
      fc.constantFrom('/v1/audit', '/v1/escalations', `/v1/escalations/${id}`),
      fc.dictionary(
        fc.constantFrom('status', 'limit', 'cursor', 'wait', 'since', 'until', 'decision', 'agent'),
        fc.string(),
        {
          maxKeys: 3,
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(queries, async ([path, q]) => {
        const r = await gw.call<Json>('GET', `${path}?${new URLSearchParams(q)}`, { key: t.admin });
        expect(r.status, `${path} ${JSON.stringify(q)}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('params a policy cannot be asked about (a key Cedar reserves) are a recorded BLOCK, not an error', async () => {
    const r = await gw.call<Json>('POST', '/v1/execute', {
      key: t.anyAgent,
      body: {
        agentId: 'fuzz',
        action: 'tool.ok',
        params: { nested: { __extn: { fn: 'ip', arg: '1.2.3.4' } } },
      },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ decision: 'BLOCK', eventId: expect.any(String) });
    expect(r.body.reason).toMatch(/^policy input refused: .*__extn/);
  });

  it('a body over 1 MiB is 413; nesting 200 000 deep is a 400', async () => {
    const huge = await gw.call<Json>('POST', '/v1/execute', {
      key: t.anyAgent,
      raw: JSON.stringify({ agentId: 'fuzz', action: 'tool.ok', params: { s: 'x'.repeat(1_100_000) } }),
    });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const deep = await gw.call<Json>('POST', '/v1/execute', {
      key: t.anyAgent,
      raw: `{"agentId":"fuzz","action":"tool.ok","params":{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`,
    });
    expect(deep.status).toBe(400);
  }, 60_000);

  it('a chunked body (no Content-Length) is counted as it streams: over 1 MiB is refused, a small one is decided', async () => {
    /** POSTs `chunks` with Transfer-Encoding: chunked: the status and answer, or the socket error. */
    const chunked = (chunks: string[]) =>
      new Promise<{ status: number; body: Json } | { error: NodeJS.ErrnoException }>((resolve) => {
        const req = request(
          `${gw.url}/v1/execute`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-provably-api-key': t.anyAgent },
            agent: false, // a fresh connection: the refused one is closed by the server
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (d: string) => {
              text += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Json }));
          },
        );
        // The server answers 413 without reading the rest; depending on Node's version the client
        // reads that answer or sees the connection closed while it still writes.
        req.on('error', (error) => resolve({ error }));
        for (const c of chunks) req.write(c);
        req.end();
      });
    const head = (agent: string) => `{"agentId":"${agent}","action":"tool.ok","params":{"s":"`;
    const big = await chunked([
      head('fuzz-chunked-big'),
      ...Array.from({ length: 20 }, () => 'x'.repeat(64 * 1024)),
      '"}}',
    ]);
    if ('error' in big) expect(['ECONNRESET', 'EPIPE']).toContain(big.error.code);
    else expect(big).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const small = await chunked([head('fuzz-chunked-small'), 'abc', '"}}']);
    expect(small).toMatchObject({ status: 200, body: { decision: 'ALLOW' } });
    // Whatever the client saw, the oversized call was never decided.
    const audit = async (agent: string) =>
      ((await gw.call<Json>('GET', `/v1/audit?agent=${agent}`, { key: t.reviewer })).body.events as Json[])
        .length;
    expect(await audit('fuzz-chunked-big')).toBe(0);
    expect(await audit('fuzz-chunked-small')).toBe(1);
  }, 60_000);
});
