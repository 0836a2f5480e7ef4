/**
 * Proxies as egress: through a DECLARED proxy (a real one: the `proxy` package) the target URL is
 * trust-checked and recorded with the proxy noted — plain-HTTP absolute-form requests and CONNECT
 * tunnels (whose TLS yields the target's certificate); an undeclared proxy is refused before it
 * is connected to; an untrusted target through a declared proxy is refused before anything is
 * sent. Clients: undici 8 ProxyAgent (tunnel and not) and EnvHttpProxyAgent, undici 7
 * ProxyAgent, http-proxy-agent, https-proxy-agent, axios `proxy`.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import axios from 'axios';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import * as undici from 'undici';
import * as undici7 from 'undici7';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import { installInterception } from '../../src/intercept/index.js';
import type { InterceptionHandle } from '../../src/intercept/types.js';
import { type CountingServer, JSON_BODY, startCountingServer } from '../helpers/counting-server.js';
import { type CountingListener, httpOutcome, isBlocked, settled, startProxy } from './egress-kit.js';
import { inScope, MemoryRecorder, ORG, resolveScope, SetGate } from './kit.js';

const JSON_TEXT = JSON.stringify(JSON_BODY);

let trusted: CountingServer;
let trustedTls: CountingServer;
let untrusted: CountingServer;
let declared: CountingListener;
let undeclared: CountingListener;
const gate = new SetGate();
const recorder = new MemoryRecorder();
let handle: InterceptionHandle;

beforeAll(async () => {
  configureDiag({ level: 'error', sink: () => {} });
  [trusted, trustedTls, untrusted, declared, undeclared] = await Promise.all([
    startCountingServer(),
    startCountingServer({ tls: true }),
    startCountingServer(),
    startProxy(),
    startProxy(),
  ]);
  gate.trust(trusted.url, trustedTls.url, trustedTls.url.replace('127.0.0.1', 'localhost'));
  handle = installInterception({
    gate,
    recorder,
    resolveScope,
    orgId: () => ORG,
    egress: { proxies: [declared.url] },
  });
});

afterAll(async () => {
  handle.uninstall();
  await Promise.all([trusted, trustedTls, untrusted, declared, undeclared].map((s) => s.close()));
});

beforeEach(() => recorder.reset());

async function untouched(): Promise<void> {
  await untrusted.settle();
  expect(untrusted.connections).toBe(0);
  expect(untrusted.bytesReceived).toBe(0);
  expect(undeclared.connections).toBe(0);
  expect(undeclared.bytesReceived).toBe(0);
}

type Get = (url: string, proxy: string) => Promise<string>;

const readBody = (res: { body: { text(): Promise<string> } }) => res.body.text();

/** Plain-HTTP targets through a proxy, client by client. */
const plainClients: Record<string, Get> = {
  'undici 8 ProxyAgent (absolute-form, its default for http:)': async (url, proxy) => {
    const dispatcher = new undici.ProxyAgent({ uri: proxy });
    try {
      return await undici.request(url, { dispatcher }).then(readBody);
    } finally {
      await dispatcher.close();
    }
  },
  'undici 8 ProxyAgent proxyTunnel:false': async (url, proxy) => {
    const dispatcher = new undici.ProxyAgent({ uri: proxy, proxyTunnel: false });
    try {
      return await undici.request(url, { dispatcher }).then(readBody);
    } finally {
      await dispatcher.close();
    }
  },
  'undici 8 ProxyAgent proxyTunnel:true (CONNECT, plain HTTP inside)': async (url, proxy) => {
    const dispatcher = new undici.ProxyAgent({ uri: proxy, proxyTunnel: true });
    try {
      return await undici.request(url, { dispatcher }).then(readBody);
    } finally {
      await dispatcher.close();
    }
  },
  'undici 8 EnvHttpProxyAgent': async (url, proxy) => {
    const dispatcher = new undici.EnvHttpProxyAgent({ httpProxy: proxy, httpsProxy: proxy, noProxy: '' });
    try {
      return await undici.request(url, { dispatcher }).then(readBody);
    } finally {
      await dispatcher.close();
    }
  },
  'undici 7 ProxyAgent proxyTunnel:false': async (url, proxy) => {
    const dispatcher = new undici7.ProxyAgent({ uri: proxy, proxyTunnel: false });
    try {
      return await undici7.request(url, { dispatcher }).then(readBody);
    } finally {
      await dispatcher.close();
    }
  },
  'http-proxy-agent': async (url, proxy) => {
    const agent = new HttpProxyAgent(proxy);
    try {
      const out = await httpOutcome(() => http.request(url, { agent }));
      if (out instanceof Error) throw out;
      return out.body;
    } finally {
      agent.destroy();
    }
  },
  'axios proxy option': async (url, proxy) => {
    const p = new URL(proxy);
    const res = await axios.get(url, {
      proxy: { protocol: 'http', host: p.hostname, port: Number(p.port) },
      responseType: 'text',
    });
    return String(res.data);
  },
};

