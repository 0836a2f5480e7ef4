// P8 policy decisions, local mode: what a Cedar-decided, audited tool call costs against one
// INSERT round trip on the same store, measured in the same process and the same run.
//
// In this process (the built dist, no preload: the guarded body makes no HTTP call), per store
// backend — PostgreSQL (a fresh database bench_policy on the project's test server,
// scripts/pg-server.sh, or PROVABLY_BENCH_DATABASE_URL) and embedded PGlite (a fresh temporary
// data dir on disk) — one `new ProvablyGateway({ agentId, policy, store, tenant })` with a
// blanket permit policy. Every round runs, in rotated order:
//   guard    `gateway.guard('noop', async () => 1)()`: Cedar decision + the decision row and its
//            Merkle leaf committed (one statement, migration 8), the no-op body inside a provably
//            scope; the call returns there. The outcome row and its leaf are appended in the
//            background (deferred one event-loop turn: in this sequential loop they ride in the
//            next call's decision statement, group commit) — what a caller waits for
//   guard+flush  the same, then `await gateway.flush()`: the caller also waits for its outcome
//            event to be committed (two statements in sequence: the fully durable guarded call)
//   execute  `gateway.execute('noop')`: the decision alone (Cedar + one statement: row + leaf)
//   insert   one INSERT of a copy of a decision row into provably_decisions, autocommit, no
//            leaf: the baseline round trip
//   cedar    `gateway.engine.evaluate(…)` alone (no store), µs per call over a batch
// then guarded calls, executes and INSERTs at concurrency 32 (decisions/s, INSERTs/s): concurrent
// decisions share statements (group commit, src/policy/decision-writer.ts).
// Values are medians over rounds; ratios are medians of per-round ratios.
//
// Target: P8 p50(guarded no-op) ≤ 1.5 × p50(INSERT) on each store. The remote gateway's P8
// (execute over HTTP vs a bare round trip plus one INSERT) is bench/gateway.bench.mjs.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, ProvablyGateway } from '../dist/index.js';
import { dropDatabase, freshDatabase, postgresServerUrl, rotate } from './fixtures/harness.mjs';
import { fmt, latencies, median, medianCI, percentile, throughput, verdict } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_POLICY_ROUNDS ?? 12);
const LAT_N = Number(process.env.BENCH_POLICY_LATENCY_N ?? 200);
const TPUT_N = Number(process.env.BENCH_POLICY_THROUGHPUT_N ?? 1000);
const CEDAR_N = Number(process.env.BENCH_POLICY_CEDAR_N ?? 2000);
const CONCURRENCY = 32;
const P8_TARGET = 1.5;
const DB_NAME = 'bench_policy';
const TENANT = 'bench';
const AGENT = 'bench-agent';
const POLICY = 'permit (principal, action, resource);';

const pgServer = postgresServerUrl();
const dataDir = mkdtempSync(join(tmpdir(), 'provably-bench-policy-'));
const backends = [];
if (pgServer) {
  backends.push({
    key: 'postgres',
    name: 'PostgreSQL',
    open: async () => openStore({ databaseUrl: await freshDatabase(pgServer, DB_NAME) }),
  });
}
backends.push({
  key: 'pglite',
  name: 'PGlite (embedded, on disk)',
  open: async () => openStore({ databaseUrl: undefined, dataDir }),
});

// A copy of a decision row as the gateway writes it, inserted without a leaf (the baseline).
const INSERT = `INSERT INTO provably_decisions (id, org_id, event_type, decision, mode, reason, agent_id,
  action_name, session_id, params, params_sha256, policy_version, policy_ids, escalation_id,
  escalation_status, reviewer, parent_id, trace_id, span_id, outcome, decided_at, duration_ms)
  VALUES ($1, $2, 'decision', 'ALLOW', 'enforce', $3, $4, 'noop', NULL, '{}'::jsonb, $5, $6,
          $7::jsonb, NULL, NULL, NULL, NULL, $8, $9, NULL, $10::timestamptz, NULL)`;

