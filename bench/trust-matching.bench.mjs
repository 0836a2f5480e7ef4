// Trust matching: time per `match(url)` of the compiled matcher with 10,000 templated entries
// against 10, in the same process, rounds interleaved so machine noise hits both alike. The
// matcher walks an origin map and a segment trie, so the cost should follow the URL's path
// depth, not the number of entries. Target: ≤ 2×. Run after the build (`npm run build`).
//
// Both sets answer the same URLs: the 10 entries are a subset of the 10,000 and every URL
// aims at them (or misses both), so the only difference between the two runs is the count.
import { createTrustMatcher } from '../dist/index.js';
import { fmt, median, verdict } from './stats.mjs';

const TARGET_RATIO = 2;
const ROUNDS = Number(process.env.BENCH_TRUST_ROUNDS ?? 15);
const MATCHES_PER_ROUND = Number(process.env.BENCH_TRUST_MATCHES ?? 50_000);
const WARMUP_MATCHES = 100_000;

/** Template `i` of host `h`: four shapes, literal, `{name}` and `{name:path}` mixed. */
function template(h, i) {
  const base = `https://svc${h}.example.com/api/v1/r${i}`;
  switch (i % 4) {
    case 0:
      return `${base}/{id}`;
    case 1:
      return `${base}/{id}/items/{rest:path}`;
    case 2:
      return `${base}/{id}/sub/{sid}`;
    default:
      return `${base}/{rest:path}`;
  }
}

const many = [];
for (let h = 0; h < 100; h++) for (let i = 0; i < 100; i++) many.push(template(h, i));
const few = many.slice(0, 10);

// Hits on each of the 10 shared entries, plus misses: wrong tail, unknown resource, unknown
// host, and a URL that is not trusted at all (credentials).
const urls = [];
for (let i = 0; i < 10; i++) {
  const base = `https://svc0.example.com/api/v1/r${i}`;
  urls.push(`${base}/42`, `${base}/42/items/a/b`, `${base}/42/sub/7?x=1`, `${base}/x/y/z`);
  urls.push(`${base}/42/other/1`);
}
urls.push('https://svc0.example.com/api/v1/r999/1', 'https://nowhere.example.com/api/v1/r1/1');
urls.push('https://user@svc0.example.com/api/v1/r0/1');

const buildStart = process.hrtime.bigint();
const matchers = { few: createTrustMatcher(few), many: createTrustMatcher(many) };
const buildMs = Number(process.hrtime.bigint() - buildStart) / 1e6;

// Same answers from both sets, or the comparison is meaningless.
for (const url of urls) {
  if (matchers.few.match(url) !== matchers.many.match(url)) {
    console.error(`trust-matching bench: sets disagree on ${url}`);
    process.exit(1);
  }
}

let sink = 0;
function run(matcher, count) {
  const start = process.hrtime.bigint();
  for (let n = 0; n < count; n++) {
    if (matcher.match(urls[n % urls.length]) !== null) sink++;
  }
  return Number(process.hrtime.bigint() - start) / count;
}

run(matchers.few, WARMUP_MATCHES);
run(matchers.many, WARMUP_MATCHES);

const samples = { few: [], many: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which set goes first so neither always runs on a warmer (or hotter) machine.
  const order = round % 2 === 0 ? ['few', 'many'] : ['many', 'few'];
  for (const key of order) {
    globalThis.gc?.();
    samples[key].push(run(matchers[key], MATCHES_PER_ROUND));
  }
}

const fewNs = median(samples.few);
const manyNs = median(samples.many);
const ratio = manyNs / fewNs;

console.log(
  [
    '## Trust matching',
    '',
    `\`createTrustMatcher(entries).match(url)\`: median of ${ROUNDS} interleaved rounds × ${MATCHES_PER_ROUND.toLocaleString('en-US')} matches over the same ${urls.length} URLs (hits and misses, path depth 4–7; each match includes normalizing the URL). Node ${process.version}.`,
    '',
    '| Registered entries | Median ns/match |',
    '| ---: | ---: |',
    `| ${few.length} | ${fmt(fewNs, 0)} |`,
    `| ${many.length.toLocaleString('en-US')} | ${fmt(manyNs, 0)} |`,
    '',
    `Ratio ${many.length.toLocaleString('en-US')} / ${few.length}: **${fmt(ratio)}×** (target ≤ ${TARGET_RATIO}×): ${verdict(ratio <= TARGET_RATIO)}. Compiling both sets took ${fmt(buildMs, 1)} ms.`,
  ].join('\n'),
);
if (sink === 0) console.error('trust-matching bench: no URL matched (unexpected)');
