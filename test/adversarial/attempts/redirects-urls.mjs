// Redirects from the trusted server to the untrusted one (every status, every Location spelling,
// every client that follows), and spellings of the untrusted URL that a naive check might read
// as something else.
import http from 'node:http';
import { axiosText, call, text, undiciText } from '../kit/child-lib.mjs';

const undici8 = () => import('undici');
const axios = async () => (await import('axios')).default;

/** Follows redirects by the client's own means. */
const followers = {
  fetch: (url) => text(fetch(url)),
  'undici8-fetch': async (url) => text((await undici8()).fetch(url)),
  'undici8-redirect-interceptor': async (url) => {
    const u = await undici8();
    const dispatcher = new u.Agent().compose(u.interceptors.redirect({ maxRedirections: 3 }));
    return undiciText(u.request(url, { dispatcher }));
  },
  axios: async (url) => axiosText((await axios()).get(url)),
  got: async (url) => axiosText((await import('got')).default(url, { retry: { limit: 0 } })),
  'node-fetch': async (url) => text((await import('node-fetch')).default(url)),
};

const redirects = [];
for (const status of [301, 302, 303, 307, 308]) {
  for (const client of ['fetch', 'axios']) {
    redirects.push({
      id: `redirect-${status}-absolute-${client}`,
      description: `trusted ${status} → absolute untrusted URL, followed by ${client}`,
      run: (c) =>
        followers[client](`${c.TR}/redirect?status=${status}&to=${encodeURIComponent(`${c.T.url}/r`)}`),
    });
  }
}
for (const client of ['undici8-fetch', 'undici8-redirect-interceptor', 'got', 'node-fetch']) {
  redirects.push({
    id: `redirect-302-absolute-${client}`,
    description: `trusted 302 → absolute untrusted URL, followed by ${client}`,
    run: (c) => followers[client](`${c.TR}/redirect?status=302&to=${encodeURIComponent(`${c.T.url}/r`)}`),
  });
}
const spellings = {
  'protocol-relative': (c) => `//127.0.0.1:${c.T.http}/r`,
  'backslash-relative': (c) => `\\\\127.0.0.1:${c.T.http}/r`,
  'localhost-name': (c) => `http://localhost:${c.T.http}/r`,
  'chained-via-trusted': (c) => `${c.TR}/redirect?status=307&to=${encodeURIComponent(`${c.T.url}/r`)}`,
  'userinfo-trusted-looking': (c) => `http://127.0.0.1:${c.trustedPort}@127.0.0.1:${c.T.http}/r`,
};
for (const [name, to] of Object.entries(spellings)) {
  // fetch refuses URLs with credentials by itself (never reaching anything): not an attempt.
  for (const client of name.startsWith('userinfo') ? ['axios'] : ['fetch', 'axios']) {
    redirects.push({
      id: `redirect-${name}-${client}`,
      description: `trusted 302 → Location ${name}, followed by ${client}`,
      run: (c) => followers[client](`${c.TR}/redirect?status=302&to=${encodeURIComponent(to(c))}`),
    });
  }
}
redirects.push({
  id: 'redirect-trusted-tls-to-untrusted-http',
  description: 'trusted https 302 → untrusted http (downgrade), fetch with the trusted CA',
  run: async (c) => {
    const u = await undici8();
    const dispatcher = new u.Agent({ connect: { ca: c.trustedCa } });
    return text(
      u.fetch(`${c.TRS}/redirect?status=302&to=${encodeURIComponent(`${c.T.url}/r`)}`, { dispatcher }),
    );
  },
});

/** The untrusted origin spelled many ways; each through several clients. */
const hosts = {
  'ip-plain': (p) => `http://127.0.0.1:${p}/u`,
  'decimal-ipv4': (p) => `http://2130706433:${p}/u`,
  'hex-ipv4': (p) => `http://0x7f000001:${p}/u`,
  'octal-ipv4': (p) => `http://0177.0.0.1:${p}/u`,
  'short-ipv4': (p) => `http://127.1:${p}/u`,
  'ipv6-mapped-literal': (p) => `http://[::ffff:127.0.0.1]:${p}/u`,
  'ipv6-mapped-hex': (p) => `http://[::ffff:7f00:1]:${p}/u`,
  'percent-encoded-host': (p) => `http://%31%32%37.0.0.1:${p}/u`,
  'trailing-dot-localhost': (p) => `http://localhost.:${p}/u`,
  'upper-case-scheme-host': (p) => `HTTP://LOCALHOST:${p}/u`,
  'userinfo-trusted-port': (p, c) => `http://127.0.0.1:${c.trustedPort}@127.0.0.1:${p}/u`,
  'userinfo-plain': (p) => `http://user:secret@127.0.0.1:${p}/u`,
  'zero-padded-port': (p) => `http://127.0.0.1:000${p}/u`,
  'encoded-path-trusted-prefix': (p, c) => `http://127.0.0.1:${p}/${encodeURIComponent(c.TR)}/u`,
  'tab-in-host': (p) => `http://127.0.0.\t1:${p}/u`,
};
const urlClients = {
  fetch: (url) => text(fetch(url)),
  'http.get': (url) => call(http, url),
  'undici8-request': async (url) => undiciText((await undici8()).request(url)),
  axios: async (url) => axiosText((await axios()).get(url)),
};
const urls = [];
for (const [name, spell] of Object.entries(hosts)) {
  let clients = ['ip-plain', 'localhost'].includes(name)
    ? Object.keys(urlClients)
    : ['fetch', 'http.get', 'axios'];
  // fetch refuses URLs with credentials by itself (never reaching anything): not an attempt.
  if (name.startsWith('userinfo')) clients = clients.filter((k) => k !== 'fetch');
  for (const client of clients) {
    urls.push({
      id: `url-${name}-${client.replace('.', '-')}`,
      description: `${client}(${spell('PORT', { trustedPort: 'TRUSTED_PORT' })})`,
      run: (c) => urlClients[client](spell(c.T.http, c)),
    });
  }
}
urls.push({
  id: 'url-localhost-vs-127-undici8',
  description: 'undici 8 request to http://localhost:<untrusted port> (trusted is 127.0.0.1:<other port>)',
  run: async (c) => undiciText((await undici8()).request(`http://localhost:${c.T.http}/u`)),
});
urls.push({
  id: 'url-http-options-object',
  description: 'http.request({ protocol, hostname, port }) object form, no URL string at all',
  run: (c) => call(http, { protocol: 'http:', hostname: '127.0.0.1', port: c.T.http, path: '/u' }),
});
urls.push({
  id: 'url-http-url-object',
  description: 'http.request(new URL(untrusted)) — a URL object',
  run: (c) => call(http, new URL(`${c.T.url}/u`)),
});
urls.push({
  id: 'url-fetch-request-object',
  description: 'fetch(new Request(untrusted)) — a Request object',
  run: (c) => text(fetch(new Request(`${c.T.url}/u`))),
});

export default [
  ...redirects.map((a) => ({ class: 'redirects', needs: ['http'], ...a })),
  ...urls.map((a) => ({ class: 'url-spellings', needs: ['http'], ...a })),
];
