// Code loaded BEFORE the preload (kit/capture.mjs, an earlier --import) kept references to the
// originals: calling them later, inside a scope, must still be governed.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { call, text, undiciText } from '../kit/child-lib.mjs';

const cap = () => {
  if (!globalThis.__advCaptured) throw new Error('kit/capture.mjs was not loaded before the preload');
  return globalThis.__advCaptured;
};

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () =>
      socket.write('hello', () => {
        socket.destroy();
        resolve({ status: 0, body: 'connected' });
      }),
    );
  });
}

const attempts = [
  {
    id: 'pre-captured-addrequest',
    description: 'an Agent subclass whose addRequest is the original captured before the preload',
    run: (c) => {
      class Early extends http.Agent {}
      Early.prototype.addRequest = cap().addRequest;
      return call(http, `${c.T.url}/p`, { agent: new Early() });
    },
  },
  {
    id: 'pre-captured-addrequest-trusted-url',
    description: 'captured addRequest on an agent with port: untrusted, request to the trusted URL',
    run: (c) => {
      class Early extends http.Agent {}
      Early.prototype.addRequest = cap().addRequest;
      return call(http, `${c.TR}/p`, { agent: new Early({ port: c.T.http }) });
    },
  },
  {
    id: 'pre-captured-http-request',
    description: 'http.request captured before the preload',
    run: (c) => call({ request: cap().httpRequest }, `${c.T.url}/p`),
  },
  {
    id: 'pre-captured-agent-instance',
    description: 'a keep-alive http.Agent constructed before the preload',
    run: (c) => call(http, `${c.T.url}/p`, { agent: cap().httpAgent }),
  },
  {
    id: 'pre-captured-net-connect',
    description: 'net.connect captured before the preload',
    run: (c) => connected(cap().netConnect(c.T.http, '127.0.0.1')),
  },
  {
    id: 'pre-captured-socket-connect',
    description: 'net.Socket.prototype.connect captured before the preload, called on a new socket',
    run: (c) => connected(cap().socketConnect.call(new net.Socket(), c.T.http, '127.0.0.1')),
  },
  {
    id: 'pre-captured-tls-connect',
    description: 'tls.connect captured before the preload',
    needs: ['tls'],
    run: (c) =>
      new Promise((resolve, reject) => {
        const s = cap().tlsConnect({ port: c.T.tls, host: '127.0.0.1', rejectUnauthorized: false });
        s.once('error', reject);
        s.once('secureConnect', () => {
          s.destroy();
          resolve({ status: 0, body: 'tls connected' });
        });
      }),
  },
  {
    id: 'pre-captured-global-fetch',
    description: 'globalThis.fetch captured before the preload',
    run: (c) => text(cap().fetch(`${c.T.url}/p`)),
  },
  {
    id: 'pre-imported-undici8-request',
    description: 'undici 8 imported before the preload: request()',
    run: (c) => undiciText(cap().undici8.request(`${c.T.url}/p`)),
  },
  {
    id: 'pre-imported-undici8-agent',
    description: 'undici 8 Agent constructed before the preload',
    run: (c) => undiciText(cap().undici8.request(`${c.T.url}/p`, { dispatcher: cap().undici8Agent })),
  },
  {
    id: 'pre-imported-undici7-request',
    description: 'undici 7 imported before the preload: request()',
    run: (c) => undiciText(cap().undici7.request(`${c.T.url}/p`)),
  },
  {
    id: 'pre-imported-undici7-agent-dispatch',
    description: 'undici 7 Agent built before the preload, its dispatch() called directly',
    run: (c) => undiciText(cap().undici7.request(`${c.T.url}/p`, { dispatcher: cap().undici7Agent })),
  },
  {
    id: 'pre-imported-undici7-compose',
    description: 'undici 7 compose()d dispatcher built from an Agent made before the preload',
    run: (c) => {
      const u = cap().undici7;
      const d = cap().undici7Agent.compose(u.interceptors.retry({ maxRetries: 0 }));
      return undiciText(u.request(`${c.T.url}/p`, { dispatcher: d }));
    },
  },
  {
    id: 'pre-captured-tls-socket-proto',
    description: 'tls.TLSSocket over a socket connected with the captured Socket.prototype.connect',
    needs: ['tls'],
    run: (c) =>
      new Promise((resolve, reject) => {
        const raw = cap().socketConnect.call(new net.Socket(), c.T.tls, '127.0.0.1');
        const s = tls.connect({ socket: raw, rejectUnauthorized: false });
        s.once('error', reject);
        raw.once('error', reject);
        s.once('secureConnect', () => {
          s.destroy();
          resolve({ status: 0, body: 'tls connected' });
        });
      }),
  },
];

export default attempts.map((a) => ({ class: 'loaded-before-preload', needs: ['http'], ...a }));
