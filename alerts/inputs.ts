import type { DecisionInputs } from '../contracts/index.js';
import { eveningT2, forecastMinAirOnlyC, forecastMinC } from './ffst.js';
import { fitLine, median } from './median.js';
import { nowcastMin } from './nowcast.js';
import { dewPointC, frostPointC, stationPressureHPa, wetBulbC } from './psychro.js';
import type { Rules } from './rules.js';
import type { NightState, Sample, StationRuleState } from './types.js';
import { lowerBound, upperBound } from './window.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** DESIGN.md: decisions rest on 5-minute medians. */
export const MEDIAN_WINDOW_MS = 5 * MINUTE_MS;
/** A trend needs readings over at least half its window. */
const MIN_TREND_SPAN_FRACTION = 0.5;

/** What the engine computes at `t`, beyond the contract's DecisionInputs. */
export interface Assessment {
  inputs: DecisionInputs;
  /** The forecast comes from the evening approximation (before T₂), not from T₂ itself. */
  forecastIsEvening: boolean;
  /** Median of a real leaf sensor; null without one. */
  leafSensorC: number | null;
}

export function validSamples(window: readonly Sample[]): Sample[] {
  return window.filter((s) => s.qc === 'ok');
}

/** The valid samples with `fromTs` ≤ ts ≤ `toTs`, from a window sorted by ts. */
function validBetween(window: readonly Sample[], fromTs: number, toTs: number): Sample[] {
  const out: Sample[] = [];
  for (let i = lowerBound(window, fromTs); i < window.length; i += 1) {
    const s = window[i] as Sample;
    if (s.ts > toTs) break;
    if (s.qc === 'ok') out.push(s);
  }
  return out;
}

function medianOf(samples: readonly Sample[], pick: (s: Sample) => number | null): number | null {
  const values: number[] = [];
  for (const s of samples) {
    const v = pick(s);
    if (v !== null) values.push(v);
  }
  return median(values);
}

/** Least-squares slope over the valid samples in (t − windowMs, t]; `valid` sorted, none after t. */
function trendCPerH(valid: readonly Sample[], t: number, windowMs: number): number | null {
  const from = upperBound(valid, t - windowMs);
  const first = valid[from];
  const n = valid.length - from;
  if (!first || n < 3 || t - first.ts < windowMs * MIN_TREND_SPAN_FRACTION) return null;
  const xs = new Array<number>(n);
  const ys = new Array<number>(n);
  for (let k = 0; k < n; k += 1) {
    const s = valid[from + k] as Sample;
    xs[k] = (s.ts - t) / HOUR_MS;
    ys[k] = s.airC;
  }
  const fit = fitLine(xs, ys);
  return fit ? fit.slope : null;
}

function forecast(night: NightState, airC: number, dewC: number | null, t: number, rules: Rules): { minC: number; evening: boolean } {
  if (night.t2Captured && night.t2C !== null) {
    const minC = night.td2C !== null ? forecastMinC(rules.ffst, night.t2C, night.td2C) : forecastMinAirOnlyC(rules.ffstAirOnly, night.t2C);
    return { minC, evening: false };
  }
  const est = eveningT2(airC, dewC, (night.sunsetMs + 2 * HOUR_MS - t) / HOUR_MS, rules.eveningCoolingCPerH);
  const minC = est.td2C !== null ? forecastMinC(rules.ffst, est.t2C, est.td2C) : forecastMinAirOnlyC(rules.ffstAirOnly, est.t2C);
  return { minC, evening: true };
}

/** DecisionInputs at `t` from the valid readings up to `t` (5-minute medians, 1-h trend, nowcast, FFST). */
export function assess(state: StationRuleState, t: number, rules: Rules): Assessment {
  // Every rule below looks back at most this far; the window itself may hold hours more.
  const lookbackMs = Math.max(MEDIAN_WINDOW_MS, rules.trendWindowMs, rules.nowcastMaxSpanMs);
  const valid = validBetween(state.window, t - lookbackMs, t);
  const recent = valid.slice(upperBound(valid, t - MEDIAN_WINDOW_MS));
  const airC = medianOf(recent, (s) => s.airC);
  // Capacitive sensors read up to ~103 % in fog; saturation is 100 % (the excess passed QC's slack).
  const rhMedian = medianOf(recent, (s) => (s.humidityOk ? s.rhPct : null));
  const rhPct = rhMedian === null ? null : Math.min(rhMedian, 100);
  const windMs = medianOf(recent, (s) => s.windMs);
  const leafSensorC = medianOf(recent, (s) => s.leafC);
  const batteryV = state.window.at(-1)?.batteryV ?? null;
  const hasRh = airC !== null && rhPct !== null && rhPct > 0;
  const dew = hasRh ? dewPointC(airC, rhPct) : null;
  const trend = trendCPerH(valid, t, rules.trendWindowMs);
  const night = state.night;
  const nc = night && airC !== null
    ? nowcastMin(valid, t, night.sunsetMs, night.sunriseMs, dew, {
        minSpanMs: rules.nowcastMinSpanMs,
        maxSpanMs: rules.nowcastMaxSpanMs,
        floorBelowDewC: rules.nowcastFloorBelowDewC,
      })
    : null;
  const fc = night && !night.ffstVoid && airC !== null && t < night.sunriseMs ? forecast(night, airC, dew, t, rules) : null;
  const radiative = trend === null ? null : (windMs === null || windMs < rules.radiativeWindMs) && trend < 0;
  const inputs: DecisionInputs = {
    readingTs: t,
    airTempC: airC,
    rhPct,
    windMs,
    dewPointC: dew,
    frostPointC: hasRh ? frostPointC(airC, rhPct) : null,
    wetBulbC: hasRh ? wetBulbC(airC, rhPct, stationPressureHPa(state.ctx.elevationM)) : null,
    leafEstC: leafSensorC ?? (airC === null ? null : airC - rules.leafOffsetC),
    trendCPerH: trend,
    nowcastMinC: nc?.minC ?? null,
    forecastMinC: fc?.minC ?? null,
    forecastMinAtMs: fc ? (night?.sunriseMs ?? null) : null,
    sunsetMs: night?.sunsetMs ?? null,
    sunriseMs: night?.sunriseMs ?? null,
    radiative,
    batteryV,
  };
  return { inputs, forecastIsEvening: fc?.evening ?? false, leafSensorC };
}

export function emptyInputs(t: number, batteryV: number | null): DecisionInputs {
  return {
    readingTs: t,
    airTempC: null,
    rhPct: null,
    windMs: null,
    dewPointC: null,
    frostPointC: null,
    wetBulbC: null,
    leafEstC: null,
    trendCPerH: null,
    nowcastMinC: null,
    forecastMinC: null,
    forecastMinAtMs: null,
    sunsetMs: null,
    sunriseMs: null,
    radiative: null,
    batteryV,
  };
}
