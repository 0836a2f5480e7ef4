import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { addTrustedEndpoint, getDefaultStore, interceptContext, provablyStatus, setInterceptUrlAllowlist } from '../../dist/index.js';
import { fetchOnce, latency } from '../fixtures/load.mjs';
import { startServer } from '../fixtures/harness.mjs';
import { percentile } from '../stats.mjs';
const server = await startServer();
const port = server.port;
const url = `http://127.0.0.1:${port}/small`;
const store = getDefaultStore();
await addTrustedEndpoint(`http://127.0.0.1:${port}/{rest:path}`, { store });
const S = { agentId: 'a', actionName: 'b' };
const ops = {
  raw: () => fetchOnce(url),
  scopeNoop: () => interceptContext(S, async () => {}),
  insideNotRecorded: () => { setInterceptUrlAllowlist(['http://example.com/']); return interceptContext(S, () => fetchOnce(url)).finally(() => setInterceptUrlAllowlist(null)); },
  recorded: () => interceptContext(S, () => fetchOnce(url)),
  select1: () => store.query('SELECT 1'),
};
for (const op of Object.values(ops)) for (let i = 0; i < 300; i++) await op();
for (let r = 0; r < 3; r++) {
  const line = [];
  for (const [k, op] of Object.entries(ops)) line.push(`${k} ${percentile(await latency(400, op), 50).toFixed(3)}`);
  console.log(line.join('  '));
}
if (process.env.PROF) {
  const { Session } = await import('node:inspector/promises');
  const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 50 }); await s.post('Profiler.start');
  await latency(3000, ops[process.env.PROF_OP ?? "recorded"]);
  const { profile } = await s.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(process.env.PROF, JSON.stringify(profile));
}
console.log(provablyStatus());
await server.stop();
process.exit(0);
