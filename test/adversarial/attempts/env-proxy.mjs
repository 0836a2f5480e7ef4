// Proxies taken from the environment at process start (NODE_USE_ENV_PROXY=1 with HTTP_PROXY /
// HTTPS_PROXY naming the UNTRUSTED target, set by the test for this child only).
import http from 'node:http';
import https from 'node:https';
import { call, text, undiciText } from '../kit/child-lib.mjs';

const attempts = [
  {
    id: 'env-node-use-env-proxy-http-get',
    description:
      'NODE_USE_ENV_PROXY=1 HTTP_PROXY=untrusted: http.get(trusted) goes absolute-form to the proxy',
    run: (c) => call(http, `${c.TR}/env`),
  },
  {
    id: 'env-node-use-env-proxy-fetch',
    description: 'NODE_USE_ENV_PROXY=1 HTTP_PROXY=untrusted: global fetch(trusted)',
    run: (c) => text(fetch(`${c.TR}/env`)),
  },
  {
    id: 'env-node-use-env-proxy-https-get',
    description: 'NODE_USE_ENV_PROXY=1 HTTPS_PROXY=untrusted: https.get(trusted https) tunnels via CONNECT',
    needs: ['http', 'tls'],
    run: (c) => call(https, `${c.TRS}/env`, { rejectUnauthorized: false }),
  },
  {
    id: 'env-envhttpproxyagent-from-env',
    description: 'HTTP_PROXY=untrusted: undici 8 new EnvHttpProxyAgent() reads it, fetch(trusted)',
    run: async (c) => {
      const u = await import('undici');
      return text(u.fetch(`${c.TR}/env`, { dispatcher: new u.EnvHttpProxyAgent() }));
    },
  },
  {
    id: 'env-axios-http-proxy',
    description: 'HTTP_PROXY=untrusted from the start: axios.get(trusted)',
    run: async (c) => {
      const axios = (await import('axios')).default;
      const res = await axios.get(`${c.TR}/env`);
      return { status: res.status, body: String(res.data) };
    },
  },
  {
    id: 'env-undici7-envhttpproxyagent',
    description: 'HTTP_PROXY=untrusted: undici 7 EnvHttpProxyAgent + request(trusted)',
    run: async (c) => {
      const u = await import('undici7');
      return undiciText(u.request(`${c.TR}/env`, { dispatcher: new u.EnvHttpProxyAgent() }));
    },
  },
];

export default attempts.map((a) => ({ class: 'env-proxy', needs: ['http'], ...a }));
