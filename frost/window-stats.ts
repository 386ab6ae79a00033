/**
 * Statistics over a slice [lo, hi) of the engine's window, counting only samples that passed QC — computed in place.
 * The engine evaluates every reading against the last two hours of its station (up to 720 samples at 10 s sampling);
 * copying the valid samples and their x/y values into fresh arrays for each reading made ~20 KB of garbage a reading,
 * which the young-generation GC then had to sweep while PUBACKs and alerts waited.
 */
import type { SampleWindow } from './sample-window.js';

/** Reused sort buffer for medians; grows to the largest slice seen (a few KB). */
let scratch = new Float64Array(256);

/** A column of the window a median is taken of; `rhPct` counts only samples whose humidity passed QC. */
export type MedianColumn = 'airC' | 'rhPct' | 'windMs' | 'leafC';

/** Median of `column` over the valid samples of window[lo, hi); null when none has a value. */
export function validMedian(window: SampleWindow, lo: number, hi: number, column: MedianColumn): number | null {
  if (scratch.length < hi - lo) scratch = new Float64Array(Math.max(hi - lo, scratch.length * 2));
  let n = 0;
  // One loop a column: the accessor is fixed in each, so each stays monomorphic and allocates nothing.
  if (column === 'airC') {
    for (let i = lo; i < hi; i += 1) if (window.isValid(i)) scratch[n++] = window.airC(i);
  } else if (column === 'rhPct') {
    for (let i = lo; i < hi; i += 1) {
      if (!window.isValid(i) || !window.humidityOk(i)) continue;
      const v = window.rhPct(i);
      if (v !== null) scratch[n++] = v;
    }
  } else if (column === 'windMs') {
    for (let i = lo; i < hi; i += 1) {
      if (!window.isValid(i)) continue;
      const v = window.windMs(i);
      if (v !== null) scratch[n++] = v;
    }
  } else {
    for (let i = lo; i < hi; i += 1) {
      if (!window.isValid(i)) continue;
      const v = window.leafC(i);
      if (v !== null) scratch[n++] = v;
    }
  }
  if (n === 0) return null;
  const sorted = scratch.subarray(0, n).sort(); // typed arrays sort numerically, without a comparator call per step
  const mid = n >> 1;
  const upper = sorted[mid] as number;
  return n % 2 === 1 ? upper : ((sorted[mid - 1] as number) + upper) / 2;
}

export interface LineFit {
  slope: number;
  intercept: number;
}

export interface SliceFit {
  /** The least-squares line; null when fewer than two samples or when x does not vary. */
  fit: LineFit | null;
  /** Valid samples in the slice. */
  n: number;
  /** ts of the first of them; NaN when there is none. */
  firstTs: number;
}

/**
 * Ordinary least squares airC = intercept + slope·x(ts) over the valid samples of window[lo, hi), in one pass:
 * x stays within a few units here (hours of a trend window, √hours since sunset), so the sums of squares lose nothing
 * that matters to a slope in °C/h.
 */
export function fitValidAir(window: SampleWindow, lo: number, hi: number, x: (ts: number) => number): SliceFit {
  let n = 0;
  let firstTs = Number.NaN;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = lo; i < hi; i += 1) {
    if (!window.isValid(i)) continue;
    const ts = window.ts(i);
    const airC = window.airC(i);
    if (n === 0) firstTs = ts;
    n += 1;
    const xi = x(ts);
    sx += xi;
    sy += airC;
    sxx += xi * xi;
    sxy += xi * airC;
  }
  if (n < 2) return { fit: null, n, firstTs };
  const mx = sx / n;
  const my = sy / n;
  const varX = sxx - n * mx * mx;
  if (varX < 1e-12) return { fit: null, n, firstTs };
  const slope = (sxy - n * mx * my) / varX;
  return { fit: { slope, intercept: my - slope * mx }, n, firstTs };
}
