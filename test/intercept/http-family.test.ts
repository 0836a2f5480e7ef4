/**
 * Global fetch (Node's bundled undici and its global dispatcher: this file imports no undici
 * package) and the node:http family — http, https, axios, got, node-fetch — against real servers.
 */
import http from 'node:http';
import https from 'node:https';
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import {
  BR_BYTES,
  bigBody,
  type CountingServer,
  GZIP_BYTES,
  JSON_BODY,
  startCountingServer,
} from '../helpers/counting-server.js';
import { header, inScope, MemoryRecorder, ORG, resolveScope, SetGate, storeError } from './kit.js';

interface Reply {
  status: number;
  body: Buffer;
}
type Get = (url: string, method?: string) => Promise<Reply>;

let trusted: CountingServer;
let trustedTls: CountingServer;
let untrusted: CountingServer;
let untrustedTls: CountingServer;
let outside: CountingServer;
let httpsAgent: https.Agent;
const gate = new SetGate();
const recorder = new MemoryRecorder();
const diagLines: string[] = [];
let handle: InterceptionHandle;

function readAll(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function nodeRequest(
  mod: typeof http | typeof https,
  url: string,
  method = 'GET',
  extra: https.RequestOptions = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = mod.request(url, { method, ...extra }, (res) => {
      readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const clients: Record<string, { get: Get; tls: Get }> = {
  fetch: {
    get: async (url, method = 'GET') => {
      const res = await fetch(url, { method });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    },
    tls: async () => {
      throw new Error('global fetch cannot trust a test CA in-process (see process.test.ts)');
    },
  },
  http: {
    get: (url, method) => nodeRequest(http, url, method),
    tls: (url, method) => nodeRequest(https, url, method, { agent: httpsAgent }),
  },
  axios: {
    get: async (url, method = 'GET') => {
      const res = await axios.request({ url, method, responseType: 'arraybuffer', decompress: false });
      return { status: res.status, body: Buffer.from(res.data as ArrayBuffer) };
    },
    tls: async (url, method = 'GET') => {
      const res = await axios.request({
        url,
        method,
        responseType: 'arraybuffer',
        httpsAgent,
        decompress: false,
      });
      return { status: res.status, body: Buffer.from(res.data as ArrayBuffer) };
    },
  },
  got: {
    get: async (url, method = 'GET') => {
      const res = await got(url, { method: method as 'GET', responseType: 'buffer', decompress: false });
      return { status: res.statusCode, body: res.body };
    },
    tls: async (url, method = 'GET') => {
      const res = await got(url, {
        method: method as 'GET',
        responseType: 'buffer',
        decompress: false,
        agent: { https: httpsAgent },
      });
      return { status: res.statusCode, body: res.body };
    },
  },
  'node-fetch': {
    get: async (url, method = 'GET') => {
      const res = await nodeFetch(url, { method, compress: false });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    },
    tls: async (url, method = 'GET') => {
      const res = await nodeFetch(url, { method, compress: false, agent: httpsAgent });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    },
  },
};

/** The PROVABLY_BLOCKED error inside whatever the client wrapped it in. */
function blockedIn(err: unknown): ProvablyBlockedError | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; i++) {
    if (e instanceof ProvablyBlockedError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Refused by provably, as each client reports it (node-fetch keeps `code` and the message only). */
function isRefusal(err: unknown): boolean {
  if (blockedIn(err)) return true;
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === 'PROVABLY_BLOCKED' && String(message).includes('BLOCKED: ');
}

beforeAll(async () => {
  [trusted, trustedTls, untrusted, untrustedTls, outside] = await Promise.all([
    startCountingServer(),
    startCountingServer({ tls: true }),
    startCountingServer(),
    startCountingServer({ tls: true }),
    startCountingServer(),
  ]);
  httpsAgent = new https.Agent({ ca: trustedTls.ca, keepAlive: true });
  gate.trust(trusted.url, trustedTls.url);
  configureDiag({ level: 'info', sink: (line) => diagLines.push(line) });
  handle = installInterception({ gate, recorder, resolveScope, orgId: () => ORG });
});

afterAll(async () => {
  handle.uninstall();
  httpsAgent.destroy();
  await Promise.all([trusted, trustedTls, untrusted, untrustedTls, outside].map((s) => s.close()));
});

beforeEach(() => {
  recorder.reset();
  gate.pendingAnswers = 0;
  gate.failWith = undefined;
});

describe.each(Object.keys(clients))('%s', (name) => {
  const client = clients[name] as { get: Get; tls: Get };

  it('refuses an untrusted URL in scope before connecting: 0 connections, 0 bytes, code kept', async () => {
    const blockedBefore = handle.stats().blocked;
    const err = await inScope(() => client.get(`${untrusted.url}/json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRefusal(err)).toBe(true);
    const blocked = blockedIn(err);
    if (name !== 'node-fetch') {
      expect(blocked).toBeInstanceOf(ProvablyBlockedError);
      expect(blocked?.message).toMatch(/^BLOCKED: /);
      expect(blocked?.url).toBe(`${untrusted.url}/json`);
      expect(blocked?.agentId).toBe('agent-1');
      expect(blocked?.actionName).toBe('action-1');
    }
    if (name === 'fetch') {
      expect(err).toBeInstanceOf(TypeError);
      expect((err as TypeError).message).toBe('fetch failed');
      expect((err as TypeError).cause).toBe(blocked);
    } else if (name === 'http') {
      expect(err).toBe(blocked);
    } else {
      // axios, got, node-fetch: their own error type, code kept.
      expect(err).not.toBe(blocked);
      expect((err as { code?: string }).code).toBe('PROVABLY_BLOCKED');
    }
    expect(untrusted.connections).toBe(0);
    expect(untrusted.bytesReceived).toBe(0);
    expect(recorder.started).toHaveLength(0);
    expect(handle.stats().blocked).toBe(blockedBefore + 1);
    expect(diagLines.some((l) => l.includes('BLOCKED') && l.includes(untrusted.url))).toBe(true);
  });

  it('captures a trusted call in scope: method, url, status, headers, exact bytes', async () => {
    const reply = await inScope(() => client.get(`${trusted.url}/json?q=1`));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body.toString())).toEqual(JSON_BODY);
    await recorder.waitFor(1);
    const call = recorder.calls[0];
    expect(call?.request.method).toBe('GET');
    expect(call?.request.url).toBe(`${trusted.url}/json?q=1`);
    expect(call?.scope).toMatchObject({ orgId: ORG, agentId: 'agent-1', actionName: 'action-1' });
    expect(call?.status).toBe(200);
    expect(header(call?.headers, 'content-type')).toBe('application/json');
    expect(header(call?.headers, 'x-test')).toBe('yes');
    expect(header(call?.headers, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(call?.body.equals(Buffer.from(JSON.stringify(JSON_BODY)))).toBe(true);
    expect(call?.error).toBeUndefined();
  });

  it('captures gzip and br bodies as wire bytes (still encoded)', async () => {
    for (const path of ['/gzip', '/br']) {
      recorder.reset();
      const reply = await inScope(() => client.get(`${trusted.url}${path}`));
      await recorder.waitFor(1);
      const call = recorder.calls[0];
      expect(header(call?.headers, 'content-encoding')).toBe(path.slice(1));
      // Wire bytes, still encoded, whatever the client does with them afterwards.
      expect(call?.body.equals(path === '/gzip' ? GZIP_BYTES : BR_BYTES)).toBe(true);
      // fetch always decodes for its caller; the others were asked not to.
      if (name === 'fetch') expect(JSON.parse(reply.body.toString())).toEqual(JSON_BODY);
      else expect(reply.body.equals(call?.body ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('captures a 1 MiB body byte-exact', async () => {
    const reply = await inScope(() => client.get(`${trusted.url}/big?bytes=1048576`));
    await recorder.waitFor(1);
    const expected = bigBody(1048576);
    expect(reply.body.equals(expected)).toBe(true);
    expect(recorder.calls[0]?.body.equals(expected)).toBe(true);
  });

  it('over TLS: refuses untrusted with 0 connections, captures trusted', async () => {
    if (name === 'fetch') return; // covered in process.test.ts (needs NODE_EXTRA_CA_CERTS)
    const err = await inScope(() => client.tls(`${untrustedTls.url}/json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRefusal(err)).toBe(true);
    expect(untrustedTls.connections).toBe(0);
    expect(untrustedTls.bytesReceived).toBe(0);
    const reply = await inScope(() => client.tls(`${trustedTls.url}/json`));
    expect(reply.status).toBe(200);
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.request.url).toBe(`${trustedTls.url}/json`);
    expect(recorder.calls[0]?.body.equals(Buffer.from(JSON.stringify(JSON_BODY)))).toBe(true);
  });

  it('leaves unscoped calls alone: untrusted server reached, nothing asked, nothing recorded', async () => {
    const asked = gate.asked.length;
    const before = outside.requests;
    const reply = await client.get(`${outside.url}/json`);
    expect(reply.status).toBe(200);
    expect(outside.requests).toBe(before + 1);
    expect(gate.asked.length).toBe(asked);
    expect(recorder.started).toHaveLength(0);
  });

  it('waits for a gate that is still loading (promise answer), then decides', async () => {
    gate.pendingAnswers = 2;
    const reply = await inScope(() => client.get(`${trusted.url}/json`));
    expect(reply.status).toBe(200);
    gate.pendingAnswers = 2;
    const err = await inScope(() => client.get(`${untrusted.url}/json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isRefusal(err)).toBe(true);
    expect(untrusted.connections).toBe(0);
  });

  it('fails closed with the gate error when the gate fails: nothing sent', async () => {
    const failure = storeError();
    gate.failWith = failure;
    const err = await inScope(() => client.get(`${trusted.url}/json?gate=down`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    let found: unknown = err;
    for (let i = 0; i < 4 && found !== failure && found; i++) found = (found as { cause?: unknown }).cause;
    if (name === 'fetch' || name === 'http') expect(found).toBe(failure);
    expect((err as { code?: string }).code ?? (found as { code?: string })?.code).toBe(
      'PROVABLY_STORE_ERROR',
    );
    expect(trusted.log.some((r) => r.path === '/json?gate=down')).toBe(false);
    expect(recorder.started).toHaveLength(0);
  });
});

describe('every HTTP method is governed', () => {
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'];
  for (const client of ['fetch', 'http'] as const) {
    it(`${client}: all methods refused when untrusted, recorded with their method when trusted`, async () => {
      const get = (clients[client] as { get: Get }).get;
      for (const method of methods) {
        const err = await inScope(() => get(`${untrusted.url}/echo`, method)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(blockedIn(err), method).toBeInstanceOf(ProvablyBlockedError);
      }
      expect(untrusted.connections).toBe(0);
      for (const method of methods) await inScope(() => get(`${trusted.url}/echo`, method));
      await recorder.waitFor(methods.length);
      expect(recorder.calls.map((c) => c.request.method).sort()).toEqual([...methods].sort());
    });
  }
});

it('http: request headers set before sending are captured', async () => {
  await new Promise<void>((resolve, reject) => {
    inScope(() => {
      const req = http.request(
        `${trusted.url}/echo`,
        { method: 'POST', headers: { 'x-early': '1' } },
        (res) => {
          readAll(res).then(() => resolve(), reject);
        },
      );
      req.setHeader('x-late', '2');
      req.on('error', reject);
      req.end('payload');
    });
  });
  await recorder.waitFor(1);
  const call = recorder.calls[0];
  expect(header(call?.request.headers, 'x-early')).toBe('1');
  expect(header(call?.request.headers, 'x-late')).toBe('2');
});

it('http without an agent (createConnection) is governed by the fallback: no HTTP bytes', async () => {
  const net = await import('node:net');
  const fallbackBefore = handle.stats().fallback;
  const err = await new Promise<unknown>((resolve) => {
    inScope(() => {
      const req = http.request({
        host: '127.0.0.1',
        port: untrusted.port,
        path: '/json',
        createConnection: () => net.createConnection({ host: '127.0.0.1', port: untrusted.port }),
      });
      req.on('response', () => resolve(undefined));
      req.on('error', resolve);
      req.end();
    });
  });
  expect(err).toBeInstanceOf(ProvablyBlockedError);
  expect(handle.stats().fallback).toBe(fallbackBefore + 1);
  expect(untrusted.requests).toBe(0);
  expect(untrusted.bytesReceived).toBe(0); // the socket may have connected; nothing was written
});
