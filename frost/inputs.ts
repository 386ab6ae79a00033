import type { DecisionInputs } from '../contracts/index.js';
import { forecastMinC } from './ffst.js';
import { calibrationOffsetC } from './calibration.js';
import { predictMinimum } from './minimum-model.js';
import { nowcastMin } from './nowcast.js';
import { dewPointC, frostPointC, stationPressureHPa, wetBulbC } from './psychro.js';
import type { Rules } from './rules.js';
import type { SampleWindow } from './sample-window.js';
import type { NightState, StationCalibration, StationRuleState } from './types.js';
import { fitValidAir, validMedian } from './window-stats.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** docs/frost-model.md: decisions rest on 5-minute medians. */
export const MEDIAN_WINDOW_MS = 5 * MINUTE_MS;
/** A trend needs readings over at least half its window. */
const MIN_TREND_SPAN_FRACTION = 0.5;
/** Where the last hour holds fewer than three readings (sampling every 20–60 min), the trend reaches back this far. */
const SPARSE_TREND_WINDOW_MS = 3 * HOUR_MS;

/** What the engine computes at `t`, beyond the contract's DecisionInputs. */
export interface Assessment {
  inputs: DecisionInputs;
  /** The forecast was made before sunset: good for a Watch only. */
  forecastIsEvening: boolean;
  /** Spread of the forecast's error, °C (the model's residual deviation at this hour); null when unknown. */
  forecastSdC: number | null;
  /** The minimum model's own forecast, before the station's correction; null when it did not forecast. */
  modelForecastC: number | null;
  /** Median of a real leaf sensor; null without one. */
  leafSensorC: number | null;
}

/** Index of the last sample before `end` that passed QC; -1 when none. */
export function lastValidBefore(window: SampleWindow, end: number): number {
  for (let i = end - 1; i >= 0; i -= 1) if (window.isValid(i)) return i;
  return -1;
}

/** Index of the first sample from `from` on that passed QC; `window.length` when none. */
export function firstValidFrom(window: SampleWindow, from: number): number {
  for (let i = from; i < window.length; i += 1) if (window.isValid(i)) return i;
  return window.length;
}

/**
 * Least-squares slope over the valid samples in (t − windowMs, t]; window[…, hi) holds none after t. At sparse
 * sampling the window widens to three hours, where two readings an hour or more apart give the slope.
 */
export function trendCPerH(window: SampleWindow, hi: number, t: number, windowMs: number): number | null {
  const x = (ts: number): number => (ts - t) / HOUR_MS;
  const near = fitValidAir(window, window.upperBound(t - windowMs), hi, x);
  if (near.n >= 3 && t - near.firstTs >= windowMs * MIN_TREND_SPAN_FRACTION) return near.fit ? near.fit.slope : null;
  const wide = fitValidAir(window, window.upperBound(t - Math.max(windowMs, SPARSE_TREND_WINDOW_MS)), hi, x);
  if (wide.n < 2 || t - wide.firstTs < windowMs * MIN_TREND_SPAN_FRACTION) return null;
  return wide.fit ? wide.fit.slope : null;
}

export interface Forecast {
  minC: number;
  /** The model's forecast before the station's own correction (what calibration.ts learns from); null for an FFST. */
  modelMinC: number | null;
  /** Spread of the error of `minC` (the minimum model's residual deviation at this hour); null for a station's FFST. */
  sdC: number | null;
  /** Before sunset: an estimate for the Watch only. */
  evening: boolean;
  source: 'model' | 'station-ffst';
}

/**
 * The night's minimum as known at `t`: the minimum model on this reading (frost/minimum-model.ts) — or, once T₂ is
 * captured, the station's own FFST where `frostwatch model fit` has fitted one on its nights. Before sunset the model
 * runs outside the hours it was fitted on; its estimate may raise a Watch, never more.
 */
export function forecastAt(
  night: NightState,
  cal: StationCalibration,
  airC: number,
  dewC: number | null,
  trend: number | null,
  t: number,
  rules: Rules,
): Forecast {
  const station = rules.ffst;
  if (station && night.t2Captured && night.t2C !== null && night.td2C !== null) {
    return {
      minC: Math.min(airC, forecastMinC(station, night.t2C, night.td2C)),
      modelMinC: null,
      sdC: null,
      evening: false,
      source: 'station-ffst',
    };
  }
  const f = predictMinimum(rules.minimumModel, {
    airC,
    dewC,
    trendCPerH: trend,
    sinceSunsetH: (t - night.sunsetMs) / HOUR_MS,
    toSunriseH: (night.sunriseMs - t) / HOUR_MS,
  });
  const corrected = Math.min(airC, f.minC - calibrationOffsetC(cal, (t - night.sunsetMs) / HOUR_MS, rules));
  return { minC: corrected, modelMinC: f.minC, sdC: f.sdC, evening: t < night.sunsetMs, source: 'model' };
}

/** DecisionInputs at `t` from the valid readings up to `t` (5-minute medians, 1-h trend, nowcast, FFST). */
export function assess(state: StationRuleState, t: number, rules: Rules): Assessment {
  // Every rule below reads a slice of the window ending at t, found by binary search; nothing is copied.
  const { window } = state;
  const hi = window.upperBound(t);
  const recent = window.upperBound(t - MEDIAN_WINDOW_MS);
  const airC = validMedian(window, recent, hi, 'airC');
  // Capacitive sensors read up to ~103 % in fog; saturation is 100 % (the excess passed QC's slack).
  const rhMedian = validMedian(window, recent, hi, 'rhPct');
  const rhPct = rhMedian === null ? null : Math.min(rhMedian, 100);
  const windMs = validMedian(window, recent, hi, 'windMs');
  const leafSensorC = validMedian(window, recent, hi, 'leafC');
  const batteryV = window.length > 0 ? window.batteryV(window.length - 1) : null;
  const hasRh = airC !== null && rhPct !== null && rhPct > 0;
  const dew = hasRh ? dewPointC(airC, rhPct) : null;
  const trend = trendCPerH(window, hi, t, rules.trendWindowMs);
  const night = state.night;
  const nc =
    night && airC !== null
      ? nowcastMin(window, hi, t, night.sunsetMs, night.sunriseMs, dew, {
          minSpanMs: rules.nowcastMinSpanMs,
          maxSpanMs: rules.nowcastMaxSpanMs,
          floorBelowDewC: rules.nowcastFloorBelowDewC,
        })
      : null;
  const fc =
    night && !night.ffstVoid && airC !== null && t < night.sunriseMs
      ? forecastAt(night, state.calibration, airC, dew, trend, t, rules)
      : null;
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
  return {
    inputs,
    forecastIsEvening: fc?.evening ?? false,
    forecastSdC: fc?.sdC ?? null,
    modelForecastC: fc?.modelMinC ?? null,
    leafSensorC,
  };
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
