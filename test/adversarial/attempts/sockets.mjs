// Socket-destination tricks: the request names the trusted URL, the socket is made elsewhere
// (another port, a unix socket, a custom connection or lookup), or the request names the
// untrusted target in a way the gate may not read (Host header, ws).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { call, text, undiciText } from '../kit/child-lib.mjs';

const undici8 = () => import('undici');
const undici7 = () => import('undici7');

/** Answers once over `socket`, parsing the raw reply (for clients driven by hand). */
function rawGet(socket, host) {
  return new Promise((resolve, reject) => {
    let got = '';
    socket.on('error', reject);
    socket.on('data', (d) => (got += d));
    socket.on('end', () => resolve({ status: Number(got.split(' ')[1]), body: got.split('\r\n\r\n')[1] }));
    socket.write(`GET /x HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  });
}

const attempts = [
  {
    id: 'agent-port-option',
    description: 'http.get(trusted, { agent: new http.Agent({ port: untrusted }) }): agent options win',
    run: (c) => call(http, `${c.TR}/s`, { agent: new http.Agent({ port: c.T.http }) }),
  },
  {
    id: 'agent-host-port-keepalive',
    description: 'keep-alive Agent({ host: 127.0.0.1, port: untrusted }) for a trusted URL',
    run: (c) =>
      call(http, `${c.TR}/s`, {
        agent: new http.Agent({ keepAlive: true, host: '127.0.0.1', port: c.T.http }),
      }),
  },
  {
    id: 'agent-socketpath-option',
    description: 'http.get(trusted, { agent: new http.Agent({ socketPath: untrusted unix }) })',
    needs: ['unix'],
    run: (c) => call(http, `${c.TR}/s`, { agent: new http.Agent({ socketPath: c.T.unix }) }),
  },
  {
    id: 'request-socketpath-trusted-url',
    description: 'http.get(trusted, { socketPath: untrusted unix })',
    needs: ['unix'],
    run: (c) => call(http, `${c.TR}/s`, { socketPath: c.T.unix }),
  },
  {
    id: 'request-socketpath-only',
    description: 'http.request({ socketPath: untrusted unix, path: /x }) — no host at all',
    needs: ['unix'],
    run: (c) => call(http, { socketPath: c.T.unix, path: '/x' }),
  },
  {
    id: 'request-socketpath-host-header',
    description: 'http.request({ socketPath, headers: { host: trusted } })',
    needs: ['unix'],
    run: (c) => call(http, { socketPath: c.T.unix, path: '/x', headers: { host: new URL(c.TR).host } }),
  },
  {
    id: 'agent-subclass-createconnection-net',
    description: 'an Agent subclass whose createConnection net.connect()s the untrusted port',
    run: (c) => {
      class Evil extends http.Agent {
        createConnection(_options, cb) {
          return net.connect(c.T.http, '127.0.0.1', cb);
        }
      }
      return call(http, `${c.TR}/s`, { agent: new Evil() });
    },
  },
  {
    id: 'agent-subclass-createconnection-tls',
    description: 'an https.Agent subclass whose createConnection tls.connect()s the untrusted TLS port',
    needs: ['tls'],
    run: (c) => {
      class Evil extends https.Agent {
        createConnection(_options, cb) {
          return tls.connect({ port: c.T.tls, host: '127.0.0.1', rejectUnauthorized: false }, cb);
        }
      }
      return call(https, `${c.TRS}/s`, { agent: new Evil(), rejectUnauthorized: false });
    },
  },
  {
    id: 'request-createconnection-agent-null',
    description: 'http.request(trusted, { agent: null, createConnection: () => net.connect(untrusted) })',
    run: (c) =>
      call(http, `${c.TR}/s`, { agent: null, createConnection: () => net.connect(c.T.http, '127.0.0.1') }),
  },
  {
    id: 'request-createconnection-no-agent',
    description:
      'http.request(trusted, { createConnection }) — no agent option: Node then uses no agent at all',
    run: (c) => call(http, `${c.TR}/s`, { createConnection: () => net.connect(c.T.http, '127.0.0.1') }),
  },
  {
    id: 'agent-getname-constant-reuse',
    description:
      'Agent with a constant getName(): a keep-alive socket to the untrusted server opened OUTSIDE the scope is reused by a scoped trusted request',
    outsideTraffic: true,
    outside: async (c) => {
      class Shared extends http.Agent {
        getName() {
          return 'one-pool';
        }
      }
      c.shared = new Shared({ keepAlive: true, maxSockets: 1 });
      return call(http, `${c.T.url}/outside`, { agent: c.shared });
    },
    run: (c) => call(http, `${c.TR}/in-scope`, { agent: c.shared }),
  },
  {
    id: 'two-agents-shared-free-sockets',
    description:
      "a scoped request on an agent whose freeSockets were copied from another agent's untrusted pool",
    outsideTraffic: true,
    outside: async (c) => {
      c.a1 = new http.Agent({ keepAlive: true });
      const r = await call(http, `${c.T.url}/outside`, { agent: c.a1 });
      await new Promise((res) => setTimeout(res, 20));
      return r;
    },
    run: (c) => {
      const a2 = new http.Agent({ keepAlive: true });
      const trustedName = a2.getName({ host: '127.0.0.1', port: c.trustedPort });
      a2.freeSockets[trustedName] = Object.values(c.a1.freeSockets).flat();
      c.a1.freeSockets = {};
      return call(http, `${c.TR}/in-scope`, { agent: a2 });
    },
  },
  {
    id: 'host-header-agentless',
    description: 'http.request(untrusted, { agent: false, headers: { host: trusted } })',
    run: (c) => call(http, `${c.T.url}/s`, { agent: false, headers: { host: new URL(c.TR).host } }),
  },
  {
    id: 'host-header-default-agent',
    description: 'http.request(untrusted, { headers: { host: trusted } }) through the global agent',
    run: (c) => call(http, `${c.T.url}/s`, { headers: { host: new URL(c.TR).host } }),
  },
  {
    id: 'host-header-setheader',
    description: "req.setHeader('host', trusted) after http.request(untrusted)",
    run: (c) =>
      new Promise((resolve, reject) => {
        const req = http.request(`${c.T.url}/s`, { agent: false }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode, body: b }));
        });
        req.setHeader('host', new URL(c.TR).host);
        req.on('error', reject);
        req.end();
      }),
  },
  {
    id: 'host-header-fetch',
    description: 'fetch(untrusted, { headers: { host: trusted } })',
    run: (c) => text(fetch(`${c.T.url}/s`, { headers: { host: new URL(c.TR).host } })),
  },
  {
    id: 'host-header-undici-request',
    description: 'undici.request(untrusted, { headers: { host: trusted } })',
    run: async (c) =>
      undiciText((await undici8()).request(`${c.T.url}/s`, { headers: { host: new URL(c.TR).host } })),
  },
  {
    id: 'ws-host-header',
    description: "new WebSocket(untrusted, { headers: { host: trusted } }) from the 'ws' package",
    run: async (c) => {
      const { WebSocket } = await import('ws');
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${c.T.http}/ws`, { headers: { host: new URL(c.TR).host } });
        ws.on('open', () => resolve({ status: 101, body: 'open' }));
        ws.on('unexpected-response', (_req, res) =>
          resolve({ status: res.statusCode, body: 'unexpected-response' }),
        );
        ws.on('error', reject);
      });
    },
  },
  {
    id: 'ws-plain',
    description: "new WebSocket(untrusted) from the 'ws' package",
    run: async (c) => {
      const { WebSocket } = await import('ws');
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${c.T.http}/ws`);
        ws.on('open', () => resolve({ status: 101, body: 'open' }));
        ws.on('unexpected-response', (_req, res) =>
          resolve({ status: res.statusCode, body: 'unexpected-response' }),
        );
        ws.on('error', reject);
      });
    },
  },
  {
    id: 'undici8-client-socketpath',
    description: 'undici 8 Client(trusted origin, { socketPath: untrusted unix })',
    needs: ['unix'],
    run: async (c) => {
      const u = await undici8();
      return undiciText(u.request(`${c.TR}/s`, { dispatcher: new u.Client(c.TR, { socketPath: c.T.unix }) }));
    },
  },
  {
    id: 'undici7-agent-socketpath',
    description: 'undici 7 Agent({ connect: { socketPath: untrusted unix } }) + fetch(trusted)',
    needs: ['unix'],
    run: async (c) => {
      const u = await undici7();
      return text(u.fetch(`${c.TR}/s`, { dispatcher: new u.Agent({ connect: { socketPath: c.T.unix } }) }));
    },
  },
  {
    id: 'undici8-custom-connect',
    description: 'undici 8 Agent({ connect(opts, cb) { net.connect(untrusted) } }) + request(trusted)',
    run: async (c) => {
      const u = await undici8();
      const connect = (_opts, cb) => {
        const s = net.connect(c.T.http, '127.0.0.1');
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
        return s;
      };
      return undiciText(u.request(`${c.TR}/s`, { dispatcher: new u.Agent({ connect }) }));
    },
  },
  {
    id: 'undici7-custom-connect',
    description: 'undici 7 Client(trusted, { connect: → untrusted })',
    run: async (c) => {
      const u = await undici7();
      const connect = (_opts, cb) => {
        const s = net.connect(c.T.http, '127.0.0.1');
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
        return s;
      };
      return undiciText(u.request(`${c.TR}/s`, { dispatcher: new u.Client(c.TR, { connect }) }));
    },
  },
  {
    id: 'undici8-pool-factory',
    description: 'undici 8 Agent({ factory: (_origin, opts) => new Pool(untrusted, opts) }) + fetch(trusted)',
    run: async (c) => {
      const u = await undici8();
      const dispatcher = new u.Agent({ factory: (_origin, opts) => new u.Pool(c.T.url, opts) });
      return text(u.fetch(`${c.TR}/s`, { dispatcher }));
    },
  },
  {
    id: 'undici7-pool-factory',
    description: 'undici 7 Pool(trusted, { factory: → Client(untrusted) })',
    run: async (c) => {
      const u = await undici7();
      const dispatcher = new u.Pool(c.TR, { factory: (_origin, opts) => new u.Client(c.T.url, opts) });
      return undiciText(u.request(`${c.TR}/s`, { dispatcher }));
    },
  },
  {
    id: 'undici8-pool-wrong-origin',
    description: 'undici 8 Pool(untrusted) asked for a path with origin trusted in request options',
    run: async (c) => {
      const u = await undici8();
      const pool = new u.Pool(c.T.url);
      return undiciText(pool.request({ origin: c.TR, path: '/s', method: 'GET' }));
    },
  },
  {
    id: 'http-lookup-trusted-name',
    description:
      "http.get('http://trusted.example:<untrusted port>') with a custom lookup answering 127.0.0.1",
    run: (c) =>
      call(http, `http://trusted.example:${c.T.http}/s`, {
        lookup: (_h, opts, cb) =>
          opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4),
      }),
  },
  {
    id: 'http-lookup-trusted-host-elsewhere',
    description:
      'http.get(trusted, { lookup }) where lookup is a no-op for 127.0.0.1 but port is overridden by agent',
    run: (c) =>
      call(http, `${c.TR}/s`, {
        agent: new http.Agent({ port: c.T.http }),
        lookup: (_h, opts, cb) =>
          opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4),
      }),
  },
  {
    id: 'undici8-connect-lookup',
    description:
      'undici 8 Agent({ connect: { lookup } }) resolving a made-up host to 127.0.0.1 (untrusted port)',
    run: async (c) => {
      const u = await undici8();
      const lookup = (_h, opts, cb) =>
        opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
      return undiciText(
        u.request(`http://trusted.example:${c.T.http}/s`, {
          dispatcher: new u.Agent({ connect: { lookup } }),
        }),
      );
    },
  },
  {
    id: 'request-createconnection-callback',
    description:
      'agentless http.request(trusted) whose createConnection hands an untrusted socket through its callback, later',
    run: (c) =>
      new Promise((resolve, reject) => {
        const createConnection = (_opts, cb) => {
          setTimeout(() => cb(null, net.connect(c.T.http, '127.0.0.1')), 5);
        };
        const req = http.request(`${c.TR}/s`, { createConnection });
        req.on('response', (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode, body: b }));
        });
        req.on('error', reject);
        req.end();
      }),
  },
  {
    id: 'raw-net-http-by-hand',
    description: 'net.connect(untrusted) and a hand-written HTTP request claiming the trusted Host',
    run: (c) => rawGet(net.connect(c.T.http, '127.0.0.1'), new URL(c.TR).host),
  },
];

export default attempts.map((a) => ({ class: 'socket-destination', needs: ['http'], ...a }));
