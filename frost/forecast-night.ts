import type { Rules } from './rules.js';

/**
 * The day before (docs/frost-model.md, "Pre-alert from the weather forecast"): a numerical forecast's hours of one
 * night, the station's correction of its minimum, and whether the night looks like radiative frost. Pure: the same
 * hours, correction and rules always give the same answer.
 */

/** One forecast hour at a station's place. Any value may be missing (null): a model that does not cover the hour. */
export interface ForecastHour {
  /** Epoch ms, the start of the hour. */
  ts: number;
  tempC: number | null;
  dewPointC: number | null;
  /** Total cloud cover, 0–100 %. */
  cloudPct: number | null;
  /** 10 m wind, m/s. */
  windMs: number | null;
}

/** A night as the forecast sees it, from 18:00 of its evening to 07:00 the next morning, local time. */
export interface NightSummary {
  forecastMinC: number;
  minAtMs: number;
  /** Means over the night's hours. */
  cloudPct: number;
  windMs: number;
  dewPointC: number;
  hours: number;
}

/** The station's learnt relation between the forecast's minimum and its own: observed ≈ alpha + beta · forecast. */
export interface MinimumCorrection {
  alpha: number;
  beta: number;
  /** Nights it was learnt from. */
  n: number;
  /** Residual error of the fit (the prior's assumed error before any night). */
  rmseC: number;
  kind: 'prior' | 'bias' | 'linear';
}

/** The forecast's night this is judged for, and what it found. */
export interface NightOutlook {
  summary: NightSummary;
  correctedMinC: number;
  clear: boolean;
  calm: boolean;
  dry: boolean;
  /** Clear, calm, dry and a corrected minimum at or below the pre-alert threshold. */
  frostLikely: boolean;
}

export interface PreAlertRules {
  /** Mean night cloud cover at most this (%): the sky is clear enough for the ground to radiate. */
  clearMaxCloudPct: number;
  /** Mean 10 m wind at most this (m/s). */
  calmMaxWindMs: number;
  /** Mean night dew point at most this (°C). */
  dryMaxDewPointC: number;
  /** The corrected minimum at most this (°C, before the crop's shift). */
  minC: number;
}

/**
 * - clear: ≤ 30 % — the forecast's cloud cover is a grid-cell fraction; Snyder & de Melo-Abreu (FAO 2005, ch. 2) name
 *   clear skies as the first condition of a radiation frost, and 30 % still lets a night radiate most of its heat.
 * - calm: 3 m/s at 10 m ≈ the ladder's 2 m/s at 2 m (`radiativeWindMs`, FAO FFST ch. 5) under the log wind profile of
 *   a night-time coffee canopy (2 m wind ≈ 0.7 × 10 m wind).
 * - dry: 6 °C — Lạc Dương's frost nights have dew points well below the minimum's 0 °C; a wet air mass holds the night
 *   up by condensing (the ladder's own dry-air test is dew point ≤ 2 °C on the station; the forecast's mean over the
 *   night is given room for its own error).
 * - minC: 2 °C — the Warning threshold (0.5 °C) plus one corrected forecast's error a day ahead (~1.5 °C, ECMWF's
 *   2 m night-time error on clear nights after the station's correction).
 */
export const DEFAULT_PREALERT_RULES: PreAlertRules = { clearMaxCloudPct: 30, calmMaxWindMs: 3, dryMaxDewPointC: 6, minC: 2 };

/** Before a station has nights of its own: numerical models are 1–2 °C too warm on clear, calm nights (ECMWF). */
export const PRIOR_CORRECTION: MinimumCorrection = { alpha: -1.5, beta: 1, n: 0, rmseC: 2, kind: 'prior' };

/** Bias alone from this many nights; a slope too from LINEAR_FROM (a slope from fewer nights follows their noise). */
const BIAS_FROM = 5;
const LINEAR_FROM = 15;
/** A learnt bias counts n / (n + SHRINK_NIGHTS) against the prior's. */
const SHRINK_NIGHTS = 5;
const BETA_RANGE = [0.5, 1.5] as const;

const HOUR_MS = 3_600_000;
export const NIGHT_FROM_HOUR = 18;
export const NIGHT_TO_HOUR = 7;

/**
 * The night's hours: `eveningMs` is local midnight of the evening's date; the night runs from its 18:00 to 07:00 the
 * next morning (13 hours). Hours without a temperature are left out; null when fewer than half remain.
 */
