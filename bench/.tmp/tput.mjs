import { performance } from 'node:perf_hooks';
import { addTrustedEndpoint, getDefaultStore, interceptContext } from '../../dist/index.js';
import { fetchOnce, throughput } from '../fixtures/load.mjs';
import { startServer } from '../fixtures/harness.mjs';
const server = await startServer();
const url = `http://127.0.0.1:${server.port}/small`;
const store = getDefaultStore();
await addTrustedEndpoint(`http://127.0.0.1:${server.port}/{rest:path}`, { store });
const S = { agentId: 'a', actionName: 'b' };
const sizes = [];
const q = store.query.bind(store);
store.query = async (sql, params) => { const t = performance.now(); const r = await q(sql, params); if (sql.startsWith('INSERT INTO provably_intercepts')) sizes.push([params.length / 20, performance.now() - t]); return r; };
const rec = () => interceptContext(S, () => fetchOnce(url));
await throughput(1000, 32, rec);
sizes.length = 0;
let prof;
if (process.env.PROF) { const { Session } = await import('node:inspector/promises'); prof = new Session(); prof.connect(); await prof.post('Profiler.enable'); await prof.post('Profiler.start'); }
const rps = await throughput(3000, 32, rec);
if (prof) { const { profile } = await prof.post('Profiler.stop'); (await import('node:fs')).writeFileSync(process.env.PROF, JSON.stringify(profile)); }
const n = sizes.length, rows = sizes.reduce((a, b) => a + b[0], 0), t = sizes.reduce((a, b) => a + b[1], 0);
console.log(`rps ${rps.toFixed(0)} inserts ${n} rows ${rows} avg batch ${(rows / n).toFixed(1)} avg insert ms ${(t / n).toFixed(2)} total insert ms ${t.toFixed(0)}`);
await server.stop(); process.exit(0);