describe('plain HTTP through a proxy', () => {
  for (const [name, get] of Object.entries(plainClients)) {
    describe(name, () => {
      it('declared proxy, trusted target: recorded as the target URL, peer = the proxy', async () => {
        expect(await inScope(() => get(`${trusted.url}/json`, declared.url))).toBe(JSON_TEXT);
        await recorder.waitFor(1);
        expect(recorder.calls).toHaveLength(1);
        const call = recorder.calls[0];
        expect(call?.request.url).toBe(`${trusted.url}/json`);
        expect(call?.body.toString()).toBe(JSON_TEXT);
        expect(call?.peer).toMatchObject({
          address: '127.0.0.1',
          port: declared.port,
          tls: null,
          proxy: declared.url,
        });
      });

      it('declared proxy, untrusted target: refused, the target is never reached', async () => {
        const outcome = await inScope(() => settled(() => get(`${untrusted.url}/json`, declared.url)));
        expect(isBlocked(outcome), String(outcome)).toBe(true);
        await untouched();
        expect(recorder.calls.filter((c) => c.status !== undefined)).toHaveLength(0);
      });

      it('undeclared proxy: refused before connecting to it', async () => {
        const outcome = await inScope(() => settled(() => get(`${trusted.url}/json`, undeclared.url)));
        expect(isBlocked(outcome), String(outcome)).toBe(true);
        await untouched();
        expect(recorder.calls.filter((c) => c.status !== undefined)).toHaveLength(0);
      });
    });
  }

  it('outside a scope, an undeclared proxy is used as usual', async () => {
    const agent = new HttpProxyAgent(undeclared.url);
    const before = undeclared.connections;
    const out = await httpOutcome(() => http.request(`${untrusted.url}/json`, { agent }));
    agent.destroy();
    expect(out).toEqual({ status: 200, body: JSON_TEXT });
    expect(undeclared.connections).toBe(before + 1);
    expect(recorder.started).toHaveLength(0);
    // Leave the servers as the other tests expect them: counted from here on.
    await untrusted.close();
    untrusted = await startCountingServer();
    await undeclared.close();
    undeclared = await startProxy();
  });
});

