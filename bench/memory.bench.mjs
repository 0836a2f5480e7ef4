// P7 memory: peak RSS growth of a process streaming a large response body through fetch.
//
// One load server (own process, 127.0.0.1) streams the body in 64 KiB writes; each measurement
// is a fresh client process (bench/fixtures/memory-client.mjs, `--expose-gc`) that warms the
// same path with a small body, takes its baseline RSS after gc, then reads the large body chunk
// by chunk and discards it. RSS is sampled every 20 ms and, where Linux allows, the kernel's
// peak (VmHWM, reset just before the call) is read as well; the growth reported is the larger
// of the two minus the baseline. Variants are interleaved over rounds; the verdict uses the
// LARGEST growth seen over the rounds (a peak that happened once did happen).
//
// For comparison, the same streams read by a process without the preload: Node itself lets
// discarded chunk buffers pile up until its collector runs, and that part of the growth is not
// provably's.
//
// How much piles up depends on which collector frees them, and that is decided by the size of
// V8's young generation, not by the code on the streaming path. A near-empty process keeps a small
// young generation: frequent scavenges free each chunk's buffer soon after it was read (≈ 60 MiB).
// Any process that loaded a little more at startup (provably's preload, but just as well pg +
// @opentelemetry/api + node:http, or 3 MB of retained objects) grows its young generation during
// the stream; scavenges then become rare and the buffers are freed only by mark-compacts that the
// external-memory limit (64 MiB over the last GC) triggers (≈ 90–105 MiB). The no-preload process
// itself lands in either regime from run to run. Measured with --trace-gc and
// --trace-incremental-marking ("Start (external memory pressure)"), and by pinning the young
// generation (--max-semi-space-size=1, or min = max = 16): then the preload and Node alone grow
// the same. So the like-for-like comparison is a second pair: the same small set of common
// dependencies loaded first, without and with the preload.
//
// Targets (PROVABLY_MAX_BODY_BYTES at its default, 16 MiB):
//   100 MB inside a scope (recorded)            → growth ≤ cap + 32 MiB (on PostgreSQL and PGlite)
//   1 GB outside any scope, with the preload    → growth ≤ 32 MiB
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseEnv,
  dropDatabase,
  fixtures,
  freshDatabase,
  postgresServerUrl,
  registerPath,
  root,
  rotate,
  startServer,
} from './fixtures/harness.mjs';
import { fmt, median, verdict } from './stats.mjs';

const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 5);
const MB = 1_000_000;
const MiB = 2 ** 20;
const RECORDED_BYTES = 100 * MB;
const OUTSIDE_BYTES = 1000 * MB;
const SLACK = 32 * MiB;
const DB_NAME = 'bench_memory';
const script = join(fixtures, 'memory-client.mjs');
// Common agent-side dependencies, loaded before anything else (a data: URL preload, so no extra
// fixture file): gives the no-preload reference the startup heap of a real app.
const appDeps = `data:text/javascript,${encodeURIComponent(
  `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(join(root, 'package.json'))});
require('pg');
require('@opentelemetry/api');
require('node:http');`,
)}`;

const pgServer = postgresServerUrl();
const pgUrl = pgServer ? await freshDatabase(pgServer, DB_NAME) : undefined;
const dataDirs = [];

const noStore = {
  PROVABLY_DATABASE_URL: undefined,
  POSTGRES_URL: undefined,
  PROVABLY_MAX_BODY_BYTES: undefined,
};
const VARIANTS = [
  { key: 'bare', name: 'no preload (reference)', imports: [], mode: 'outside', bytes: OUTSIDE_BYTES },
  {
    key: 'outside',
    name: '`--import provably/register`, outside any scope',
    imports: [registerPath],
    mode: 'outside',
    bytes: OUTSIDE_BYTES,
    limit: SLACK,
    ref: 'bare',
  },
  {
    key: 'appBare',
    name: 'no preload, pg + @opentelemetry/api + node:http loaded first (reference)',
    imports: [appDeps],
    mode: 'outside',
    bytes: OUTSIDE_BYTES,
  },
  {
    key: 'appOutside',
    name: 'the same dependencies, then `--import provably/register`, outside any scope',
    imports: [appDeps, registerPath],
    mode: 'outside',
    bytes: OUTSIDE_BYTES,
    ref: 'appBare',
  },
  { key: 'bare100', name: 'no preload (reference)', imports: [], mode: 'outside', bytes: RECORDED_BYTES },
  ...(pgUrl
    ? [
        {
          key: 'pg',
          name: '`--import provably/register`, inside a scope (recorded), PostgreSQL',
          imports: [registerPath],
          mode: 'recorded',
          bytes: RECORDED_BYTES,
          store: 'postgres',
          capped: true,
          ref: 'bare100',
        },
      ]
    : []),
  {
    key: 'pglite',
    name: '`--import provably/register`, inside a scope (recorded), PGlite',
    imports: [registerPath],
    mode: 'recorded',
    bytes: RECORDED_BYTES,
    store: 'pglite',
    capped: true,
    ref: 'bare100',
  },
];

