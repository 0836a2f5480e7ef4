// GenAI tool spans (PROVABLY_SCOPE_FROM_GENAI=1) as the scope, the tracer taken at startup from a
// given copy of @opentelemetry/api (the runner's `scope` setting): the first attempt of the child
// is the process's first HTTP request.
import http from 'node:http';
import { call, text, undiciText } from '../kit/child-lib.mjs';

const attempts = [
  [
    'genai-first-request-fetch',
    'the first HTTP request of the process, from a GenAI tool span: fetch',
    (c) => text(fetch(`${c.T.url}/g`)),
  ],
  ['genai-http-get', 'http.get from a GenAI tool span', (c) => call(http, `${c.T.url}/g`)],
  [
    'genai-undici8-request',
    'undici 8 request from a GenAI tool span',
    async (c) => undiciText((await import('undici')).request(`${c.T.url}/g`)),
  ],
  [
    'genai-proxy-forgery',
    'undici 8 ProxyAgent(untrusted) + trusted URL from a GenAI tool span',
    async (c) => {
      const u = await import('undici');
      return text(u.fetch(`${c.TR}/g`, { dispatcher: new u.ProxyAgent(c.T.url) }));
    },
  ],
];

export default attempts.map(([id, description, run]) => ({
  id,
  class: 'genai-scope',
  description,
  run,
  needs: ['http'],
}));