export function summariseNight(hours: readonly ForecastHour[], eveningMidnightMs: number): NightSummary | null {
  const from = eveningMidnightMs + NIGHT_FROM_HOUR * HOUR_MS;
  const to = eveningMidnightMs + (24 + NIGHT_TO_HOUR) * HOUR_MS;
  const inNight = hours.filter((h) => h.ts >= from && h.ts <= to && h.tempC !== null && Number.isFinite(h.tempC));
  const expected = 24 + NIGHT_TO_HOUR - NIGHT_FROM_HOUR + 1;
  if (inNight.length < expected / 2) return null;
  let coldest = inNight[0] as ForecastHour & { tempC: number };
  for (const h of inNight) if ((h.tempC as number) < coldest.tempC) coldest = h as ForecastHour & { tempC: number };
  return {
    forecastMinC: coldest.tempC,
    minAtMs: coldest.ts,
    // A missing cloud or wind value counts against frost: unknown never becomes clear and calm.
    cloudPct: meanOr(
      inNight.map((h) => h.cloudPct),
      100,
    ),
    windMs: meanOr(
      inNight.map((h) => h.windMs),
      Infinity,
    ),
    dewPointC: meanOr(
      inNight.map((h) => h.dewPointC),
      Infinity,
    ),
    hours: inNight.length,
  };
}

export function correctMinimum(c: MinimumCorrection, forecastMinC: number): number {
  return c.alpha + c.beta * forecastMinC;
}

/** Judge one night for a pre-alert; `rules` shift the threshold for the station's crop. */
export function judgeNight(
  summary: NightSummary,
  correction: MinimumCorrection,
  rules: Pick<Rules, 'cropShiftC'>,
  pre: PreAlertRules = DEFAULT_PREALERT_RULES,
): NightOutlook {
  const correctedMinC = round2(correctMinimum(correction, summary.forecastMinC));
  const clear = summary.cloudPct <= pre.clearMaxCloudPct;
  const calm = summary.windMs <= pre.calmMaxWindMs;
  const dry = summary.dewPointC <= pre.dryMaxDewPointC;
  const cold = correctedMinC <= pre.minC + rules.cropShiftC;
  return { summary, correctedMinC, clear, calm, dry, frostLikely: clear && calm && dry && cold };
}

/** A night the station saw, with what the forecast had said of it. */
export interface MinimumPair {
  forecastMinC: number;
  observedMinC: number;
}

/**
 * Learn observed ≈ alpha + beta · forecast from a station's nights (MOS, as the FAO FFST is fitted per site):
 * - fewer than 5 nights: the prior (−1.5 °C, slope 1);
 * - 5–14: the mean error, shrunk towards the prior's by n / (n + 5);
 * - 15 or more: least squares, the slope held to 0.5–1.5 (a season of nights does not make a model twice as cold).
 * Only nights whose forecast minimum was below `maxForecastC` teach it: warm nights say nothing about frost.
 */
export function fitCorrection(pairs: readonly MinimumPair[], maxForecastC = 10): MinimumCorrection {
  const usable = pairs.filter((p) => Number.isFinite(p.forecastMinC) && Number.isFinite(p.observedMinC) && p.forecastMinC <= maxForecastC);
  const n = usable.length;
  if (n < BIAS_FROM) return { ...PRIOR_CORRECTION, n };
  const errors = usable.map((p) => p.observedMinC - p.forecastMinC);
  if (n < LINEAR_FROM) {
    const bias = mean(errors);
    const weight = n / (n + SHRINK_NIGHTS);
    const alpha = weight * bias + (1 - weight) * PRIOR_CORRECTION.alpha;
    const rmseC = Math.sqrt(mean(errors.map((e) => (e - alpha) ** 2)));
    return { alpha: round2(alpha), beta: 1, n, rmseC: round2(rmseC), kind: 'bias' };
  }
  const xs = usable.map((p) => p.forecastMinC);
  const ys = usable.map((p) => p.observedMinC);
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const sxy = xs.reduce((s, x, i) => s + (x - mx) * ((ys[i] as number) - my), 0);
  const raw = sxx > 0 ? sxy / sxx : 1;
  const beta = Math.min(BETA_RANGE[1], Math.max(BETA_RANGE[0], raw));
  const alpha = my - beta * mx;
  const rmseC = Math.sqrt(mean(xs.map((x, i) => ((ys[i] as number) - (alpha + beta * x)) ** 2)));
  return { alpha: round2(alpha), beta: round2(beta), n, rmseC: round2(rmseC), kind: 'linear' };
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function meanOr(values: readonly (number | null)[], missing: number): number {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return known.length < values.length / 2 ? missing : round2(mean(known));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
