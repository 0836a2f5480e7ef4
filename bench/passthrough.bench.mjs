// P1 passthrough: what `--import provably/register` costs calls made OUTSIDE any provably scope.
//
// One load server (own process, 127.0.0.1, keep-alive, ≈ 60 B JSON) and one long-lived client
// process per variant, driven over IPC. Every round runs, for each measurement in turn, every
// variant back to back (order rotated each round): sequential fetch latency, fetch throughput
// at concurrency 32, sequential node:http latency (keep-alive agent). Blocks are short (well
// under a second) and rounds many, so the variants compared in one round ran within a
// fraction of a second of each other: the machine's slow swings hit them alike. Figures are
// medians over rounds; each ratio is the median of the per-round ratios against the
// no-preload client.
//
// Variants: no preload (baseline); a second no-preload client (A/A control: how far two
// identical processes differ here, i.e. the resolution of the ratios); provably preload; provably preload after one
// interceptContext (OpenTelemetry wired: an AsyncLocalStorage context manager is registered, as
// in an agent that uses scopes); OpenTelemetry instrumentation-undici alone
// (bench/fixtures/otel-undici.mjs), the usual way to observe fetch.
//
// Targets (provably preload vs none): fetch p50 ≤ 1.02×, fetch throughput (c = 32) ≥ 0.98×.
import { join } from 'node:path';
import { fixtures, indexUrl, registerPath, rotate, startClient, startServer } from './fixtures/harness.mjs';
import { fmt, median, medianCI, percentile, verdict } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_PASSTHROUGH_ROUNDS ?? 45);
const LAT_N = Number(process.env.BENCH_PASSTHROUGH_LATENCY_N ?? 250);
const TPUT_N = Number(process.env.BENCH_PASSTHROUGH_THROUGHPUT_N ?? 1500);
const CONCURRENCY = 32;
const P50_TARGET = 1.02;
const TPUT_TARGET = 0.98;

const client = join(fixtures, 'passthrough-client.mjs');
const VARIANTS = [
  { key: 'bare', name: 'node (no preload)', imports: [] },
  { key: 'bare2', name: 'node (no preload), a second identical client: A/A control', imports: [] },
  { key: 'provably', name: '--import provably/register', imports: [registerPath], provably: true },
  {
    key: 'wired',
    name: '--import provably/register, after one interceptContext (OTel context manager registered)',
    imports: [registerPath],
    provably: true,
    scopeOnce: true,
  },
  {
    key: 'otel',
    name: 'OpenTelemetry instrumentation-undici alone (ALS context manager, SimpleSpanProcessor, in-memory exporter)',
    imports: [join(fixtures, 'otel-undici.mjs')],
  },
];

