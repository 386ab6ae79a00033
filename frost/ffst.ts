import type { Reading } from '../contracts/index.js';
import { median } from './median.js';
import { leastSquares } from './minimum-model.js';
import { dewPointC } from './psychro.js';
import type { FfstAirOnlyModel, FfstModel, NightFeatures } from './types.js';

/**
 * FAO Frost Forecast (FFST), Snyder & de Melo-Abreu 2005, "Frost Protection: fundamentals, practice and economics",
 * vol. 1 ch. 5: the minimum of a radiative night from the air temperature and dew point two hours after sunset,
 * Tp = a·T₂ + b·Td₂ + c, fitted per site by least squares; and the overnight curve T(i) = T₂ + b′·√(i − 2).
 */

const HOUR_MS = 3_600_000;
/** T₂ and Td₂ are medians of the readings within ±10 min of sunset + 2 h (one DWD 10-min step each side). */
export const T2_HALF_WINDOW_MS = 10 * 60_000;
/** The night's minimum is looked for from sunset to one hour after sunrise (the minimum is near sunrise). */
const MIN_AFTER_SUNRISE_MS = HOUR_MS;
/** FAO ch. 5: a radiative night has wind < 2 m/s. */
const RADIATIVE_WIND_MS = 2;

export function forecastMinC(model: FfstModel, t2C: number, td2C: number): number {
  return model.a * t2C + model.b * td2C + model.c;
}

export function forecastMinAirOnlyC(model: FfstAirOnlyModel, t2C: number): number {
  return model.a * t2C + model.c;
}

/**
 * FFST temperature trend: T(i) = T₂ + b′·√(i − 2) with b′ = (Tp − T₂)/√(n − 2), i hours after sunset and n the
 * hours from sunset to sunrise (when the minimum is reached). Before i = 2 the curve is not defined; T₂ is returned.
 */
export function ffstCurveC(t2C: number, tpC: number, sunsetMs: number, sunriseMs: number, atMs: number): number {
  const n = (sunriseMs - sunsetMs) / HOUR_MS;
  const i = Math.min((atMs - sunsetMs) / HOUR_MS, n);
  if (i <= 2 || n <= 2) return t2C;
  return t2C + ((tpC - t2C) / Math.sqrt(n - 2)) * Math.sqrt(i - 2);
}

function rmse(residuals: readonly number[]): number {
  return Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
}

export type FfstFitMethod = 'ffst' | 'joint';

/**
 * Fit Tp = a·T₂ + b·Td₂ + c on nights with a dew point.
 * - 'ffst' (default), as FFST.xls does it (Snyder & de Melo-Abreu 2005 ch. 5; ported the same way by the R package
 *   `frost`, anadiedrichs/frost buildFAO): least squares of the minimum on T₂ (slope a, intercept w), then of the
 *   residuals on Td₂ (slope b, intercept d); c = w + d. Reproduces the book's worked example.
 * - 'joint': ordinary multiple least squares on both at once (never worse in sample).
 * Throws when fewer than 4 such nights or when they do not vary: asking for a fit without data is a caller's bug.
 */
export function fitFfst(nights: readonly NightFeatures[], method: FfstFitMethod = 'ffst'): FfstModel & { n: number; rmseC: number } {
  const usable = nights.filter((n): n is NightFeatures & { td2C: number } => n.td2C !== null);
  if (usable.length < 4) throw new RangeError(`fitFfst needs ≥ 4 nights with a dew point, got ${usable.length}`);
  const model = method === 'joint' ? jointFit(usable) : twoStageFit(usable);
  if (!model) throw new RangeError('fitFfst: T₂ or Td₂ does not vary (or they are collinear); cannot fit');
  const residuals = usable.map((n) => n.minC - forecastMinC(model, n.t2C, n.td2C));
  return { ...model, n: usable.length, rmseC: rmse(residuals) };
}

type WithDew = NightFeatures & { td2C: number };

function jointFit(nights: readonly WithDew[]): FfstModel | null {
  const beta = leastSquares(
    nights.map((n) => [n.t2C, n.td2C, 1]),
    nights.map((n) => n.minC),
  );
  return beta ? { a: beta[0] as number, b: beta[1] as number, c: beta[2] as number } : null;
}

function twoStageFit(nights: readonly WithDew[]): FfstModel | null {
  const first = leastSquares(
    nights.map((n) => [n.t2C, 1]),
    nights.map((n) => n.minC),
  );
  if (!first) return null;
  const [a, w] = first as [number, number];
  const second = leastSquares(
    nights.map((n) => [n.td2C, 1]),
    nights.map((n) => n.minC - (a * n.t2C + w)),
  );
  if (!second) return null;
  const [b, d] = second as [number, number];
  return { a, b, c: w + d };
}

/** Temperature-only FFST, Tp = a·T₂ + c, for stations without humidity. */
export function fitFfstAirOnly(nights: readonly NightFeatures[]): FfstAirOnlyModel & { n: number; rmseC: number } {
  if (nights.length < 3) throw new RangeError(`fitFfstAirOnly needs ≥ 3 nights, got ${nights.length}`);
  const beta = leastSquares(
    nights.map((n) => [n.t2C, 1]),
    nights.map((n) => n.minC),
  );
  if (!beta) throw new RangeError('fitFfstAirOnly: T₂ does not vary; cannot fit');
  const [a, c] = beta as [number, number];
  return { a, c, n: nights.length, rmseC: rmse(nights.map((n) => n.minC - (a * n.t2C + c))) };
}

/**
 * The FFST features of one night from its readings: T₂ and Td₂ (medians within ±10 min of sunset + 2 h), the
 * minimum from sunset to sunrise + 1 h, and whether it was calm. Null when the readings do not cover T₂ or the night.
 */
export function nightFeatures(readings: readonly Reading[], sunsetMs: number, sunriseMs: number): NightFeatures | null {
  const s2 = sunsetMs + 2 * HOUR_MS;
  const atT2 = readings.filter((r) => Math.abs(r.ts - s2) <= T2_HALF_WINDOW_MS);
  const t2C = median(atT2.map((r) => r.airTempC));
  if (t2C === null) return null;
  const dews = atT2.flatMap((r) => (r.rhPct !== undefined && r.rhPct > 0 ? [dewPointC(r.airTempC, r.rhPct)] : []));
  const night = readings.filter((r) => r.ts >= sunsetMs && r.ts <= sunriseMs + MIN_AFTER_SUNRISE_MS);
  const coldest = night.reduce<Reading | null>((m, r) => (m === null || r.airTempC < m.airTempC ? r : m), null);
  if (!coldest) return null;
  const winds = night.flatMap((r) => (r.windMs !== undefined ? [r.windMs] : []));
  const radiative = winds.length === 0 ? null : winds.reduce((s, w) => s + w, 0) / winds.length < RADIATIVE_WIND_MS;
  return { sunsetMs, sunriseMs, t2C, td2C: median(dews), minC: coldest.airTempC, minAtMs: coldest.ts, radiative };
}
