import http from 'node:http';
import { trace } from '@opentelemetry/api';
const s = http.createServer((q,r)=>r.end('hi')).listen(0,'127.0.0.1', async () => {
  const u = `http://127.0.0.1:${s.address().port}/`;
  const t = trace.getTracer('x'); const sp = t.startSpan('manual'); console.log('manual span', sp.spanContext(), sp.constructor.name); sp.end();
  for (let i=0;i<3;i++) await (await fetch(u)).text();
  console.log('spans', globalThis.__benchBetweenRounds());
  s.close();
});
