// P2 / P3 recorded calls: what recording costs a fetch made inside a provably scope.
//
// One load server (own process, 127.0.0.1, ≈ 60 B JSON) and one client per store backend, each
// started with `--import dist/register.js` (bench/fixtures/recorded-client.mjs): PostgreSQL (a
// fresh database bench_recorded on the project's test server, scripts/pg-server.sh) and embedded
// PGlite (a fresh temporary data dir). The endpoint is registered as trusted in each store.
// Every round runs both clients (order rotated), each through, in rotated order:
//   sequential p50 of raw fetch (outside any scope), recorded fetch (interceptContext per call),
//   and one INSERT of a copy of a recorded row through the same store; for the analysis also
//   the scoped fetch with recording narrowed away (scope + trust check only) and a raw fetch
//   followed by the INSERT without provably (what two sequential round trips cost here);
//   then throughput at concurrency 32 of raw and of recorded fetches.
// Values are medians over rounds; ratios are medians of per-round ratios.
//
// Targets: P2 p50(recorded) − p50(raw) ≤ 1.2 × p50(INSERT), on PostgreSQL and on PGlite.
//          P3 recorded throughput (c = 32) ≥ 0.5 × raw throughput, on PostgreSQL (PGlite reported).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dropDatabase,
  fixtures,
  freshDatabase,
  postgresServerUrl,
  registerPath,
  rotate,
  startClient,
  startServer,
} from './fixtures/harness.mjs';
import { fmt, median, medianCI, percentile, verdict } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_RECORDED_ROUNDS ?? 12);
const LAT_N = Number(process.env.BENCH_RECORDED_LATENCY_N ?? 300);
const TPUT_N = Number(process.env.BENCH_RECORDED_THROUGHPUT_N ?? 2000);
const CONCURRENCY = 32;
const P2_TARGET = 1.2;
const P3_TARGET = 0.5;
const DB_NAME = 'bench_recorded';

const script = join(fixtures, 'recorded-client.mjs');
const pgServer = postgresServerUrl();
const dataDir = mkdtempSync(join(tmpdir(), 'provably-bench-recorded-'));
const backends = [];
if (pgServer) {
  backends.push({
    key: 'postgres',
    name: 'PostgreSQL',
    env: { PROVABLY_DATABASE_URL: await freshDatabase(pgServer, DB_NAME) },
  });
}
backends.push({ key: 'pglite', name: 'PGlite (embedded, on disk)', env: { PROVABLY_DATA_DIR: dataDir } });