function makeOps(store, gateway) {
  const noop = gateway.guard('noop', async () => 1);
  const session = { id: '', allowed: 0, blocked: 0, escalated: 0 };
  const request = { agentId: AGENT, action: 'noop', tenant: TENANT, params: {}, session };
  const sample = gateway.engine.evaluate(request);
  const insert = () =>
    store.query(INSERT, [
      randomUUID(),
      `${TENANT}-insert`,
      sample.reason,
      AGENT,
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sample.policyVersion,
      JSON.stringify(sample.policyIds),
      '0af7651916cd43dd8448eb211c80319c',
      'b7ad6b7169203331',
      new Date().toISOString(),
    ]);
  return {
    guard: async () => {
      if ((await noop()) !== 1) throw new Error('the guarded no-op did not return 1');
    },
    guardFlush: async () => {
      if ((await noop()) !== 1) throw new Error('the guarded no-op did not return 1');
      await gateway.flush();
    },
    execute: async () => {
      const r = await gateway.execute('noop');
      if (r.decision !== 'ALLOW') throw new Error(`execute: ${r.decision}`);
    },
    insert,
    cedar: () => gateway.engine.evaluate(request),
  };
}

function cedarMicros(fn, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1000) / n;
}

const opened = [];
try {
  for (const b of backends) {
    b.store = await b.open();
    opened.push(b.store);
    b.gateway = new ProvablyGateway({
      agentId: AGENT,
      policy: POLICY,
      store: b.store,
      tenant: TENANT,
      watch: false,
    });
    b.ops = makeOps(b.store, b.gateway);
    b.calls = { guard: 0, guardFlush: 0, execute: 0, insert: 0 };
    // Warm-up: JIT, pool connections, the Cedar engine, the store's caches.
    await latencies(b.ops.guard, 100);
    await latencies(b.ops.execute, 100);
    await latencies(b.ops.insert, 100);
    cedarMicros(b.ops.cedar, CEDAR_N);
    b.calls.guard += 100;
    b.calls.execute += 100;
    b.calls.insert += 100;
  }

  const LAT_KINDS = ['guard', 'guardFlush', 'execute', 'insert', 'cedar'];
  const TPUT_KINDS = ['guard', 'execute', 'insert'];
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = {};
    for (const b of rotate(backends, r)) {
      const m = {};
      for (const kind of rotate(LAT_KINDS, r)) {
        if (kind === 'cedar') {
          m.cedarUs = cedarMicros(b.ops.cedar, CEDAR_N);
          continue;
        }
        m[`${kind}P50`] = percentile(await latencies(b.ops[kind], LAT_N), 50);
        b.calls[kind] += LAT_N;
      }
      for (const kind of rotate(TPUT_KINDS, r)) {
        m[`${kind}Rps`] = await throughput(b.ops[kind], TPUT_N, CONCURRENCY);
        b.calls[kind] += TPUT_N;
      }
      m.p8 = m.guardP50 / m.insertP50;
      m.flushRatio = m.guardFlushP50 / m.insertP50;
      m.execute = m.executeP50 / m.insertP50;
      m.cedar = m.cedarUs / 1000 / m.insertP50;
      m.tput = m.guardRps / m.insertRps;
      m.execTput = m.executeRps / m.insertRps;
      round[b.key] = m;
    }
    rounds.push(round);
    process.stderr.write(
      `policy: round ${r + 1}/${ROUNDS} ${backends
        .map((b) => {
          const m = round[b.key];
          return `${b.key} guard ${fmt(m.guardP50, 3)} guard+flush ${fmt(m.guardFlushP50, 3)} exec ${fmt(m.executeP50, 3)} ins ${fmt(m.insertP50, 3)} ms cedar ${fmt(m.cedarUs, 1)} µs, ${fmt(m.guardRps, 0)} decisions/s`;
        })
        .join('; ')}\n`,
    );
  }

  // Every guarded call left a decision and an outcome row, every execute a decision row, each
  // with its own leaf; the baseline INSERTs left rows under their own org and no leaf.
  const sanity = [];
  for (const b of backends) {
    // Outcome events are written in the background: wait for the last ones.
    await b.gateway.flush();
    const count = async (sql, params) => Number((await b.store.query(sql, params)).rows[0].n);
    const events = await count('SELECT count(*) AS n FROM provably_decisions WHERE org_id = $1', [TENANT]);
    const leaves = await count(
      `SELECT count(*) AS n FROM provably_ledger_leaves WHERE org_id = $1 AND leaf_kind = 'decision'`,
      [TENANT],
    );
    const inserts = await count('SELECT count(*) AS n FROM provably_decisions WHERE org_id = $1', [
      `${TENANT}-insert`,
    ]);
    const expected = 2 * (b.calls.guard + b.calls.guardFlush) + b.calls.execute;
    b.rows = events;
    if (events !== expected || leaves !== expected || inserts !== b.calls.insert) {
      sanity.push(
        `${b.name}: expected ${expected} decision events with leaves and ${b.calls.insert} INSERTs, found ${events} events, ${leaves} leaves, ${inserts} INSERTs`,
      );
    }
  }

  const med = (key, field) => median(rounds.map((r) => r[key][field]));
  const range = (key, field) => {
    const [lo, hi] = medianCI(rounds.map((r) => r[key][field]));
    return `95% CI of the median ${fmt(lo)}–${fmt(hi)}`;
  };
  const ms = (k, f) => fmt(med(k, f), 3);
  const rows = backends.map((b) => {
    const k = b.key;
    return `| ${b.name} | ${ms(k, 'insertP50')} | ${ms(k, 'guardP50')} | **${fmt(med(k, 'p8'))}×** | ${ms(k, 'guardFlushP50')} | ${fmt(med(k, 'flushRatio'))}× | ${ms(k, 'executeP50')} | ${fmt(med(k, 'execute'))}× | ${fmt(med(k, 'cedarUs'), 1)} | ${fmt(med(k, 'cedar'), 3)}× | ${fmt(med(k, 'insertRps'), 0)} | **${fmt(med(k, 'guardRps'), 0)}** | ${fmt(med(k, 'tput'))}× | ${fmt(med(k, 'executeRps'), 0)} | ${fmt(med(k, 'execTput'))}× |`;
  });
  const checks = backends.map((b) => {
    const p8 = med(b.key, 'p8');
    return `- P8 local, ${b.name}: p50 guarded no-op / p50 INSERT ≤ ${P8_TARGET}× → ${fmt(p8)}× (${range(b.key, 'p8')}) **${verdict(p8 <= P8_TARGET)}**`;
  });
  if (!pgServer) checks.unshift('- PostgreSQL: no server available, P8 on PostgreSQL NOT MEASURED **MISS**');
  if (sanity.length > 0) {
    console.error(`policy bench: invalid run: ${sanity.join('; ')}`);
    process.exitCode = 1;
  }
  const verified = backends.map((b) => `${b.name} ${b.rows.toLocaleString('en-US')}`).join(', ');

  console.log(`## P8 policy decisions, local mode

${ROUNDS} interleaved rounds (backends and measurements in rotated order), in one process on the built dist with a blanket \`permit\` policy. Per round and backend: p50 of ${LAT_N} sequential calls of a guarded no-op (\`gateway.guard('noop', async () => 1)\`: Cedar decision, the decision row and its Merkle leaf committed in one statement, the body inside a provably scope; the call returns there, its outcome row and leaf are appended in the background and ride in the next call's statement), ${LAT_N} of the same followed by \`await gateway.flush()\` (guard+flush: the caller also waits for its outcome to commit), ${LAT_N} \`gateway.execute('noop')\` (the decision alone: Cedar, one statement for row and leaf), ${LAT_N} INSERTs of a copy of a decision row through the same store (autocommit, no leaf: the baseline round trip), the Cedar evaluation alone (\`gateway.engine.evaluate\`, no store, mean of ${CEDAR_N}); then ${TPUT_N} guarded calls, ${TPUT_N} executes and ${TPUT_N} INSERTs at concurrency ${CONCURRENCY} (concurrent decisions share statements: group commit). Medians over rounds; ratios are medians of per-round ratios. Node ${process.version}.

| store | INSERT p50 ms | guarded no-op p50 ms | guarded / INSERT | guard+flush p50 ms | guard+flush / INSERT | execute p50 ms | execute / INSERT | Cedar alone µs/call | Cedar / INSERT | INSERTs/s (c=${CONCURRENCY}) | guarded calls/s (c=${CONCURRENCY}) | guarded / INSERTs | executes/s (c=${CONCURRENCY}) | executes / INSERTs |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

A guarded call writes two audit events (decision and outcome), each an append-only row plus a leaf whose index is claimed on the org's head row and whose hash the database computes after checking the stored row against the leaf JSON (\`provably_decisions_append\`, migration 8). The caller waits for the decision's statement only (it must be committed before the body runs); the outcome is written after the call returned (\`flush()\`/\`close()\`/signals wait for it; \`process.exit()\` right after can lose it: README, "Guarded calls and process exit"). \`execute\` is the decision alone. Rows verified after the run (every guarded call left 2 events, every execute 1, each with its own leaf of kind \`decision\`): ${verified}.

${checks.join('\n')}
`);
} finally {
  for (const b of backends) await b.gateway?.close().catch(() => {});
  for (const s of opened) await s.close().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
  if (pgServer) await dropDatabase(pgServer, DB_NAME).catch(() => {});
}
