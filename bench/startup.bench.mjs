// P4 startup: whole-process wall time of an agent-like app (bench/fixtures/agent-startup.mjs:
// loads node:http and touches fetch) with and without `--import provably/register`, runs
// interleaved so machine noise hits every variant alike. Target: ≤ 1.15× with no exporter
// configured. With OTEL_TRACES_EXPORTER set, provably loads the OpenTelemetry SDK; that variant
// is reported next to OpenTelemetry's own auto-instrumentation preload.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, median, verdict } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'bench/fixtures/agent-startup.mjs');
const register = join(root, 'dist/register.js');
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 30);

const quietEnv = {
  ...process.env,
  PROVABLY_LOG_LEVEL: 'error',
  OTEL_TRACES_EXPORTER: '',
  OTEL_LOG_LEVEL: 'none',
};
delete quietEnv.NODE_OPTIONS;
const exportEnv = {
  ...quietEnv,
  OTEL_TRACES_EXPORTER: 'console',
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
};

const variants = [
  { name: 'node app.js', args: [app], env: quietEnv },
  { name: 'node --import provably/register app.js', args: ['--import', register, app], env: quietEnv },
  {
    name: 'provably/register, OTEL_TRACES_EXPORTER=console',
    args: ['--import', register, app],
    env: exportEnv,
  },
  {
    name: '@opentelemetry/auto-instrumentations-node/register, OTEL_TRACES_EXPORTER=console',
    args: ['--import', '@opentelemetry/auto-instrumentations-node/register', app],
    env: exportEnv,
  },
];

function once(v) {
  const t0 = process.hrtime.bigint();
  const res = spawnSync(process.execPath, v.args, {
    env: v.env,
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${v.name} exited ${res.status}: ${res.stderr}`);
  return ms;
}

for (const v of variants) once(v); // warm the file-system cache
const samples = variants.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  variants.forEach((v, i) => {
    samples[i].push(once(v));
  });
}

const base = median(samples[0]);
const rows = variants.map((v, i) => {
  const m = median(samples[i]);
  return `| ${v.name} | ${fmt(m, 1)} | ${fmt(m / base)}× |`;
});
const ratio = median(samples[1]) / base;
console.log(`## P4 startup (${ROUNDS} interleaved runs each, median wall time)

| variant | ms | vs node app.js |
|---|---:|---:|
${rows.join('\n')}

Target: \`--import provably/register\` ≤ 1.15× with no exporter configured → ${fmt(ratio)}× **${verdict(ratio <= 1.15)}**.
`);
