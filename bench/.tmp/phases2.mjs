import dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { addTrustedEndpoint, getDefaultStore, interceptContext, setInterceptUrlAllowlist } from '../../dist/index.js';
import { fetchOnce } from '../fixtures/load.mjs';
import { startServer } from '../fixtures/harness.mjs';
import { percentile } from '../stats.mjs';
const server = await startServer();
const url = `http://127.0.0.1:${server.port}/small`;
const store = getDefaultStore();
await addTrustedEndpoint(`http://127.0.0.1:${server.port}/{rest:path}`, { store });
const S = { agentId: 'a', actionName: 'b' };
let cur = null;
const mark = (k) => () => { if (cur) cur[k] = performance.now(); };
dc.subscribe('undici:request:create', mark('create'));
dc.subscribe('undici:client:sendHeaders', mark('sent'));
dc.subscribe('undici:request:headers', mark('headers'));
dc.subscribe('undici:request:trailers', mark('wireEnd'));
const variants = {
  raw: () => fetchOnce(url),
  scopeOnly: () => { setInterceptUrlAllowlist(['http://example.com/']); return interceptContext(S, () => fetchOnce(url)).finally(() => setInterceptUrlAllowlist(null)); },
  recorded: () => interceptContext(S, () => fetchOnce(url)),
};
const out = {};
for (let rep = 0; rep < 2; rep++) for (const [k, fn] of Object.entries(variants)) {
  const ph = { create: [], sent: [], headers: [], wireEnd: [], end: [] };
  for (let i = 0; i < 800; i++) {
    cur = { t0: performance.now() };
    await fn();
    const c = cur; cur = null; c.end = performance.now();
    for (const p of Object.keys(ph)) ph[p].push(c[p] - c.t0);
  }
  if (rep === 1) console.log(k.padEnd(10), Object.entries(ph).map(([p, v]) => `${p} ${percentile(v, 50).toFixed(3)}`).join('  '));
}
await server.stop(); process.exit(0);