const server = await startServer();
const clients = {};
try {
  for (const b of backends) {
    clients[b.key] = await startClient(b.key, script, {
      imports: [registerPath],
      env: {
        BENCH_PORT: String(server.port),
        PROVABLY_DATABASE_URL: undefined,
        POSTGRES_URL: undefined,
        PROVABLY_DATA_DIR: undefined,
        ...b.env,
      },
    });
    b.setup = await clients[b.key].call({ op: 'setup' });
    await clients[b.key].call({ op: 'warm', n: 150 });
  }

  const LAT_KINDS = ['raw', 'checked', 'recorded', 'insert', 'fetchInsert'];
  const TPUT_KINDS = ['raw', 'recorded'];
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    for (const b of rotate(backends, r)) {
      const c = clients[b.key];
      const m = {};
      for (const kind of rotate(LAT_KINDS, r)) {
        m[`${kind}P50`] = percentile(await c.call({ op: 'latency', kind, n: LAT_N }), 50);
      }
      for (const kind of rotate(TPUT_KINDS, r)) {
        m[`${kind}Rps`] = await c.call({ op: 'throughput', kind, n: TPUT_N, concurrency: CONCURRENCY });
      }
      m.p2 = (m.recordedP50 - m.rawP50) / m.insertP50;
      m.floor = (m.fetchInsertP50 - m.rawP50) / m.insertP50;
      m.p3 = m.recordedRps / m.rawRps;
      round[b.key] = m;
    }
    rounds.push(round);
    process.stderr.write(
      `recorded: round ${r + 1}/${ROUNDS} ${backends
        .map((b) => {
          const m = round[b.key];
          return `${b.key} raw ${fmt(m.rawP50, 3)} rec ${fmt(m.recordedP50, 3)} ins ${fmt(m.insertP50, 3)} ms, ${fmt(m.rawRps, 0)} vs ${fmt(m.recordedRps, 0)}/s`;
        })
        .join('; ')}\n`,
    );
  }
  for (const b of backends) b.info = await clients[b.key].call({ op: 'info' });

  const med = (key, field) => median(rounds.map((r) => r[key][field]));
  const range = (key, field) => {
    const [lo, hi] = medianCI(rounds.map((r) => r[key][field]));
    return `95% CI of the median ${fmt(lo)}–${fmt(hi)}`;
  };

  const ms = (k, f) => fmt(med(k, f), 3);
  const rows = backends.map((b) => {
    const k = b.key;
    return `| ${b.name} | ${ms(k, 'rawP50')} | ${ms(k, 'recordedP50')} | ${fmt(med(k, 'recordedP50') - med(k, 'rawP50'), 3)} | ${ms(k, 'insertP50')} | **${fmt(med(k, 'p2'))}** | ${fmt(med(k, 'rawRps'), 0)} | ${fmt(med(k, 'recordedRps'), 0)} | **${fmt(med(k, 'p3'))}×** |`;
  });
  const analysis = backends.map((b) => {
    const k = b.key;
    const i = b.info;
    return `| ${b.name} | ${ms(k, 'checkedP50')} (+${fmt(med(k, 'checkedP50') - med(k, 'rawP50'), 3)}) | ${ms(k, 'fetchInsertP50')} | ${fmt(med(k, 'floor'))} | ${fmt(i.concurrentRows / Math.max(1, i.concurrentStatements), 1)} |`;
  });

  const checks = [];
  const sanity = [];
  for (const b of backends) {
    const { status, recordedCalls, rows: stored } = b.info;
    if (
      stored !== recordedCalls ||
      status.storeErrors !== 0 ||
      status.dropped !== 0 ||
      status.blocked !== 0
    ) {
      sanity.push(
        `${b.name}: ${recordedCalls} recorded calls but ${stored} rows (store errors ${status.storeErrors}, dropped ${status.dropped}, blocked ${status.blocked})`,
      );
    }
    const p2 = med(b.key, 'p2');
    checks.push(
      `- P2 ${b.name}: (p50 recorded − p50 raw) / p50 INSERT ≤ ${P2_TARGET} → ${fmt(p2)} (${range(b.key, 'p2')}) **${verdict(p2 <= P2_TARGET)}**`,
    );
  }
  for (const b of backends) {
    const p3 = med(b.key, 'p3');
    const label =
      b.key === 'postgres' ? `- P3 ${b.name}` : `- P3 ${b.name} (reported; the target is set on PostgreSQL)`;
    checks.push(
      `${label}: recorded / raw throughput at concurrency ${CONCURRENCY} ≥ ${P3_TARGET}× → ${fmt(p3)}× (${range(b.key, 'p3')}) **${verdict(p3 >= P3_TARGET)}**`,
    );
  }
  if (!pgServer)
    checks.unshift('- PostgreSQL: no server available, P2/P3 on PostgreSQL NOT MEASURED **MISS**');
  if (sanity.length > 0) {
    console.error(`recorded bench: invalid run: ${sanity.join('; ')}`);
    process.exitCode = 1;
  }
  const verified = backends.map((b) => `${b.name} ${b.info.rows.toLocaleString('en-US')}`).join(', ');

  console.log(`## P2 / P3 recorded calls (inside a scope, trusted endpoint)

${ROUNDS} interleaved rounds (backends and measurements in rotated order). Per round and backend, in one client process with \`--import provably/register\`: p50 of ${LAT_N} sequential raw fetches (outside any scope), ${LAT_N} recorded fetches (\`interceptContext\` per call, ≈ ${backends[0].setup.bodySize} B JSON body read in full; the row is committed before the body's end is released), ${LAT_N} INSERTs of a copy of a recorded row through the same store; then ${TPUT_N} raw and ${TPUT_N} recorded fetches at concurrency ${CONCURRENCY}. Medians over rounds; ratios are medians of per-round ratios. Node ${process.version}.

| store | raw p50 ms | recorded p50 ms | difference ms | INSERT p50 ms | difference / INSERT | raw req/s | recorded req/s | recorded / raw |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Analysis (same rounds): *scoped, not recorded* = the fetch inside \`interceptContext\` with recording narrowed away by \`setInterceptUrlAllowlist\` (scope, trust check, capture plumbing; in parentheses the difference to raw); *fetch then INSERT* = a raw fetch followed by the same INSERT, no provably involved: its (p50 − raw p50) / INSERT p50 is what chaining the two round trips costs on this machine before provably does anything; *rows per INSERT* = mean rows per recorder statement during the concurrency-${CONCURRENCY} runs (group commit).

| store | scoped, not recorded p50 ms | fetch then INSERT p50 ms | (fetch then INSERT − raw) / INSERT | rows per INSERT at c=${CONCURRENCY} |
|---|---:|---:|---:|---:|
${analysis.join('\n')}

Rows verified after the run (recorded calls = rows stored, no store error, nothing dropped): ${verified}.

${checks.join('\n')}
`);
} finally {
  for (const c of Object.values(clients)) await c.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
  if (pgServer) await dropDatabase(pgServer, DB_NAME).catch(() => {});
}
