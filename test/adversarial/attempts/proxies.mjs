// Absolute-form targets and every proxy client: the URL a client DESCRIBES (a trusted one) is not
// where its socket goes (the untrusted target, acting as a forging forward proxy), and the
// opposite: a declared proxy asked to reach an untrusted target.
// Each attempt: { id, class, description, needs, run(c) } — see kit/runner.mjs for `c`.
import http from 'node:http';
import https from 'node:https';
import { axiosText, call, text, undiciText } from '../kit/child-lib.mjs';

const undici8 = () => import('undici');
const undici7 = () => import('undici7');
const axios = async () => (await import('axios')).default;

/** Absolute-form through an UNDECLARED proxy (the untrusted target) to a trusted URL. */
const viaUntrusted = [
  {
    id: 'abs-http-request-path',
    description: 'node:http request to the untrusted host with an absolute-form path naming the trusted URL',
    run: (c) => call(http, { host: '127.0.0.1', port: c.T.http, path: `${c.TR}/abs`, method: 'GET' }),
  },
  {
    id: 'abs-http-request-path-host-header',
    description: 'absolute-form path plus a Host header naming the trusted origin',
    run: (c) =>
      call(http, {
        host: '127.0.0.1',
        port: c.T.http,
        path: `${c.TR}/abs`,
        headers: { host: new URL(c.TR).host },
      }),
  },
  {
    id: 'abs-http-get-url-and-options',
    description: 'http.get(trustedUrl, { host, port: untrusted }) — options override the URL',
    run: (c) => call(http, `${c.TR}/abs`, { host: '127.0.0.1', port: c.T.http }),
  },
  {
    id: 'undici8-proxyagent-fetch',
    description: 'undici 8 ProxyAgent(untrusted) + fetch(trusted http URL): absolute-form by default',
    run: async (c) => {
      const u = await undici8();
      return text(u.fetch(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent(c.T.url) }));
    },
  },
  {
    id: 'undici8-proxyagent-request',
    description: 'undici 8 ProxyAgent(untrusted) + request(trusted http URL)',
    run: async (c) => {
      const u = await undici8();
      return undiciText(u.request(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent(c.T.url) }));
    },
  },
  {
    id: 'undici8-proxyagent-global-fetch',
    description: 'undici 8 ProxyAgent(untrusted) as dispatcher of the GLOBAL fetch',
    run: async (c) => {
      const u = await undici8();
      return text(fetch(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent(c.T.url) }));
    },
  },
  {
    id: 'undici8-proxytunnel-false',
    description: 'undici 8 ProxyAgent({ uri: untrusted, proxyTunnel: false }) + fetch(trusted)',
    run: async (c) => {
      const u = await undici8();
      return text(
        u.fetch(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent({ uri: c.T.url, proxyTunnel: false }) }),
      );
    },
  },
  {
    id: 'undici7-proxytunnel-false',
    description: 'undici 7 ProxyAgent({ uri: untrusted, proxyTunnel: false }) + fetch(trusted)',
    run: async (c) => {
      const u = await undici7();
      return text(
        u.fetch(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent({ uri: c.T.url, proxyTunnel: false }) }),
      );
    },
  },
  {
    id: 'undici7-proxyagent-tunnel',
    description:
      'undici 7 ProxyAgent(untrusted): CONNECT tunnel to the trusted origin through a forging proxy',
    run: async (c) => {
      const u = await undici7();
      return undiciText(u.request(`${c.TR}/abs`, { dispatcher: new u.ProxyAgent(c.T.url) }));
    },
  },
  {
    id: 'undici8-proxyagent-https-target',
    description: 'undici 8 ProxyAgent(untrusted) + https trusted target: CONNECT through a forging proxy',
    needs: ['http', 'tls'],
    run: async (c) => {
      const u = await undici8();
      const dispatcher = new u.ProxyAgent({ uri: c.T.url, requestTls: { rejectUnauthorized: false } });
      return undiciText(u.request(`${c.TRS}/abs`, { dispatcher }));
    },
  },
  {
    id: 'undici8-envhttpproxyagent',
    description: 'undici 8 EnvHttpProxyAgent({ httpProxy: untrusted }) + fetch(trusted)',
    run: async (c) => {
      const u = await undici8();
      return text(u.fetch(`${c.TR}/abs`, { dispatcher: new u.EnvHttpProxyAgent({ httpProxy: c.T.url }) }));
    },
  },
  {
    id: 'undici7-envhttpproxyagent',
    description: 'undici 7 EnvHttpProxyAgent({ httpProxy: untrusted }) + request(trusted)',
    run: async (c) => {
      const u = await undici7();
      return undiciText(
        u.request(`${c.TR}/abs`, { dispatcher: new u.EnvHttpProxyAgent({ httpProxy: c.T.url }) }),
      );
    },
  },
  {
    id: 'undici8-setglobaldispatcher-proxy',
    description:
      'undici 8 setGlobalDispatcher(ProxyAgent(untrusted)) then global fetch(trusted); restored after',
    run: async (c) => {
      const u = await undici8();
      const before = u.getGlobalDispatcher();
      u.setGlobalDispatcher(new u.ProxyAgent({ uri: c.T.url, proxyTunnel: false }));
      try {
        return await text(fetch(`${c.TR}/abs`));
      } finally {
        u.setGlobalDispatcher(before);
      }
    },
  },
  {
    id: 'undici8-socks5-proxyagent',
    description: 'undici 8 Socks5ProxyAgent(socks5://untrusted) + request(trusted)',
    run: async (c) => {
      const u = await undici8();
      return undiciText(
        u.request(`${c.TR}/abs`, { dispatcher: new u.Socks5ProxyAgent(`socks5://127.0.0.1:${c.T.http}`) }),
      );
    },
  },
  {
    id: 'axios-proxy-option',
    description: 'axios.get(trusted, { proxy: { host, port: untrusted } })',
    run: async (c) =>
      axiosText(
        (await axios()).get(`${c.TR}/abs`, {
          proxy: { protocol: 'http', host: '127.0.0.1', port: c.T.http },
        }),
      ),
  },
  {
    id: 'axios-http-proxy-env',
    description: 'process.env.HTTP_PROXY = untrusted at run time, then axios.get(trusted)',
    run: async (c) => {
      const saved = process.env.HTTP_PROXY;
      process.env.HTTP_PROXY = c.T.url;
      try {
        return await axiosText((await axios()).get(`${c.TR}/abs`));
      } finally {
        if (saved === undefined) delete process.env.HTTP_PROXY;
        else process.env.HTTP_PROXY = saved;
      }
    },
  },
  {
    id: 'axios-proxy-https-target',
    description: 'axios proxy option (plain HTTP proxy, absolute-form) for an https trusted URL',
    run: async (c) =>
      axiosText(
        (await axios()).get(`${c.TRS}/abs`, {
          proxy: { protocol: 'http', host: '127.0.0.1', port: c.T.http },
          httpsAgent: new https.Agent({ rejectUnauthorized: false }),
        }),
      ),
  },
  {
    id: 'http-proxy-agent',
    description: 'http.get(trusted, { agent: new HttpProxyAgent(untrusted) })',
    run: async (c) => {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      return call(http, `${c.TR}/abs`, { agent: new HttpProxyAgent(c.T.url) });
    },
  },
  {
    id: 'https-proxy-agent-https',
    description:
      'https.get(trusted https, { agent: new HttpsProxyAgent(untrusted) }): CONNECT on its own socket',
    needs: ['http', 'tls'],
    run: async (c) => {
      const { HttpsProxyAgent } = await import('https-proxy-agent');
      return call(https, `${c.TRS}/abs`, { agent: new HttpsProxyAgent(c.T.url), rejectUnauthorized: false });
    },
  },
  {
    id: 'https-proxy-agent-http',
    description: 'http.get(trusted http, { agent: new HttpsProxyAgent(untrusted) }): CONNECT for plain http',
    run: async (c) => {
      const { HttpsProxyAgent } = await import('https-proxy-agent');
      return call(http, `${c.TR}/abs`, { agent: new HttpsProxyAgent(c.T.url) });
    },
  },
  {
    id: 'socks-proxy-agent',
    description: 'http.get(trusted, { agent: new SocksProxyAgent(socks5://untrusted) })',
    run: async (c) => {
      const { SocksProxyAgent } = await import('socks-proxy-agent');
      return call(http, `${c.TR}/abs`, { agent: new SocksProxyAgent(`socks5://127.0.0.1:${c.T.http}`) });
    },
  },
  {
    id: 'got-http-proxy-agent',
    description: 'got(trusted, { agent: { http: new HttpProxyAgent(untrusted) } })',
    run: async (c) => {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      const got = (await import('got')).default;
      return axiosText(
        got(`${c.TR}/abs`, { agent: { http: new HttpProxyAgent(c.T.url) }, retry: { limit: 0 } }),
      );
    },
  },
  {
    id: 'node-fetch-http-proxy-agent',
    description: 'node-fetch(trusted, { agent: new HttpProxyAgent(untrusted) })',
    run: async (c) => {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      const nodeFetch = (await import('node-fetch')).default;
      return text(nodeFetch(`${c.TR}/abs`, { agent: new HttpProxyAgent(c.T.url) }));
    },
  },
];

