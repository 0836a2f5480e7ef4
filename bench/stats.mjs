// Small statistics helpers shared by the benchmarks (no dependency: median and percentiles of a
// sample are a few lines), and the two measuring loops.
import { performance } from 'node:perf_hooks';

export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (values) => percentile(values, 50);

export function fmt(n, digits = 2) {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

export function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

/**
 * Distribution-free ~95 % confidence interval of the median of `values` (order statistics of
 * the sign test): [lo, hi]. With fewer than 6 values it is the full range.
 */
export function medianCI(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [Number.NaN, Number.NaN];
  const k = Math.max(0, Math.floor(n / 2 - 0.98 * Math.sqrt(n)));
  return [sorted[k], sorted[Math.min(n - 1, n - 1 - k)]];
}

/** `n` sequential awaited calls of `fn`: each one's wall time, ms. */
export async function latencies(fn, n) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out[i] = performance.now() - t0;
  }
  return out;
}

/** `n` calls of `fn` by `concurrency` workers sharing one counter: calls per second. */
export async function throughput(fn, n, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await fn();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - t0) / 1000);
}