const server = await startServer();
const clients = {};
try {
  for (const v of VARIANTS) {
    clients[v.key] = await startClient(v.key, client, {
      imports: v.imports,
      env: { BENCH_PORT: String(server.port), BENCH_PROVABLY_INDEX: v.provably ? indexUrl : undefined },
    });
    await clients[v.key].call({ op: 'setup', scopeOnce: v.scopeOnce === true });
  }
  for (const v of VARIANTS) await clients[v.key].call({ op: 'warm', n: 300 });

  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = Object.fromEntries(VARIANTS.map((v) => [v.key, {}]));
    const order = rotate(VARIANTS, r);
    for (const v of order) {
      const lat = await clients[v.key].call({ op: 'fetchLatency', n: LAT_N });
      round[v.key].fetchP50 = percentile(lat, 50);
      round[v.key].fetchP99 = percentile(lat, 99);
    }
    for (const v of order) {
      const t = await clients[v.key].call({ op: 'fetchThroughput', n: TPUT_N, concurrency: CONCURRENCY });
      round[v.key].rps = t.rps;
      round[v.key].cpuUs = t.cpuUs;
    }
    for (const v of order) {
      round[v.key].httpP50 = percentile(await clients[v.key].call({ op: 'httpLatency', n: LAT_N }), 50);
    }
    rounds.push(round);
    process.stderr.write(
      `passthrough: round ${r + 1}/${ROUNDS} ${VARIANTS.map((v) => `${v.key} ${fmt(round[v.key].fetchP50, 3)}ms ${fmt(round[v.key].rps, 0)}/s`).join(', ')}\n`,
    );
  }
  const info = {};
  for (const v of VARIANTS) info[v.key] = await clients[v.key].call({ op: 'info' });

  const med = (key, field) => median(rounds.map((r) => r[key][field]));
  const ratio = (key, field) => median(rounds.map((r) => r[key][field] / r.bare[field]));
  const range = (key, field) => {
    const [lo, hi] = medianCI(rounds.map((r) => r[key][field] / r.bare[field]));
    return `95% CI of the median ${fmt(lo)}–${fmt(hi)}`;
  };

  const rows = VARIANTS.map((v) =>
    [
      v.name,
      fmt(med(v.key, 'fetchP50'), 3),
      `${fmt(ratio(v.key, 'fetchP50'))}×`,
      fmt(med(v.key, 'fetchP99'), 3),
      fmt(med(v.key, 'rps'), 0),
      `${fmt(ratio(v.key, 'rps'))}×`,
      fmt(med(v.key, 'cpuUs'), 1),
      `${fmt(ratio(v.key, 'cpuUs'))}×`,
      fmt(med(v.key, 'httpP50'), 3),
      `${fmt(ratio(v.key, 'httpP50'))}×`,
    ].join(' | '),
  );

  const p50 = ratio('provably', 'fetchP50');
  const tput = ratio('provably', 'rps');
  const http = ratio('provably', 'httpP50');
  const wiredP50 = ratio('wired', 'fetchP50');
  const wiredTput = ratio('wired', 'rps');
  const wiredHttp = ratio('wired', 'httpP50');
  const st = info.provably.provably;
  const sanity = [];
  if (!st?.started) sanity.push('the provably client did not have provably started');
  if ((st?.recorded ?? 0) !== 0 || (st?.blocked ?? 0) !== 0)
    sanity.push('the provably client recorded/blocked calls');
  if (info.otel.spans === 0) sanity.push('instrumentation-undici made no spans');
  if (sanity.length > 0) {
    console.error(`passthrough bench: invalid run: ${sanity.join('; ')}`);
    process.exitCode = 1;
  }

  console.log(`## P1 passthrough (calls outside any scope)

${ROUNDS} interleaved rounds; per round, each measurement runs for every variant back to back (order rotated each round): ${LAT_N} sequential fetches, ${TPUT_N} fetches at concurrency ${CONCURRENCY}, ${LAT_N} sequential node:http GETs (keep-alive agent). Loopback server in its own process, ≈ 60 B JSON body read in full. Values are medians over rounds; ratios are medians of per-round ratios against the no-preload client. Node ${process.version}.

| variant | fetch p50 ms | vs none | fetch p99 ms | fetch req/s (c=${CONCURRENCY}) | vs none | client CPU µs/fetch (c=${CONCURRENCY}) | vs none | http p50 ms | vs none |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r} |`).join('\n')}

The machine is shared (other jobs run on its 2 cores): single rounds swing widely, so each ratio comes with a distribution-free 95 % confidence interval of its median. The A/A control (a second, identical no-preload client) shows how far two identical processes land apart on this machine: differences of that size are not the preload's. Client CPU per fetch (process.cpuUsage over the throughput run) is the steadiest view of what the preload itself costs.

Spans made by instrumentation-undici: ${info.otel.spans.toLocaleString('en-US')}; provably client: ${st?.recorded ?? '?'} recorded, ${st?.blocked ?? '?'} blocked (expected 0, 0).

Targets, \`--import provably/register\` vs no preload:
- fetch p50 ≤ ${P50_TARGET}× → ${fmt(p50)}× (${range('provably', 'fetchP50')}) **${verdict(p50 <= P50_TARGET)}**
- fetch throughput at concurrency ${CONCURRENCY} ≥ ${TPUT_TARGET}× → ${fmt(tput)}× (${range('provably', 'rps')}) **${verdict(tput >= TPUT_TARGET)}**
- node:http p50, same bound ≤ ${P50_TARGET}× → ${fmt(http)}× (${range('provably', 'httpP50')}) **${verdict(http <= P50_TARGET)}**

With OpenTelemetry wired by an earlier scope (informational, same bounds): fetch p50 ${fmt(wiredP50)}× ${verdict(wiredP50 <= P50_TARGET)}, throughput ${fmt(wiredTput)}× ${verdict(wiredTput >= TPUT_TARGET)}, node:http p50 ${fmt(wiredHttp)}× ${verdict(wiredHttp <= P50_TARGET)}. instrumentation-undici alone: fetch p50 ${fmt(ratio('otel', 'fetchP50'))}×, throughput ${fmt(ratio('otel', 'rps'))}×.
`);
} finally {
  for (const c of Object.values(clients)) await c.close();
  await server.stop();
}