function runOnce(v, port) {
  const env = { ...noStore, BENCH_PORT: String(port), BENCH_MODE: v.mode, BENCH_BYTES: String(v.bytes) };
  if (v.store === 'postgres') env.PROVABLY_DATABASE_URL = pgUrl;
  if (v.store === 'pglite') {
    // A fresh embedded store per run: a data dir is single-process, and the growth of one
    // run's WebAssembly heap must not be carried into the next.
    const dir = mkdtempSync(join(tmpdir(), 'provably-bench-memory-'));
    dataDirs.push(dir);
    env.PROVABLY_DATA_DIR = dir;
  }
  const args = ['--expose-gc'];
  for (const i of v.imports) args.push('--import', i);
  args.push(script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    child.stdout.pipe(process.stderr);
    let result;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('message', (m) => {
      result = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (result && code === 0) resolve(result);
      else reject(new Error(`memory client ${v.key} exited ${code ?? signal} without a result`));
    });
  });
}

const server = await startServer();
try {
  const results = Object.fromEntries(VARIANTS.map((v) => [v.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of rotate(VARIANTS, r)) {
      const res = await runOnce(v, server.port);
      const peak = Math.max(res.peakSampled, res.hwm ?? 0);
      results[v.key].push({
        ...res,
        growth: peak - res.baseline,
        sampledGrowth: res.peakSampled - res.baseline,
      });
    }
    process.stderr.write(`memory: round ${r + 1}/${ROUNDS} done\n`);
  }

  const mib = (n) => fmt(n / MiB, 1);
  const cap = results.pglite[0].maxBodyBytes;
  const rows = [];
  const checks = [];
  const problems = [];
  for (const v of VARIANTS) {
    const rs = results[v.key];
    const growth = rs.map((x) => x.growth);
    const worst = Math.max(...growth);
    const mbps = median(rs.map((x) => v.bytes / MB / (x.ms / 1000)));
    const hwmNote = rs.every((x) => x.hwm !== undefined) ? '' : ' (sampled only)';
    const delta = v.ref ? median(growth) - median(results[v.ref].map((x) => x.growth)) : undefined;
    const beyond = delta === undefined ? '—' : `${delta < 0 ? '−' : '+'}${mib(Math.abs(delta))}`;
    rows.push(
      `| ${v.name} | ${fmt(v.bytes / MB, 0)} MB | ${mib(median(rs.map((x) => x.baseline)))} | ${mib(median(rs.map((x) => x.sampledGrowth)))} | ${mib(median(growth))} | ${mib(worst)}${hwmNote} | ${beyond} | ${fmt(mbps, 0)} |`,
    );
    if (v.capped) {
      const limit = cap + SLACK;
      checks.push(
        `- 100 MB recorded, ${v.store === 'postgres' ? 'PostgreSQL' : 'PGlite'}: worst growth ≤ cap + 32 MiB = ${mib(limit)} MiB → ${mib(worst)} MiB **${verdict(worst <= limit)}**`,
      );
      for (const x of rs) {
        if (!x.row || x.row.bodySize !== v.bytes || !x.row.truncated || x.row.kept !== cap) {
          problems.push(
            `${v.key}: stored row ${JSON.stringify(x.row)} (expected ${v.bytes} bytes seen, ${cap} kept, truncated)`,
          );
        }
      }
    } else if (v.limit !== undefined) {
      checks.push(
        `- 1 GB outside any scope with the preload: worst growth ≤ 32 MiB → ${mib(worst)} MiB **${verdict(worst <= v.limit)}**`,
      );
    } else if (v.ref === 'appBare') {
      const own = median(growth);
      const ref = median(results.appBare.map((x) => x.growth));
      checks.push(
        `- 1 GB outside any scope, like for like (same dependencies loaded, without vs with the preload): median growth ${mib(own)} vs ${mib(ref)} MiB → ${own <= ref ? 'no more than Node alone' : `+${mib(own - ref)} MiB`} (informational)`,
      );
    }
  }
  if (!pgUrl) checks.push('- 100 MB recorded, PostgreSQL: no server available, NOT MEASURED **MISS**');
  if (problems.length > 0) {
    console.error(`memory bench: invalid run: ${problems.join('; ')}`);
    process.exitCode = 1;
  }

  console.log(`## P7 memory (large streamed bodies)

${ROUNDS} interleaved rounds, a fresh client process per measurement; the body is streamed by a loopback server in 64 KiB writes and read through \`res.body.getReader()\` chunk by chunk, discarded. Baseline RSS after warming the same path with a 1 MiB body and gc; growth = peak RSS − baseline, peak from 20 ms samples and the kernel's VmHWM (reset before the call). Body cap PROVABLY_MAX_BODY_BYTES = ${mib(cap)} MiB (default). Node ${process.version}.

| variant | body | baseline RSS MiB | growth, 20 ms samples MiB (median) | growth MiB (median) | growth MiB (worst) | median growth beyond no preload, same body | MB/s |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Which collector frees the discarded chunk buffers depends on the size of V8's young generation: a near-empty process (the first reference) often keeps it small and frees them by scavenges; a process that loaded a little more at startup (the preload, or the common dependencies of the second reference) grows it, and then frees them by mark-compacts triggered at V8's 64 MiB external-memory limit. The second pair compares like for like.

Recorded rows checked after each run: body_size = ${fmt(RECORDED_BYTES / MB, 0)} MB, body_truncated, ${mib(cap)} MiB kept.

${checks.join('\n')}
`);
} finally {
  await server.stop();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  if (pgServer) await dropDatabase(pgServer, DB_NAME).catch(() => {});
}
