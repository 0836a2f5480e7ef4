// Cold start (issue #12): whole-process wall time of the first CLI command on a fresh embedded
// data dir (cold), of a later one (warm), and what the first governed call of an agent process
// adds on an existing data dir — next to same-run baselines: `node -e 0` and PGlite alone opening
// an existing data dir. Variants run interleaved so machine noise hits each alike. Each child
// also reports its own CPU time (user + system, all threads; bench/fixtures/cpu-at-exit.mjs),
// which a loaded machine disturbs much less than wall time.
// Targets: cold CLI ≤ 2 s, warm CLI ≤ 1 s, first governed call adds ≤ 300 ms.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, verdict } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli.js');
const register = join(root, 'dist/register.js');
const ROUNDS = Number(process.env.BENCH_COLDSTART_ROUNDS ?? 10);
const tmp = mkdtempSync(join(tmpdir(), 'provably-bench-coldstart-'));
const warmDir = join(tmp, 'warm', '.provably');
const cpuFile = join(tmp, 'cpu.txt');
const cpuHook = join(root, 'bench/fixtures/cpu-at-exit.mjs');

const env = { ...process.env, PROVABLY_LOG_LEVEL: 'error' };
for (const k of Object.keys(env))
  if (k.startsWith('PROVABLY_DATABASE') || k === 'POSTGRES_URL') delete env[k];
delete env.NODE_OPTIONS;

function run(args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    writeFileSync(cpuFile, '');
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', cpuHook, ...args], {
      cwd: root,
      env: { ...env, BENCH_CPU_FILE: cpuFile, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ ms, out, cpu: Number(readFileSync(cpuFile, 'utf8').trim()) });
    });
  });
}

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/json`;

// The warm data dir: made once, trusting the local server.
await run([cli, 'endpoints', 'add', url], { PROVABLY_DATA_DIR: warmDir });

let fresh = 0;
const freshDir = () => join(tmp, `fresh-${++fresh}`, '.provably');
const first = { added: [], first: [], bare: [] };
const firstOptIn = { added: [], first: [], bare: [] };
// One agent process; what its first governed call added goes to `sink`.
const agent = async (sink, extraEnv = {}) => {
  const r = await run(['--import', register, join(root, 'bench/fixtures/first-call.mjs')], {
    PROVABLY_DATA_DIR: warmDir,
    BENCH_URL: url,
    ...extraEnv,
  });
  const m = JSON.parse(r.out.trim().split('\n').at(-1));
  sink.added.push(m.firstMs - m.secondMs);
  sink.first.push(m.firstMs);
  sink.bare.push(m.bareMs);
  return r;
};
const variants = [
  { name: '`node -e 0`', go: () => run(['-e', '0']) },
  {
    name: 'PGlite alone: open an existing data dir, SELECT 1, close',
    go: () => run([join(root, 'bench/fixtures/pglite-open.mjs'), join(warmDir, 'pglite')]),
  },
  {
    name: 'cold CLI: `provably endpoints list`, fresh data dir',
    go: () => run([cli, 'endpoints', 'list'], { PROVABLY_DATA_DIR: freshDir() }),
  },
  {
    name: 'cold CLI without the packaged image (initdb: before #12)',
    every: 3,
    go: () =>
      run([cli, 'endpoints', 'list'], { PROVABLY_DATA_DIR: freshDir(), PROVABLY_PGLITE_IMAGE: 'none' }),
  },
  {
    name: 'warm CLI: `provably endpoints list`, existing data dir',
    go: () => run([cli, 'endpoints', 'list'], { PROVABLY_DATA_DIR: warmDir }),
  },
  {
    name: 'warm CLI with V8 default WebAssembly tier-up (PROVABLY_PGLITE_LAZY_TIERUP=0: before)',
    every: 2,
    go: () =>
      run([cli, 'endpoints', 'list'], { PROVABLY_DATA_DIR: warmDir, PROVABLY_PGLITE_LAZY_TIERUP: '0' }),
  },
  {
    name: 'agent: --import provably/register, bare fetch + 2 governed calls, existing data dir',
    go: () => agent(first),
  },
  {
    name: 'agent, opting in to the raised tiering budget (PROVABLY_PGLITE_LAZY_TIERUP=1)',
    every: 2,
    go: () => agent(firstOptIn, { PROVABLY_PGLITE_LAZY_TIERUP: '1' }),
  },
];

const samples = variants.map(() => []);
const cpus = variants.map(() => []);
try {
  for (const v of variants) await v.go(); // warm the file-system cache
  // The warm-up runs are not samples.
  for (const sink of [first, firstOptIn]) for (const list of Object.values(sink)) list.length = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, v] of variants.entries()) {
      if (v.every && r % v.every !== 0) continue;
      const res = await v.go();
      samples[i].push(res.ms);
      cpus[i].push(res.cpu);
    }
  }
} finally {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}

const base = median(samples[0]);
const pglite = median(samples[1]);
const pgliteCpu = median(cpus[1]);
const rows = variants.map((v, i) => {
  const m = median(samples[i]);
  const c = median(cpus[i]);
  return `| ${v.name} | ${samples[i].length} | ${fmt(m, 0)} | ${fmt(m / base, 1)}× | ${fmt(m / pglite, 2)}× | ${fmt(c, 0)} | ${fmt(c / pgliteCpu, 2)}× |`;
});
const cold = median(samples[2]);
const warm = median(samples[4]);
const added = median(first.added);
console.log(`## Cold start (${ROUNDS} interleaved rounds, medians: whole-process wall time and the process's CPU time)

| variant | runs | wall ms | vs \`node -e 0\` | vs PGlite alone | CPU ms | CPU vs PGlite alone |
|---|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

First governed call in the agent process (existing data dir): ${fmt(median(first.first), 0)} ms, the second ${fmt(median(first.first) - added, 0)} ms, a bare fetch before it ${fmt(median(first.bare), 0)} ms. With the opt-in tiering raise: the first call adds ${fmt(median(firstOptIn.added), 0)} ms (${firstOptIn.added.length} runs).

The absolute targets assume an otherwise idle 2-core machine; on a shared, loaded one compare the
ratios to PGlite alone (the floor of any process that opens an embedded PGlite database).

Targets: cold CLI ≤ 2000 ms → ${fmt(cold, 0)} ms **${verdict(cold <= 2000)}**; warm CLI ≤ 1000 ms → ${fmt(warm, 0)} ms **${verdict(warm <= 1000)}**; first governed call adds (first − second call) ≤ 300 ms → ${fmt(added, 0)} ms **${verdict(added <= 300)}**.
`);
