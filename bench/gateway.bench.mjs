// P8 policy decisions, remote mode: what `POST /v1/execute` on a running `provably gateway`
// costs against a bare HTTP round trip to the same server plus one INSERT round trip on the same
// kind of store, all measured in the same run.
//
// Per store backend — PostgreSQL (a fresh database bench_gateway on the project's test server,
// scripts/pg-server.sh, or PROVABLY_BENCH_DATABASE_URL) and embedded PGlite (a fresh data dir) —
// the real CLI creates a tenant, an agent key and a blanket permit policy, then
// `node dist/cli.js gateway --port 0` runs as its own process. This process is the client
// (one undici keep-alive pool). Every round runs, in rotated order:
//   execute  `POST /v1/execute` {action:'noop'}: key check, Cedar decision, the decision row and
//            its Merkle leaf committed, answer — over HTTP
//   livez    `GET /livez` on the same gateway: the bare HTTP round trip (no key, no store)
//   insert   one INSERT of a copy of a decision row, autocommit, no leaf. On PostgreSQL through a
//            pool in this process on the gateway's own database; on PGlite in this process on a
//            second data dir (the gateway holds its own): same engine, same disk
// then executes and INSERTs at concurrency 32 (decisions/s).
// Values are medians over rounds; ratios are medians of per-round ratios.
//
// Target (issue #9): p50(execute) ≤ 1.5 × (p50(livez) + p50(INSERT)) on each store.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { openStore } from '../dist/index.js';
import {
  baseEnv,
  dropDatabase,
  freshDatabase,
  postgresServerUrl,
  root,
  rotate,
} from './fixtures/harness.mjs';
import { fmt, latencies, median, medianCI, percentile, throughput, verdict } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 10);
const LAT_N = Number(process.env.BENCH_GATEWAY_LATENCY_N ?? 200);
const TPUT_N = Number(process.env.BENCH_GATEWAY_THROUGHPUT_N ?? 1000);
const CONCURRENCY = 32;
const TARGET = 1.5;
const DB_NAME = 'bench_gateway';
const TENANT = 'bench';
const AGENT = 'bench-agent';
const cli = join(root, 'dist', 'cli.js');
const work = mkdtempSync(join(tmpdir(), 'provably-bench-gateway-'));
const policyFile = join(work, 'policy.cedar');
writeFileSync(policyFile, 'permit (principal, action, resource);\n');

const INSERT = `INSERT INTO provably_decisions (id, org_id, event_type, decision, mode, reason, agent_id,
  action_name, session_id, params, params_sha256, policy_version, policy_ids, escalation_id,
  escalation_status, reviewer, parent_id, trace_id, span_id, outcome, decided_at, duration_ms)
  VALUES ($1, $2, 'decision', 'ALLOW', 'enforce', 'policy0', $3, 'noop', NULL, '{}'::jsonb,
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'sha256:bench',
          '["policy0"]'::jsonb, NULL, NULL, NULL, NULL, '0af7651916cd43dd8448eb211c80319c',
          'b7ad6b7169203331', NULL, $4::timestamptz, NULL)`;

