// postHandoff against a real local HTTP server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProvablyConfigError } from '../../src/errors/index.js';
import {
  canonicalPayloadJson,
  type HandoffPayload,
  MAX_BODY_EXCERPT_CHARS,
  ProvablyHandoffPostError,
  ProvablyHandoffSchemaError,
  postHandoff,
} from '../../src/handoff/index.js';
import { claimAbout, payloadOf, recordCall, setup } from '../eval/fixture-ledger.js';

/** No unpaired surrogate (String.prototype.isWellFormed is ES2024, past the project's lib). */
const isWellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let respond: (req: IncomingMessage, res: ServerResponse) => void;
let closedEarly = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(parts).toString('utf8'),
      });
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
      });
      respond(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"outcome":"PASS"}');
  };
});

function payload(): HandoffPayload {
  const { ledger } = setup();
  const call = recordCall(ledger, { body: { price: 1 } });
  return payloadOf([claimAbout(ledger, call, { json_path: '$.price', claimed_value: 1 })], {
    task: 'tâche ✓',
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('postHandoff', () => {
  it('POSTs the canonical JSON to {baseUrl}/handoffs/receive with the given headers', async () => {
    const p = payload();
    const result = await postHandoff(base, p, { headers: { 'x-api-key': 'k-123' } });
    expect(result).toEqual({ status: 200, body: { outcome: 'PASS' } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/handoffs/receive',
      body: canonicalPayloadJson(p),
    });
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(seen[0]?.headers['x-api-key']).toBe('k-123');
  });

  it('joins paths with or without a trailing slash and keeps the query', async () => {
    await postHandoff(`${base}/api/v2/`, payload());
    await postHandoff(new URL(`${base}/api?tenant=t1#frag`), payload());
    expect(seen.map((s) => s.url)).toEqual(['/api/v2/handoffs/receive', '/api/handoffs/receive?tenant=t1']);
  });

  it('returns a text or empty 2xx body as it is', async () => {
    respond = (_req, res) => {
      res.writeHead(202);
      res.end('accepted');
    };
    expect(await postHandoff(base, payload())).toEqual({ status: 202, body: 'accepted' });
    respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    expect(await postHandoff(base, payload())).toEqual({ status: 204, body: '' });
  });

  it('throws a typed error with the status and a 500-character body excerpt on non-2xx', async () => {
    const long = `invalid payload: ${'x'.repeat(2000)}`;
    respond = (_req, res) => {
      res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(long);
    };
    const err = (await rejection(postHandoff(base, payload()))) as ProvablyHandoffPostError;
    expect(err).toBeInstanceOf(ProvablyHandoffPostError);
    expect(err).toMatchObject({
      code: 'PROVABLY_HANDOFF_POST_FAILED',
      status: 422,
      url: `${base}/handoffs/receive`,
    });
    expect(err.bodyExcerpt).toBe(long.slice(0, MAX_BODY_EXCERPT_CHARS));
    expect(err.message).toContain('HTTP 422');
  });

  it('cuts multi-byte excerpts cleanly and does not download a huge error body', async () => {
    respond = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.write('€😀'.repeat(400));
      // Then an endless stream: the client must stop reading.
      const timer = setInterval(() => res.write('z'.repeat(64 * 1024)), 5);
      res.on('close', () => clearInterval(timer));
    };
    const before = closedEarly;
    const err = (await rejection(postHandoff(base, payload()))) as ProvablyHandoffPostError;
    expect(err.status).toBe(500);
    expect(err.bodyExcerpt.length).toBeLessThanOrEqual(MAX_BODY_EXCERPT_CHARS);
    expect(err.bodyExcerpt.length).toBeGreaterThan(MAX_BODY_EXCERPT_CHARS - 2);
    expect(isWellFormed(err.bodyExcerpt)).toBe(true);
    expect(err.bodyExcerpt.startsWith('€😀€😀')).toBe(true);
    await expect.poll(() => closedEarly).toBeGreaterThan(before);
  });

  it('does not follow redirects (headers such as API keys stay with the URL given)', async () => {
    respond = (req, res) => {
      if (req.url === '/elsewhere') {
        res.writeHead(200);
        res.end('followed');
        return;
      }
      res.writeHead(307, { location: '/elsewhere' });
      res.end('moved');
    };
    const err = (await rejection(
      postHandoff(base, payload(), { headers: { 'x-api-key': 'k' } }),
    )) as ProvablyHandoffPostError;
    expect(err).toMatchObject({ status: 307, bodyExcerpt: 'moved' });
    expect(seen.map((s) => s.url)).toEqual(['/handoffs/receive']);
  });

  it('throws with status null when no answer arrives, and redacts credentials in the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = (await rejection(
      postHandoff(`http://user:secret@127.0.0.1:${port}`, payload()),
    )) as ProvablyHandoffPostError;
    expect(err).toBeInstanceOf(ProvablyHandoffPostError);
    expect(err.status).toBeNull();
    expect(err.cause).toBeDefined();
    expect(err.message).not.toContain('secret');
    expect(err.url).toContain('[REDACTED]@');
  });

  it('validates the payload and the base URL before sending anything', async () => {
    const bad = payload() as unknown as Record<string, unknown>;
    delete bad.claims;
    expect(await rejection(postHandoff(base, bad as never))).toBeInstanceOf(ProvablyHandoffSchemaError);
    expect(await rejection(postHandoff('not a url', payload()))).toBeInstanceOf(ProvablyConfigError);
    expect(await rejection(postHandoff('ftp://127.0.0.1/', payload()))).toBeInstanceOf(ProvablyConfigError);
    expect(seen).toHaveLength(0);
  });

  it('uses the fetch it is given and passes the abort signal', async () => {
    const calls: [string, RequestInit | undefined][] = [];
    const fake: typeof fetch = async (input, init) => {
      calls.push([String(input), init]);
      return new Response('{"ok":true}', { status: 201, headers: { 'content-type': 'application/json' } });
    };
    const controller = new AbortController();
    expect(
      await postHandoff('https://receiver.example', payload(), { fetch: fake, signal: controller.signal }),
    ).toEqual({
      status: 201,
      body: { ok: true },
    });
    expect(calls[0]?.[0]).toBe('https://receiver.example/handoffs/receive');
    expect(calls[0]?.[1]?.signal).toBe(controller.signal);
    controller.abort();
    const err = (await rejection(
      postHandoff(base, payload(), { signal: controller.signal }),
    )) as ProvablyHandoffPostError;
    expect(err).toMatchObject({ status: null });
  });
});
