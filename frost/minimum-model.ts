/**
 * The night's minimum from any evening or night reading: how much colder than now the 2 m air will get before
 * sunrise, as a regression on the dew-point depression and the cooling rate, scaled by the √time of cooling still to
 * come (the FFST curve T(i) = T₂ + b′·√(i − 2) of Snyder & de Melo-Abreu 2005 ch. 5, at any hour instead of only at
 * sunset + 2 h). One set of coefficients per hour since sunset, each with its residual spread: a prediction interval.
 *
 *   Tmin = T + β₀ + β₁·Δ + β₂·Δ·(T − Td) + β₃·Δ·r + β₄·(T − Td),    Δ = √(hours since sunset + hours to sunrise) − √(hours since sunset)
 *
 * The minimum depends on what is left to lose, not on where the thermometer starts, so T itself is no predictor: the
 * same coefficients serve a German lowland and a tropical highland. Without a humidity sensor: β₀ + β₁·Δ + β₃·Δ·r.
 * Fitted by `fitMinimumModel` on real nights (backtest/minimum-fit.ts); the shipped default is in minimum-default.ts.
 */

/** The inputs at one reading (the engine's 5-minute medians and trend). */
export interface MinimumFeatures {
  airC: number;
  dewC: number | null;
  /** °C/h, negative when cooling; null before the station has a trend. */
  trendCPerH: number | null;
  /** Hours since sunset (negative before sunset). */
  sinceSunsetH: number;
  /** Hours to sunrise. */
  toSunriseH: number;
}

export interface MinimumBucket {
  /** Coefficients of [1, Δ, Δ·(T − Td), Δ·r, (T − Td)] with a dew point; of [1, Δ, Δ·r] without. */
  coef: number[];
  /** Residual standard deviation of the fit, °C. */
  sdC: number;
  /** Rows the bucket was fitted on. */
  n: number;
}

export interface MinimumModel {
  /** bucket[h] applies from h hours after sunset (the last one to the rest of the night). */
  withDew: MinimumBucket[];
  airOnly: MinimumBucket[];
  source: string;
}

export interface MinimumForecast {
  minC: number;
  sdC: number;
}

/** A reading with no trend yet (the first of a night at hourly sampling) is taken to cool this fast. */
export const TREND_UNKNOWN_C_PER_H = -0.5;
/** A trend outside this band is a front or a sensor, not radiative cooling: clamped before it is extrapolated. */
const TREND_LIMIT_C_PER_H = 4;
/** Dew-point depressions beyond this (desert afternoons) are all "dry": the fit saturates there. */
const DEPRESSION_LIMIT_C = 25;
export const MINIMUM_BUCKETS = 10;

/**
 * Where `sinceSunsetH` falls between the middles of two hour buckets: the lower one, the upper one, and the weight of
 * the upper. Forecast coefficients and a station's learnt error are both blended this way.
 */
export function hourBlend(sinceSunsetH: number, buckets: number = MINIMUM_BUCKETS): { lo: number; hi: number; w: number } {
  const pos = Math.min(buckets - 1, Math.max(0, Math.max(0, sinceSunsetH) - 0.5));
  const lo = Math.floor(pos);
  return { lo, hi: Math.min(buckets - 1, lo + 1), w: pos - lo };
}

export function bucketOf(sinceSunsetH: number): number {
  return Math.min(MINIMUM_BUCKETS - 1, Math.max(0, Math.floor(sinceSunsetH)));
}

/** The regressors of one reading: [1, Δ, Δ·D, Δ·r, D] with a dew point, [1, Δ, Δ·r] without. */
export function regressors(f: MinimumFeatures): { withDew: boolean; x: number[] } {
  const s = Math.max(0, f.sinceSunsetH);
  const delta = Math.sqrt(s + Math.max(0, f.toSunriseH)) - Math.sqrt(s);
  const r = Math.max(-TREND_LIMIT_C_PER_H, Math.min(TREND_LIMIT_C_PER_H, f.trendCPerH ?? TREND_UNKNOWN_C_PER_H));
  if (f.dewC === null) return { withDew: false, x: [1, delta, delta * r] };
  const d = Math.min(DEPRESSION_LIMIT_C, Math.max(0, f.airC - f.dewC));
  return { withDew: true, x: [1, delta, delta * d, delta * r, d] };
}

/**
 * The expected minimum (never above the air now) and the spread of its error. Each bucket is fitted on its hour; the
 * coefficients are blended linearly between the middles of neighbouring hours, so the forecast moves smoothly through
 * the night instead of jumping on the hour — and a station reporting at :20 sees the same model as one at :00.
 */