function runCli(env, args) {
  const res = spawnSync(process.execPath, [cli, ...args], { env: baseEnv(env), encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`provably ${args.join(' ')}: exit ${res.status}: ${res.stderr}`);
  return res.stdout;
}

/** Starts `provably gateway --port 0`; resolves with its URL from the "listening on" line. */
function startGateway(env) {
  const child = spawn(process.execPath, [cli, 'gateway', '--port', '0', '--no-checkpoints'], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        url: m[1],
        async stop() {
          if (child.exitCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

const pgServer = postgresServerUrl();
const backends = [];
if (pgServer) backends.push({ key: 'postgres', name: 'PostgreSQL' });
backends.push({ key: 'pglite', name: 'PGlite (embedded, on disk)' });

try {
  for (const b of backends) {
    if (b.key === 'postgres') {
      const url = await freshDatabase(pgServer, DB_NAME);
      b.env = { PROVABLY_DATABASE_URL: url, PROVABLY_DATA_DIR: undefined, XDG_CONFIG_HOME: work };
      b.baselineStore = openStore({ databaseUrl: url });
    } else {
      b.env = { PROVABLY_DATABASE_URL: undefined, PROVABLY_DATA_DIR: join(work, 'gateway-data') };
      b.baselineStore = openStore({ databaseUrl: undefined, dataDir: join(work, 'baseline-data') });
    }
    runCli(b.env, ['tenants', 'create', TENANT, '--id', TENANT]);
    const created = JSON.parse(
      runCli(b.env, ['apikeys', 'create', '--tenant', TENANT, '--role', 'agent', '--agent', AGENT, '--json']),
    );
    runCli(b.env, ['policy', 'push', policyFile, '--tenant', TENANT]);
    b.gateway = await startGateway(b.env);
    b.pool = new Pool(b.gateway.url, { connections: CONCURRENCY });
    const headers = { 'content-type': 'application/json', 'x-provably-api-key': created.key };
    const body = JSON.stringify({ action: 'noop', params: {} });
    b.calls = { execute: 0 };
    b.ops = {
      execute: async () => {
        const res = await b.pool.request({ path: '/v1/execute', method: 'POST', headers, body });
        const answer = await res.body.json();
        if (res.statusCode !== 200 || answer.decision !== 'ALLOW')
          throw new Error(`execute: ${res.statusCode} ${JSON.stringify(answer)}`);
        b.calls.execute++;
      },
      livez: async () => {
        const res = await b.pool.request({ path: '/livez', method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`livez: ${res.statusCode}`);
      },
      insert: () =>
        b.baselineStore.query(INSERT, [randomUUID(), `${TENANT}-insert`, AGENT, new Date().toISOString()]),
    };
    // Warm-up: JIT on both sides, keep-alive connections, pools, the tenant's engine and key.
    for (const kind of ['execute', 'livez', 'insert']) await latencies(b.ops[kind], 100);
  }

  const KINDS = ['execute', 'livez', 'insert'];
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    for (const b of rotate(backends, r)) {
      const m = {};
      for (const kind of rotate(KINDS, r))
        m[`${kind}P50`] = percentile(await latencies(b.ops[kind], LAT_N), 50);
      for (const kind of rotate(['execute', 'insert'], r))
        m[`${kind}Rps`] = await throughput(b.ops[kind], TPUT_N, CONCURRENCY);
      m.baselineP50 = m.livezP50 + m.insertP50;
      m.p8 = m.executeP50 / m.baselineP50;
      m.tput = m.executeRps / m.insertRps;
      round[b.key] = m;
    }
    rounds.push(round);
    process.stderr.write(
      `gateway: round ${r + 1}/${ROUNDS} ${backends
        .map((b) => {
          const m = round[b.key];
          return `${b.key} execute ${fmt(m.executeP50, 3)} livez ${fmt(m.livezP50, 3)} insert ${fmt(m.insertP50, 3)} ms → ${fmt(m.p8)}×, ${fmt(m.executeRps, 0)} decisions/s`;
        })
        .join('; ')}\n`,
    );
  }

  const med = (key, field) => median(rounds.map((r) => r[key][field]));
  const range = (key, field) => {
    const [lo, hi] = medianCI(rounds.map((r) => r[key][field]));
    return `95% CI of the median ${fmt(lo)}–${fmt(hi)}`;
  };
  const ms = (k, f) => fmt(med(k, f), 3);
  const rows = backends.map(
    (b) =>
      `| ${b.name} | ${ms(b.key, 'livezP50')} | ${ms(b.key, 'insertP50')} | ${ms(b.key, 'baselineP50')} | ${ms(b.key, 'executeP50')} | **${fmt(med(b.key, 'p8'))}×** | ${fmt(med(b.key, 'insertRps'), 0)} | **${fmt(med(b.key, 'executeRps'), 0)}** | ${fmt(med(b.key, 'tput'))}× |`,
  );
  const checks = backends.map((b) => {
    const p8 = med(b.key, 'p8');
    return `- P8 remote, ${b.name}: p50 execute / (p50 bare HTTP + p50 INSERT) ≤ ${TARGET}× → ${fmt(p8)}× (${range(b.key, 'p8')}) **${verdict(p8 <= TARGET)}**`;
  });
  if (!pgServer)
    checks.unshift('- PostgreSQL: no server available, P8 remote on PostgreSQL NOT MEASURED **MISS**');

  // Every execute left exactly one decision event with its leaf in the tenant's log.
  const sanity = [];
  for (const b of backends) {
    await b.gateway.stop();
    if (b.key === 'postgres') {
      const count = async (sql) => Number((await b.baselineStore.query(sql, [TENANT])).rows[0].n);
      const events = await count('SELECT count(*) AS n FROM provably_decisions WHERE org_id = $1');
      const leaves = await count(
        `SELECT count(*) AS n FROM provably_ledger_leaves WHERE org_id = $1 AND leaf_kind = 'decision'`,
      );
      if (events !== b.calls.execute || leaves !== b.calls.execute)
        sanity.push(`${b.name}: ${b.calls.execute} executes, ${events} events, ${leaves} leaves`);
    }
  }
  if (sanity.length > 0) {
    console.error(`gateway bench: invalid run: ${sanity.join('; ')}`);
    process.exitCode = 1;
  }

  console.log(`## P8 policy decisions, remote mode (\`provably gateway\`)

${ROUNDS} interleaved rounds, measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}. The gateway is its own process (\`node dist/cli.js gateway --port 0\`, tenant, agent key and a blanket \`permit\` policy created with the CLI); this process is the client (one undici keep-alive pool). Per round and backend: p50 of ${LAT_N} sequential \`POST /v1/execute\` (key check, Cedar, the decision row and its Merkle leaf committed, answer), ${LAT_N} \`GET /livez\` on the same gateway (the bare HTTP round trip), ${LAT_N} INSERTs of a copy of a decision row (autocommit, no leaf; PostgreSQL: the gateway's database through a pool in this process; PGlite: a second data dir in this process, since the gateway holds its own); then ${TPUT_N} executes and ${TPUT_N} INSERTs at concurrency ${CONCURRENCY}. Medians over rounds; ratios are medians of per-round ratios.

| store | bare HTTP p50 ms | INSERT p50 ms | HTTP + INSERT ms | execute p50 ms | execute / (HTTP + INSERT) | INSERTs/s (c=${CONCURRENCY}) | decisions/s (c=${CONCURRENCY}) | decisions / INSERTs |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

${checks.join('\n')}
`);
} finally {
  for (const b of backends) {
    await b.gateway?.stop().catch(() => {});
    await b.pool?.close().catch(() => {});
    await b.baselineStore?.close().catch(() => {});
  }
  if (pgServer) await dropDatabase(pgServer, DB_NAME).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}
