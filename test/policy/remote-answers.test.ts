// The remote client against a BROKEN or HOSTILE server (not the gateway: a real HTTP server on
// 127.0.0.1 answering what a failing proxy, a half-dead gateway or an attacker in the path
// would). Nothing it can answer may turn into an ALLOW except what the contract defines as
// ALLOW, or — only in fail-open mode — an outage (no answer, 502/503/504).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GatewayError, PolicyInputError } from '../../src/errors/index.js';
import { ProvablyGateway } from '../../src/policy/index.js';
import { describeEachBackend, useTestStore } from '../helpers/backends.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describeEachBackend('remote client vs a broken server', (backend) => {
  const store = useTestStore(backend);
  let server: Server;
  let url: string;
  let handler: Handler = (_req, _body, res) => res.end();
  const seen: { method: string; path: string; key: string | undefined; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          key: req.headers['x-provably-api-key'] as string | undefined,
          body,
        });
        handler(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const json = (status: number, value: unknown) => (_q: IncomingMessage, _b: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const make = (onGatewayError: 'open' | 'closed' = 'closed', timeoutMs = 2_000) =>
    new ProvablyGateway({
      agentId: 'billing-agent',
      gatewayUrl: url,
      apiKey: 'pvk_abcdefgh_secret',
      onGatewayError,
      timeoutMs,
      store: store(),
      tenant: 'broken-org',
    });
  const failure = (p: Promise<unknown>) =>
    p.then(
      (v) => ({ allowed: v }),
      (e: unknown) => e,
    );

  it('sends the contract body with the API key header, and maps a contract ALLOW', async () => {
    handler = json(200, {
      decision: 'ALLOW',
      reason: 'ok',
      action: 'payments.initiate',
      eventId: '00000000-0000-4000-8000-000000000001',
      sessionId: 's1',
      policyVersion: 'sha256:x',
      mode: 'enforce',
    });
    const g = make();
    const r = await g.execute('payments.initiate', { amount: 5 }, { sessionId: 's1' });
    expect(r).toMatchObject({
      decision: 'ALLOW',
      reason: 'ok',
      eventId: '00000000-0000-4000-8000-000000000001',
    });
    const last = seen.at(-1);
    expect(last).toMatchObject({ method: 'POST', path: '/v1/execute', key: 'pvk_abcdefgh_secret' });
    expect(JSON.parse(last?.body ?? '')).toMatchObject({
      agentId: 'billing-agent',
      action: 'payments.initiate',
      params: { amount: 5 },
      sessionId: 's1',
      wait: 0,
    });
    await g.close();
  });

  it('answers outside the contract fail closed even in open mode', async () => {
    const bad: Handler[] = [
      json(200, { decision: 'allow', eventId: 'x' }),
      json(200, { decision: 'ALLOW' }),
      json(200, { decision: 'ESCALATE', eventId: 'e1', reason: 'r' }), // no escalationId
      json(200, ['ALLOW']),
      (_q, _b, res) => res.end('ALLOW'), // 200, not JSON
      json(500, { error: { code: 'internal', message: 'boom' } }),
      json(401, { error: { code: 'unauthorized', message: 'unknown or revoked key' } }),
      json(403, { error: { code: 'forbidden', message: 'agent key' } }),
      json(302, {}),
    ];
    for (const h of bad) {
      handler = h;
      const g = make('open');
      const e = await failure(g.execute('payments.initiate', { amount: 5 }));
      expect(e, String(h)).toBeInstanceOf(GatewayError);
      await g.close();
    }
    handler = json(401, { error: { code: 'unauthorized', message: 'revoked' } });
    const g = make('open');
    const e = (await failure(g.execute('a', {}))) as GatewayError;
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/API key/);
    await g.close();
  });

  it('400/413 on execute are PolicyInputError', async () => {
    handler = json(413, { error: { code: 'payload_too_large', message: 'body over 1 MiB' } });
    const g = make();
    await expect(g.execute('a', {})).rejects.toBeInstanceOf(PolicyInputError);
    await g.close();
  });

  it('an answer larger than 8 MiB is refused, not buffered', async () => {
    handler = (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let n = 0;
      const push = () => {
        while (n < 12) {
          n++;
          if (!res.write(chunk)) return res.once('drain', push);
        }
        res.end();
      };
      push();
    };
    const g = make('open');
    await expect(g.execute('a', {})).rejects.toBeInstanceOf(GatewayError);
    await g.close();
  });

  it('outage answers: closed → GatewayError; open → ALLOW recorded locally (no answer in time, 502/503/504)', async () => {
    const outages: Handler[] = [
      () => {}, // never answers
      json(502, {}),
      json(503, { error: { code: 'unavailable', message: 'store down' } }),
      json(504, {}),
    ];
    for (const h of outages) {
      handler = h;
      const closed = make('closed', 300);
      expect(await failure(closed.execute('payments.initiate', { amount: 1 }))).toBeInstanceOf(GatewayError);
      await closed.close();
      const open = make('open', 300);
      const r = await open.execute('payments.initiate', { amount: 1 });
      expect(r).toMatchObject({ decision: 'ALLOW', reason: 'gateway unreachable (fail-open)' });
      const row = await store().query('SELECT decision, reason FROM provably_decisions WHERE id = $1', [
        r.eventId,
      ]);
      expect(row.rows).toEqual([{ decision: 'ALLOW', reason: 'gateway unreachable (fail-open)' }]);
      handler = json(201, { eventId: '00000000-0000-4000-8000-000000000002' });
      await open.close(); // pushes the queued fail-open event
      const pushed = seen.filter((s) => s.path === '/v1/events').at(-1);
      expect(JSON.parse(pushed?.body ?? '{}')).toMatchObject({
        kind: 'fail_open',
        agentId: 'billing-agent',
        action: 'payments.initiate',
        params: { amount: 1 },
      });
      handler = h;
    }
    server.closeAllConnections(); // the never-answering requests
  });

  it('an escalation kept pending long past its expiry fails closed instead of waiting forever', async () => {
    const esc = '00000000-0000-4000-8000-0000000000e3';
    handler = json(200, {
      id: esc,
      status: 'pending',
      eventId: '00000000-0000-4000-8000-000000000004',
      action: 'a',
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    const g = make('open');
    const e = (await failure(g.awaitEscalation(esc))) as GatewayError;
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.message).toMatch(/still pending long after its expiry/);
    await g.close();
  });

  it('close() during a request in open mode: GatewayError, never a fail-open ALLOW', async () => {
    handler = () => {}; // never answers
    const g = make('open', 10_000);
    const pending = failure(g.execute('payments.initiate', { amount: 3 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await g.close();
    const e = (await pending) as GatewayError;
    expect(e).toBeInstanceOf(GatewayError);
    expect(e.message).toMatch(/closed while deciding/);
    const rows = await store().query(
      `SELECT 1 FROM provably_decisions WHERE org_id = 'broken-org' AND params @> '{"amount":3}'::jsonb`,
    );
    expect(rows.rows).toHaveLength(0);
    server.closeAllConnections();
  });

  it('an escalation answer about another id fails closed', async () => {
    const esc = '00000000-0000-4000-8000-0000000000e1';
    handler = (req, _b, res) => {
      if (req.url?.startsWith('/v1/execute')) {
        return json(200, {
          decision: 'ESCALATE',
          reason: 'human',
          action: 'a',
          eventId: '00000000-0000-4000-8000-000000000003',
          sessionId: null,
          policyVersion: 'v',
          mode: 'enforce',
          escalationId: esc,
          escalationStatus: 'pending',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        })(req, _b, res);
      }
      return json(200, {
        id: '00000000-0000-4000-8000-0000000000e2',
        status: 'approved',
        eventId: 'e',
        action: 'a',
        expiresAt: new Date().toISOString(),
      })(req, _b, res);
    };
    const g = make('open');
    await expect(g.execute('a', {})).rejects.toBeInstanceOf(GatewayError);
    expect(seen.at(-1)?.path).toBe(`/v1/escalations/${esc}?wait=55`);
    await g.close();
  });
});