describe('CONNECT tunnels: TLS to the target through the proxy', () => {
  const tunnels: Record<string, (url: string, proxy: string, ca: string) => Promise<string>> = {
    // What the `tunnel` package does: a node:http CONNECT, then TLS over the tunnel socket.
    'node:http CONNECT + TLS over the tunnel': (url, proxy, ca) =>
      new Promise<string>((resolve, reject) => {
        const target = new URL(url);
        const p = new URL(proxy);
        const connect = http.request({
          host: p.hostname,
          port: Number(p.port),
          method: 'CONNECT',
          path: `${target.hostname}:${target.port}`,
          agent: false,
        });
        connect.on('connect', (res, socket) => {
          if (res.statusCode !== 200) {
            socket.destroy();
            reject(new Error(`proxy answered ${res.statusCode}`));
            return;
          }
          const req = https.request(
            url,
            { ca, createConnection: () => tls.connect({ socket, ca, host: target.hostname }) },
            (r) => {
              let body = '';
              r.setEncoding('utf8');
              r.on('data', (d: string) => {
                body += d;
              });
              r.on('end', () => resolve(body));
              r.on('error', reject);
            },
          );
          req.on('error', reject);
          req.end();
        });
        connect.on('error', reject);
        connect.end();
      }),
    'undici 8 ProxyAgent': async (url, proxy, ca) => {
      const dispatcher = new undici.ProxyAgent({ uri: proxy, requestTls: { ca } });
      try {
        return await undici.request(url, { dispatcher }).then(readBody);
      } finally {
        await dispatcher.close();
      }
    },
    'https-proxy-agent': async (url, proxy, ca) => {
      const agent = new HttpsProxyAgent(proxy);
      try {
        // The target's TLS options travel with the request (the agent's are for the proxy).
        const out = await httpOutcome(() => https.request(url, { agent, ca }));
        if (out instanceof Error) throw out;
        return out.body;
      } finally {
        agent.destroy();
      }
    },
  };
  // https-proxy-agent's CONNECT is written on its own socket (provably does not see it): the
  // tunnel is accepted because the TLS inside verified the URL's host NAME (it sends no name for
  // an IP literal, so the target is addressed as localhost here).
  const targetOf = (name: string) =>
    name === 'https-proxy-agent' ? trustedTls.url.replace('127.0.0.1', 'localhost') : trustedTls.url;
  for (const [name, get] of Object.entries(tunnels)) {
    it(`${name}: declared proxy, trusted target: recorded with the TARGET's certificate, proxy noted`, async () => {
      const ca = trustedTls.ca as string;
      const target = targetOf(name);
      expect(await inScope(() => get(`${target}/json`, declared.url, ca))).toBe(JSON_TEXT);
      await recorder.waitFor(1);
      const call = recorder.calls[0];
      expect(call?.request.url).toBe(`${target}/json`);
      const cert = new X509Certificate(ca);
      expect(call?.peer?.tls?.certSha256).toBe(cert.fingerprint256.replaceAll(':', '').toLowerCase());
      expect(call?.peer?.proxy).toBe(declared.url);
      expect(call?.peer?.port).toBe(declared.port);
    });

    it(`${name}: undeclared proxy: refused before connecting to it`, async () => {
      const outcome = await inScope(() =>
        settled(() => get(`${trustedTls.url}/json`, undeclared.url, trustedTls.ca as string)),
      );
      expect(isBlocked(outcome), String(outcome)).toBe(true);
      await untouched();
    });
  }

  it('https-proxy-agent to an IP literal: no verified host name inside the unseen tunnel, refused', async () => {
    const before = trustedTls.requests;
    const outcome = await inScope(() =>
      settled(
        () =>
          tunnels['https-proxy-agent']?.(
            `${trustedTls.url}/json`,
            declared.url,
            trustedTls.ca as string,
          ) as Promise<string>,
      ),
    );
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    expect(String(outcome)).toContain('without naming its target');
    await trustedTls.settle();
    expect(trustedTls.requests).toBe(before);
  });

  it('node:http CONNECT to an untrusted target is refused before the proxy is asked', async () => {
    const before = declared.connections;
    const outcome = await inScope(() =>
      settled(
        () =>
          tunnels['node:http CONNECT + TLS over the tunnel']?.(
            `${untrusted.url.replace('http:', 'https:')}/json`,
            declared.url,
            trustedTls.ca as string,
          ) as Promise<string>,
      ),
    );
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    expect(declared.connections).toBe(before);
    await untouched();
  });

  it('undici 8 ProxyAgent: a CONNECT to an untrusted target is refused before the proxy is asked', async () => {
    const dispatcher = new undici.ProxyAgent({ uri: declared.url, proxyTunnel: true });
    const outcome = await inScope(() =>
      settled(() => undici.request(`${untrusted.url}/json`, { dispatcher }).then(readBody)),
    );
    await dispatcher.close();
    expect(isBlocked(outcome), String(outcome)).toBe(true);
    await untouched();
  });
});
