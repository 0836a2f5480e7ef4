// Runs every bench/*.bench.mjs in its own process (so one benchmark's heap and JIT state never
// colour another's), prints each one's Markdown section and writes them all to
// bench/RESULTS.md with the date, Node version and machine. Figures are ratios against a
// baseline taken in the same run: the machines are shared and noisy, absolute times are not
// comparable between runs.
//
//   npm run bench                 # all benchmarks
//   npm run bench -- trust        # only files whose name contains "trust"
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs') && f.includes(filter))
  .sort();

const sections = [];
let failed = false;
for (const file of files) {
  process.stderr.write(`bench: running ${file}\n`);
  const res = spawnSync(process.execPath, ['--expose-gc', join(here, file)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PROVABLY_LOG_LEVEL: process.env.PROVABLY_LOG_LEVEL ?? 'error' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (res.status !== 0) {
    failed = true;
    sections.push(`## ${file}\n\nFAILED (exit ${res.status}).\n`);
    continue;
  }
  process.stdout.write(`${res.stdout}\n`);
  sections.push(res.stdout.trim());
}

const header = [
  '# Benchmark results',
  '',
  `Latest run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB.`,
  'Produced by `npm run bench` (bench/run.mjs). Ratios are against a baseline measured in the same run.',
  '',
].join('\n');
if (filter === '') writeFileSync(join(here, 'RESULTS.md'), `${header}\n${sections.join('\n\n')}\n`);
else process.stderr.write('bench: filtered run, bench/RESULTS.md left unchanged\n');
process.exitCode = failed ? 1 : 0;