/** Through the DECLARED egress proxy (PROVABLY_EGRESS_PROXIES) to an untrusted target. */
const viaDeclared = [
  {
    id: 'declared-undici8-proxyagent-untrusted',
    description: 'undici 8 ProxyAgent(declared proxy) + fetch(untrusted http): absolute-form to the proxy',
    run: async (c) => {
      const u = await undici8();
      return text(u.fetch(`${c.T.url}/x`, { dispatcher: new u.ProxyAgent(c.proxy) }));
    },
  },
  {
    id: 'declared-undici8-tunnel-untrusted-tls',
    description:
      'undici 8 ProxyAgent(declared proxy) + request(untrusted https): CONNECT to the untrusted target',
    needs: ['tls'],
    run: async (c) => {
      const u = await undici8();
      const dispatcher = new u.ProxyAgent({ uri: c.proxy, requestTls: { rejectUnauthorized: false } });
      return undiciText(u.request(`${c.T.tlsUrl}/x`, { dispatcher }));
    },
  },
  {
    id: 'declared-undici7-proxytunnel-false-untrusted',
    description: 'undici 7 ProxyAgent({ uri: declared, proxyTunnel: false }) + fetch(untrusted)',
    run: async (c) => {
      const u = await undici7();
      return text(
        u.fetch(`${c.T.url}/x`, { dispatcher: new u.ProxyAgent({ uri: c.proxy, proxyTunnel: false }) }),
      );
    },
  },
  {
    id: 'declared-undici7-tunnel-untrusted',
    description: 'undici 7 ProxyAgent(declared) + request(untrusted http): CONNECT tunnel to it',
    run: async (c) => {
      const u = await undici7();
      return undiciText(u.request(`${c.T.url}/x`, { dispatcher: new u.ProxyAgent(c.proxy) }));
    },
  },
  {
    id: 'declared-envhttpproxyagent-untrusted',
    description: 'undici 8 EnvHttpProxyAgent({ httpProxy: declared }) + fetch(untrusted)',
    run: async (c) => {
      const u = await undici8();
      return text(u.fetch(`${c.T.url}/x`, { dispatcher: new u.EnvHttpProxyAgent({ httpProxy: c.proxy }) }));
    },
  },
  {
    id: 'declared-http-proxy-agent-untrusted',
    description: 'http.get(untrusted, { agent: new HttpProxyAgent(declared) })',
    run: async (c) => {
      const { HttpProxyAgent } = await import('http-proxy-agent');
      return call(http, `${c.T.url}/x`, { agent: new HttpProxyAgent(c.proxy) });
    },
  },
  {
    id: 'declared-https-proxy-agent-untrusted',
    description: 'https.get(untrusted https, { agent: new HttpsProxyAgent(declared) }): CONNECT to it',
    needs: ['tls'],
    run: async (c) => {
      const { HttpsProxyAgent } = await import('https-proxy-agent');
      return call(https, `${c.T.tlsUrl}/x`, {
        agent: new HttpsProxyAgent(c.proxy, { rejectUnauthorized: false }),
      });
    },
  },
  {
    id: 'declared-axios-proxy-untrusted',
    description: 'axios.get(untrusted, { proxy: declared })',
    run: async (c) => {
      const p = new URL(c.proxy);
      return axiosText(
        (await axios()).get(`${c.T.url}/x`, {
          proxy: { protocol: 'http', host: p.hostname, port: Number(p.port) },
        }),
      );
    },
  },
  {
    id: 'declared-raw-absolute-form-untrusted',
    description: 'hand-written absolute-form request to the declared proxy naming the untrusted target',
    run: (c) => {
      const p = new URL(c.proxy);
      return call(http, { host: p.hostname, port: Number(p.port), path: `${c.T.url}/x` });
    },
  },
  {
    id: 'declared-connect-by-hand-untrusted',
    description:
      "http.request({ method: 'CONNECT', path: untrusted host:port }) to the declared proxy, then a request in the tunnel",
    run: (c) =>
      new Promise((resolve, reject) => {
        const p = new URL(c.proxy);
        const req = http.request({
          host: p.hostname,
          port: Number(p.port),
          method: 'CONNECT',
          path: `127.0.0.1:${c.T.http}`,
        });
        req.on('connect', (_res, socket) => {
          socket.on('error', reject);
          socket.write(`GET /x HTTP/1.1\r\nhost: 127.0.0.1:${c.T.http}\r\nconnection: close\r\n\r\n`);
          let got = '';
          socket.on('data', (d) => (got += d));
          socket.on('end', () =>
            resolve({ status: Number(got.split(' ')[1]), body: got.split('\r\n\r\n')[1] }),
          );
        });
        req.on('error', reject);
        req.end();
      }),
  },
];

export default [
  ...viaUntrusted.map((a) => ({ class: 'proxy-undeclared', needs: ['http'], ...a })),
  ...viaDeclared.map((a) => ({ class: 'proxy-declared', needs: ['http'], ...a })),
];
