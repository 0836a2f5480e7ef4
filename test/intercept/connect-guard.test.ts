/**
 * The connection guard and the socket binding, against real servers that count connections and
 * bytes. Inside a scope, a socket to anything but a trusted endpoint's host:port (or a declared
 * proxy, or an allowed unix socket) is never opened; a governed request is never written on a
 * socket that goes somewhere other than its URL's origin; outside a scope nothing is touched.
 */
import { X509Certificate } from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { SocksProxyAgent } from 'socks-proxy-agent';
import * as undici from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configureDiag } from '../../src/diag/index.js';
import { ProvablyBlockedError } from '../../src/errors/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { type CountingServer, JSON_BODY, startCountingServer } from '../helpers/counting-server.js';
import {
  type CountingListener,
  httpOutcome,
  isBlocked,
  settled,
  socketOutcome,
  startUnixServer,
} from './egress-kit.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

const JSON_TEXT = JSON.stringify(JSON_BODY);
/** Node's own addRequest, captured before interception is installed (a module loaded before the preload). */
type AddRequest = (this: http.Agent, req: http.ClientRequest, options: object) => void;
const capturedAddRequest = (http.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;

let trusted: CountingServer;
let trusted2: CountingServer;
let trustedTls: CountingServer;
let untrusted: CountingServer;
let outside: CountingServer;
let allowedUnix: CountingListener & { path: string };
let otherUnix: CountingListener & { path: string };
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;

beforeAll(async () => {
  configureDiag({ level: 'error', sink: () => {} });
  [trusted, trusted2, trustedTls, untrusted, outside, allowedUnix, otherUnix] = await Promise.all([
    startCountingServer(),
    startCountingServer(),
    startCountingServer({ tls: true }),
    startCountingServer(),
    startCountingServer(),
    startUnixServer(),
    startUnixServer(),
  ]);
  gate.trust(trusted.url, trusted2.url, trustedTls.url);
  handle = installInterception({
    gate,
    recorder,
    resolveScope,
    orgId: () => ORG,
    egress: { unixSockets: [allowedUnix.path] },
  });
});

afterAll(async () => {
  handle.uninstall();
  await Promise.all(
    [trusted, trusted2, trustedTls, untrusted, outside, allowedUnix, otherUnix].map((s) => s.close()),
  );
});

beforeEach(() => recorder.reset());

/** Nothing reached the untrusted server: no connection, no byte, no request. */
async function untouched(server: CountingServer = untrusted): Promise<void> {
  await server.settle();
  expect(server.connections).toBe(0);
  expect(server.bytesReceived).toBe(0);
  expect(server.requests).toBe(0);
}

describe('connection guard (net.Socket#connect)', () => {
  it('refuses net.connect and tls.connect to an untrusted host:port inside a scope: 0 connections, 0 bytes', async () => {
    const before = handle.stats().connectionsBlocked;
    const plain = await inScope(() => socketOutcome(net.connect(untrusted.port, '127.0.0.1')));
    const secure = await inScope(() =>
      socketOutcome(tls.connect({ host: '127.0.0.1', port: untrusted.port, rejectUnauthorized: false })),
    );
    const byOptions = await inScope(() => socketOutcome(net.createConnection({ port: untrusted.port })));
    for (const outcome of [plain, secure, byOptions]) {
      expect(outcome).toBeInstanceOf(ProvablyBlockedError);
      expect((outcome as Error).message).toContain(`:${untrusted.port}`);
    }
    expect(handle.stats().connectionsBlocked).toBe(before + 3);
    await untouched();
  });

  it('lets scoped sockets reach a trusted endpoint host:port, and touches nothing outside a scope', async () => {
    expect(await inScope(() => socketOutcome(net.connect(trusted.port, '127.0.0.1')))).toBe('connected');
    // Another spelling of the same host is the same destination.
    expect(await inScope(() => socketOutcome(net.connect(trusted.port, '127.1')))).toBe('connected');
    const before = handle.stats().connectionsBlocked;
    expect(await socketOutcome(net.connect(outside.port, '127.0.0.1'))).toBe('connected');
    expect(handle.stats().connectionsBlocked).toBe(before);
    await outside.settle();
    expect(outside.connections).toBe(1);
  });

  it('refuses a custom DNS lookup inside a scope, even for a trusted host', async () => {
    const lookup: typeof dns.lookup = ((host: string, opts: object, cb: never) =>
      dns.lookup(host, opts, cb)) as typeof dns.lookup;
    const outcome = await inScope(() =>
      socketOutcome(net.connect({ host: 'localhost', port: untrusted.port, lookup })),
    );
    expect(outcome).toBeInstanceOf(ProvablyBlockedError);
    expect((outcome as Error).message).toContain('custom DNS lookup');
    await untouched();
  });

  it('unix sockets: only the allowed paths, inside a scope', async () => {
    const refused = await inScope(() => socketOutcome(net.connect(otherUnix.path)));
    expect(refused).toBeInstanceOf(ProvablyBlockedError);
    expect(await inScope(() => socketOutcome(net.connect(allowedUnix.path)))).toBe('connected');
    expect(otherUnix.connections).toBe(0);
    // A request over the allowed socket is recorded with the path as its peer.
    const res = await inScope(() =>
      httpOutcome(() => http.request(`${trusted.url}/json`, { socketPath: allowedUnix.path })),
    );
    expect(res).toEqual({ status: 200, body: 'unix' });
    await recorder.waitFor(1);
    expect(recorder.calls[0]?.peer).toMatchObject({ address: allowedUnix.path, port: null, proxy: null });
  });
});

describe('node:http shapes whose socket goes to an untrusted server: refused before connecting', () => {
  const url = () => `${trusted.url}/json`;
  class ElsewhereAgent extends http.Agent {
    override createConnection(): net.Socket {
      return net.connect(untrusted.port, '127.0.0.1');
    }
  }
  const shapes: Record<string, () => http.ClientRequest> = {
    'http.Agent({ port })': () =>
      http.request(url(), { agent: new http.Agent({ port: untrusted.port } as object) }),
    'socketPath on the request': () => http.request(url(), { socketPath: otherUnix.path }),
    'an Agent subclass createConnection': () => http.request(url(), { agent: new ElsewhereAgent() }),
    'agentless createConnection with a trusted Host header': () =>
      http.request({
        host: '127.0.0.1',
        port: untrusted.port,
        path: '/json',
        headers: { host: `127.0.0.1:${trusted.port}` },
        createConnection: () => net.connect(untrusted.port, '127.0.0.1'),
      }),
    'an agent with its own addRequest (agent-base 6 style) to the untrusted URL': () => {
      class OwnAddRequest extends http.Agent {
        addRequest(req: http.ClientRequest): void {
          req.onSocket(net.connect(untrusted.port, '127.0.0.1'));
        }
      }
      return http.request(`${untrusted.url}/json`, { agent: new OwnAddRequest() });
    },
    'an addRequest captured before the preload, to the untrusted URL': () => {
      const agent = new http.Agent();
      (agent as unknown as { addRequest: AddRequest }).addRequest = capturedAddRequest;
      return http.request(`${untrusted.url}/json`, { agent });
    },
    'socks-proxy-agent to an undeclared SOCKS server': () =>
      http.request(url(), { agent: new SocksProxyAgent(`socks5://127.0.0.1:${untrusted.port}`) }),
  };
  for (const [name, make] of Object.entries(shapes)) {
    it(name, async () => {
      const outcome = await inScope(() => httpOutcome(make));
      expect(isBlocked(outcome), String(outcome)).toBe(true);
      await untouched();
      expect(otherUnix.connections).toBe(0);
      // No row names an answer (a client that re-wraps the refusal may leave a failed attempt).
      expect(recorder.calls.filter((c) => c.status !== undefined || c.peer !== undefined)).toHaveLength(0);
    });
  }

  it('ws to an untrusted server', async () => {
    const outcome = await inScope(
      () =>
        new Promise((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${untrusted.port}/`);
          ws.on('error', resolve);
          ws.on('open', () => resolve('open'));
        }),
    );
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    await untouched();
  });

  it('undici: socketPath, custom connect and a Pool factory to an untrusted server', async () => {
    const dispatchers = [
      new undici.Client(trusted.url, { socketPath: otherUnix.path }),
      new undici.Client(trusted.url, {
        connect: (_opts: unknown, cb: (err: Error | null, s: net.Socket | null) => void) => {
          const s = net.connect(untrusted.port, '127.0.0.1');
          s.once('connect', () => cb(null, s));
          s.once('error', (e) => cb(e, null));
        },
      } as object),
      new undici.Pool(trusted.url, {
        factory: (_origin: unknown, opts: object) => new undici.Client(untrusted.url, opts),
      }),
    ];
    for (const dispatcher of dispatchers) {
      const outcome = await inScope(() =>
        settled(() => undici.request(`${trusted.url}/json`, { dispatcher }).then((r) => r.body.text())),
      );
      expect(isBlocked(outcome), String(outcome)).toBe(true);
      await dispatcher.close();
    }
    await untouched();
    expect(otherUnix.connections).toBe(0);
    expect(recorder.started.filter((c) => c.status !== undefined)).toHaveLength(0);
  });
});

describe('binding: a request is only written on a socket that goes to its origin', () => {
  // Both servers are trusted destinations, so the guard lets the sockets open: the binding is
  // what keeps a request for one from being answered (and recorded) by the other.
  it('node:http: an agent whose sockets go to another trusted server', async () => {
    const other = trusted2;
    class Redirecting extends http.Agent {
      override createConnection(): net.Socket {
        return net.connect(other.port, '127.0.0.1');
      }
    }
    const requestsBefore = other.requests;
    const bytesBefore = other.bytesReceived;
    const before = handle.stats().peerMismatches;
    const outcome = await inScope(() =>
      httpOutcome(() => http.request(`${trusted.url}/json`, { agent: new Redirecting() })),
    );
    expect(outcome).toBeInstanceOf(ProvablyBlockedError);
    expect((outcome as Error).message).toContain("not to the URL's origin");
    expect(handle.stats().peerMismatches).toBe(before + 1);
    await other.settle();
    expect(other.requests).toBe(requestsBefore);
    expect(other.bytesReceived).toBe(bytesBefore);
    expect(recorder.started).toHaveLength(0);
  });

  it('node:http: agents sharing sockets through a constant getName()', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agent.getName = () => 'shared';
    const first = await inScope(() => httpOutcome(() => http.request(`${trusted2.url}/json`, { agent })));
    expect(first).toEqual({ status: 200, body: JSON_TEXT });
    const requestsBefore = trusted2.requests;
    // The next request for `trusted` gets trusted2's idle socket from the pool.
    const second = await inScope(() => httpOutcome(() => http.request(`${trusted.url}/json`, { agent })));
    expect(isBlocked(second), String(second)).toBe(true);
    agent.destroy();
    await trusted2.settle();
    expect(trusted2.requests).toBe(requestsBefore);
    await recorder.waitFor(1);
    expect(recorder.calls.map((c) => c.request.url)).toEqual([`${trusted2.url}/json`]);
    expect(recorder.calls[0]?.peer).toMatchObject({ address: '127.0.0.1', port: trusted2.port, proxy: null });
  });

  it('node:http: an absolute-form request line on a socket that is not a proxy', async () => {
    const requestsBefore = trusted.requests;
    const outcome = await inScope(() =>
      httpOutcome(() =>
        http.request({ host: '127.0.0.1', port: trusted.port, path: `${trusted2.url}/json` }),
      ),
    );
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    await trusted.settle();
    expect(trusted.requests).toBe(requestsBefore);
    expect(recorder.started).toHaveLength(0);
  });

  it('undici: a custom connect to another trusted server is aborted before the request is written', async () => {
    const other = trusted2;
    const bytesBefore = other.bytesReceived;
    const requestsBefore = other.requests;
    const client = new undici.Client(trusted.url, {
      connect: (_opts: unknown, cb: (err: Error | null, s: net.Socket | null) => void) => {
        const s = net.connect(other.port, '127.0.0.1');
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
      },
    } as object);
    const outcome = await inScope(() =>
      settled(() => client.request({ path: '/json', method: 'GET' }).then((r) => r.body.text())),
    );
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    expect(String(outcome)).toContain("not to the URL's origin");
    await client.close();
    await other.settle();
    expect(other.requests).toBe(requestsBefore);
    expect(other.bytesReceived).toBe(bytesBefore);
    await new Promise((r) => setTimeout(r, 20));
    expect(recorder.calls).toHaveLength(0);
  });
});

describe('the record names the real peer', () => {
  it('plain and TLS, node:http and undici: address, port, certificate', async () => {
    const ca = trustedTls.ca as string;
    const cert = new X509Certificate(ca);
    const agent = new https.Agent({ ca });
    const dispatcher = new undici.Agent({ connect: { ca } });
    await inScope(async () => {
      expect(await httpOutcome(() => http.request(`${trusted.url}/json`))).toEqual({
        status: 200,
        body: JSON_TEXT,
      });
      expect(await httpOutcome(() => https.request(`${trustedTls.url}/json`, { agent }))).toEqual({
        status: 200,
        body: JSON_TEXT,
      });
      const res = await undici.request(`${trustedTls.url}/json`, { dispatcher });
      expect(await res.body.text()).toBe(JSON_TEXT);
    });
    await recorder.waitFor(3);
    agent.destroy();
    await dispatcher.close();
    const byUrl = new Map(recorder.calls.map((c) => [c.request.url, c]));
    expect(recorder.calls).toHaveLength(3);
    expect(byUrl.get(`${trusted.url}/json`)?.peer).toEqual({
      address: '127.0.0.1',
      port: trusted.port,
      protocol: 'http/1.1',
      tls: null,
      proxy: null,
    });
    const expectedTls = {
      certSha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
      subject: 'CN=127.0.0.1',
      subjectAltName: cert.subjectAltName,
    };
    for (const call of recorder.calls.filter((c) => c.request.url.startsWith('https:'))) {
      expect(call.peer).toEqual({
        address: '127.0.0.1',
        port: trustedTls.port,
        protocol: 'http/1.1',
        tls: expectedTls,
        proxy: null,
      });
    }
    expect(expectedTls.certSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('a handler keeps its first decision, but never bypasses the gate', () => {
  it('undici: a handler first dispatched outside a scope and reused inside one is checked, not recorded', async () => {
    const agent = new undici.Agent({ keepAliveTimeout: 10_000 });
    let settle: (v: unknown) => void = () => {};
    let status = 0;
    const handler = {
      onRequestStart() {},
      onResponseStart(_c: unknown, code: number) {
        status = code;
      },
      onResponseData() {},
      onResponseEnd() {
        settle(status);
      },
      onResponseError(_c: unknown, err: unknown) {
        settle(err);
      },
    };
    const use = (origin: string) =>
      new Promise((resolve) => {
        settle = resolve;
        agent.dispatch({ origin, path: '/json', method: 'GET' }, handler);
      });
    // First use outside any scope (to an untrusted server: its keep-alive socket stays open).
    expect(await use(outside.url)).toBe(200);
    // Reused inside a scope: to a trusted server it goes out, bound to its socket, unrecorded…
    expect(await inScope(() => use(trusted.url))).toBe(200);
    // …and to the untrusted server it is refused, although an open socket to it is pooled.
    const before = outside.requests;
    const refused = await inScope(() => use(outside.url));
    expect(refused).toBeInstanceOf(ProvablyBlockedError);
    expect(outside.requests).toBe(before);
    await agent.close();
    expect(recorder.started).toHaveLength(0);
  });
});