export function predictMinimum(model: MinimumModel, f: MinimumFeatures): MinimumForecast {
  const { withDew, x } = regressors(f);
  const buckets = withDew ? model.withDew : model.airOnly;
  const blend = hourBlend(f.sinceSunsetH, buckets.length);
  const lo = buckets[blend.lo];
  const hi = buckets[blend.hi];
  if (!lo || !hi) throw new RangeError('minimum model has no bucket for this hour');
  const w = blend.w;
  let drop = 0;
  for (let i = 0; i < x.length; i += 1) drop += (x[i] as number) * ((1 - w) * (lo.coef[i] ?? 0) + w * (hi.coef[i] ?? 0));
  return { minC: Math.min(f.airC, f.airC + drop), sdC: (1 - w) * lo.sdC + w * hi.sdC };
}

/** One training row: the features at a reading and the night's observed 2 m minimum. */
export interface MinimumRow {
  f: MinimumFeatures;
  minC: number;
}

/**
 * Least squares per hour since sunset. A bucket with too few rows borrows the coefficients of its neighbour (the
 * late buckets of short nights), so the model always has all of them.
 */
export function fitMinimumModel(rows: readonly MinimumRow[], source: string): MinimumModel {
  const fitKind = (withDew: boolean): MinimumBucket[] => {
    const buckets: (MinimumBucket | null)[] = [];
    for (let b = 0; b < MINIMUM_BUCKETS; b += 1) {
      const xs: number[][] = [];
      const ys: number[] = [];
      for (const row of rows) {
        if (row.f.sinceSunsetH < 0 || bucketOf(row.f.sinceSunsetH) !== b) continue;
        // The air-only model learns from every row, as if its humidity were unknown: stations without RH are its users.
        const r = regressors(withDew ? row.f : { ...row.f, dewC: null });
        if (r.withDew !== withDew) continue;
        xs.push(r.x);
        ys.push(row.minC - row.f.airC);
      }
      buckets.push(fitBucket(xs, ys));
    }
    return fillGaps(buckets);
  };
  return { withDew: fitKind(true), airOnly: fitKind(false), source };
}

const MIN_ROWS = 30;

function fitBucket(xs: number[][], ys: number[]): MinimumBucket | null {
  if (xs.length < MIN_ROWS) return null;
  const beta = leastSquares(xs, ys);
  if (!beta) return null;
  let ss = 0;
  xs.forEach((x, i) => {
    const fit = x.reduce((sum, v, j) => sum + v * (beta[j] as number), 0);
    ss += ((ys[i] as number) - fit) ** 2;
  });
  return {
    coef: beta.map((v) => Math.round(v * 1e4) / 1e4),
    sdC: Math.round(Math.sqrt(ss / Math.max(1, xs.length - beta.length)) * 100) / 100,
    n: xs.length,
  };
}

function fillGaps(buckets: readonly (MinimumBucket | null)[]): MinimumBucket[] {
  const firstFitted = buckets.find((b): b is MinimumBucket => b !== null);
  if (!firstFitted) throw new RangeError('fitMinimumModel: too few readings to fit any hour of the night');
  const out: MinimumBucket[] = [];
  let last = firstFitted;
  for (const b of buckets) {
    if (b) last = b;
    out.push(b ?? last);
  }
  return out;
}

/** Normal equations, solved by Gaussian elimination with partial pivoting; null when singular. */
export function leastSquares(xs: readonly number[][], ys: readonly number[]): number[] | null {
  const k = xs[0]?.length ?? 0;
  const a = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const v = new Array<number>(k).fill(0);
  xs.forEach((x, r) => {
    for (let i = 0; i < k; i += 1) {
      v[i] = (v[i] as number) + (x[i] as number) * (ys[r] as number);
      const row = a[i] as number[];
      for (let j = 0; j < k; j += 1) row[j] = (row[j] as number) + (x[i] as number) * (x[j] as number);
    }
  });
  for (let c = 0; c < k; c += 1) {
    let p = c;
    for (let r = c + 1; r < k; r += 1) if (Math.abs((a[r] as number[])[c] as number) > Math.abs((a[p] as number[])[c] as number)) p = r;
    if (Math.abs((a[p] as number[])[c] as number) < 1e-9) return null;
    [a[c], a[p]] = [a[p] as number[], a[c] as number[]];
    [v[c], v[p]] = [v[p] as number, v[c] as number];
    for (let r = c + 1; r < k; r += 1) {
      const f = ((a[r] as number[])[c] as number) / ((a[c] as number[])[c] as number);
      for (let j = c; j < k; j += 1) (a[r] as number[])[j] = ((a[r] as number[])[j] as number) - f * ((a[c] as number[])[j] as number);
      v[r] = (v[r] as number) - f * (v[c] as number);
    }
  }
  const out = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r -= 1) {
    let s = v[r] as number;
    for (let j = r + 1; j < k; j += 1) s -= ((a[r] as number[])[j] as number) * (out[j] as number);
    out[r] = s / ((a[r] as number[])[r] as number);
  }
  return out;
}
