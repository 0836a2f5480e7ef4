import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { addTrustedEndpoint, getDefaultStore, interceptContext, setInterceptUrlAllowlist } from '../../dist/index.js';
import { fetchOnce, latency } from '../fixtures/load.mjs';
import { startServer } from '../fixtures/harness.mjs';
import { percentile } from '../stats.mjs';
const server = await startServer();
const url = `http://127.0.0.1:${server.port}/small`;
const store = getDefaultStore();
await addTrustedEndpoint(`http://127.0.0.1:${server.port}/{rest:path}`, { store });
const S = { agentId: 'a', actionName: 'b' };
const ins = () => store.query('INSERT INTO provably_intercepts (id, org_id, agent_id, action_name, method, url, started_at, request_headers, response_headers, response_body) VALUES ($1,$2,$3,$4,$5,$6,$7,$8::text::jsonb,$9::text::jsonb,$10)', [randomUUID(),'o','x','y','GET',url,new Date(), '{"accept":"*/*","user-agent":"node"}', '{"content-type":"application/json","content-length":"52"}', Buffer.alloc(52, 1)]);
const ops = {
  raw: () => fetchOnce(url),
  insert: ins,
  fetchThenInsert: async () => { await fetchOnce(url); await ins(); },
  scopedUnrecorded: () => { setInterceptUrlAllowlist(['http://example.com/']); return interceptContext(S, () => fetchOnce(url)).finally(() => setInterceptUrlAllowlist(null)); },
  recorded: () => interceptContext(S, () => fetchOnce(url)),
};
for (const op of Object.values(ops)) await latency(200, op);
const res = Object.fromEntries(Object.keys(ops).map(k => [k, []]));
for (let r = 0; r < 6; r++) for (const [k, op] of Object.entries(ops)) res[k].push(percentile(await latency(300, op), 50));
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(18), percentile(v, 50).toFixed(3), v.map(x => x.toFixed(3)).join(' '));
await server.stop(); process.exit(0);
