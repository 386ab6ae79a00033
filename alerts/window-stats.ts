/**
 * Statistics over a slice [lo, hi) of the engine's window, counting only samples that passed QC — computed in place.
 * The engine evaluates every reading against the last two hours of its station (up to 720 samples at 10 s sampling);
 * copying the valid samples and their x/y values into fresh arrays for each reading made ~20 KB of garbage a reading,
 * which the young-generation GC then had to sweep while PUBACKs and alerts waited. Sums are taken in the same order as
 * before, so every result is bit-for-bit what the copying version gave.
 */
import type { LineFit } from './median.js';
import type { Sample } from './types.js';

/** Reused sort buffer for medians; grows to the largest slice seen (a few KB). */
let scratch = new Float64Array(256);

/** Median of `pick` over the valid samples of window[lo, hi); null when none has a value. */
export function validMedian(window: readonly Sample[], lo: number, hi: number, pick: (s: Sample) => number | null): number | null {
  if (scratch.length < hi - lo) scratch = new Float64Array(Math.max(hi - lo, scratch.length * 2));
  let n = 0;
  for (let i = lo; i < hi; i += 1) {
    const s = window[i] as Sample;
    if (s.qc !== 'ok') continue;
    const v = pick(s);
    if (v !== null) scratch[n++] = v;
  }
  if (n === 0) return null;
  const sorted = scratch.subarray(0, n).sort(); // typed arrays sort numerically, without a comparator call per step
  const mid = n >> 1;
  const upper = sorted[mid] as number;
  return n % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

/** How many valid samples window[lo, hi) holds, and the ts of the first; `firstTs` is NaN when there is none. */
export function validSpan(window: readonly Sample[], lo: number, hi: number): { n: number; firstTs: number } {
  let n = 0;
  let firstTs = Number.NaN;
  for (let i = lo; i < hi; i += 1) {
    const s = window[i] as Sample;
    if (s.qc !== 'ok') continue;
    if (n === 0) firstTs = s.ts;
    n += 1;
  }
  return { n, firstTs };
}

/**
 * Ordinary least squares airC = intercept + slope·x(ts) over the valid samples of window[lo, hi); null when fewer than
 * two or when x does not vary. Two passes (means, then deviations), as fitLine does.
 */
export function fitValidAir(window: readonly Sample[], lo: number, hi: number, x: (ts: number) => number): LineFit | null {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = lo; i < hi; i += 1) {
    const s = window[i] as Sample;
    if (s.qc !== 'ok') continue;
    n += 1;
    sx += x(s.ts);
    sy += s.airC;
  }
  if (n < 2) return null;
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = lo; i < hi; i += 1) {
    const s = window[i] as Sample;
    if (s.qc !== 'ok') continue;
    const dx = x(s.ts) - mx;
    sxx += dx * dx;
    sxy += dx * (s.airC - my);
  }
  if (sxx < 1e-12) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
