import dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { addTrustedEndpoint, getDefaultStore, interceptContext } from '../../dist/index.js';
import { fetchOnce } from '../fixtures/load.mjs';
import { startServer } from '../fixtures/harness.mjs';
import { percentile } from '../stats.mjs';
const server = await startServer();
const url = `http://127.0.0.1:${server.port}/small`;
const store = getDefaultStore();
await addTrustedEndpoint(`http://127.0.0.1:${server.port}/{rest:path}`, { store });
const S = { agentId: 'a', actionName: 'b' };
let cur = null;
dc.subscribe('undici:request:create', () => { if (cur) cur.create = performance.now(); });
dc.subscribe('undici:client:sendHeaders', () => { if (cur) cur.sent = performance.now(); });
dc.subscribe('undici:request:headers', () => { if (cur) cur.headers = performance.now(); });
dc.subscribe('undici:request:trailers', () => { if (cur) cur.wireEnd = performance.now(); });
const q = store.query.bind(store);
store.query = async (sql, params) => {
  const isRec = cur && sql.startsWith('INSERT INTO provably_intercepts');
  if (isRec) cur.insStart = performance.now();
  const r = await q(sql, params);
  if (isRec) cur.insEnd = performance.now();
  return r;
};
const phases = { toCreate: [], toSent: [], toHeaders: [], toWireEnd: [], wireEndToInsert: [], insert: [], insertToEnd: [], total: [], rawInsert: [] };
async function one(rec) {
  cur = { t0: performance.now() };
  if (rec) await interceptContext(S, () => fetchOnce(url)); else await fetchOnce(url);
  const c = cur; c.end = performance.now(); cur = null;
  return c;
}
for (let i = 0; i < 300; i++) await one(true);
for (let i = 0; i < 1000; i++) {
  const c = await one(true);
  phases.toCreate.push(c.create - c.t0); phases.toSent.push(c.sent - c.t0); phases.toHeaders.push(c.headers - c.t0);
  phases.toWireEnd.push(c.wireEnd - c.t0); phases.wireEndToInsert.push(c.insStart - c.wireEnd);
  phases.insert.push(c.insEnd - c.insStart); phases.insertToEnd.push(c.end - c.insEnd); phases.total.push(c.end - c.t0);
  const t = performance.now(); await q('INSERT INTO provably_intercepts (org_id, agent_id, action_name, method, url, started_at) VALUES ($1,$2,$3,$4,$5,$6)', ['o','x','y','GET',url,new Date()]); phases.rawInsert.push(performance.now() - t);
}
const raw = []; for (let i = 0; i < 1000; i++) { const c = await one(false); raw.push(c.end - c.t0); }
const rawPh = { toSent: [], toWireEnd: [] };
for (const [k, v] of Object.entries(phases)) console.log(k.padEnd(16), percentile(v, 50).toFixed(3));
console.log('raw total'.padEnd(16), percentile(raw, 50).toFixed(3));
await server.stop(); process.exit(0);
