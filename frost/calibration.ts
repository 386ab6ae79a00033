import { bucketOf, hourBlend, MINIMUM_BUCKETS } from './minimum-model.js';
import type { Rules } from './rules.js';
import type { NightState, StationCalibration, StationRuleState } from './types.js';

/**
 * Each station learns its own forecast error, night by night. The minimum model is fitted on many stations; a frost
 * hollow runs colder than it says and a slope or a town warmer (on the shipped nights the stations' mean errors span
 * −1.5…+1.5 °C). After every night the engine compares the forecasts it made at each hour after sunset with the
 * minimum the station then measured, and keeps an exponentially weighted mean of that error per hour; later forecasts
 * are corrected by it, weighted by how many nights it rests on (n / (n + k): a new station starts on the pooled model).
 * This is what "refit per station after a season" does by hand, done every morning and without the officer.
 */

const HOUR_MS = 3_600_000;
/** The night's minimum is looked for until sunrise + 3 h (the frost-nights labels use the same span). */
export const NIGHT_END_AFTER_SUNRISE_MS = 3 * HOUR_MS;

export function emptyCalibration(): StationCalibration {
  return { biasC: new Array<number>(MINIMUM_BUCKETS).fill(0), nights: new Array<number>(MINIMUM_BUCKETS).fill(0) };
}

/** The correction to subtract from a model forecast made `sinceSunsetH` after sunset (blended between hours). */
export function calibrationOffsetC(cal: StationCalibration, sinceSunsetH: number, rules: Rules): number {
  const { lo, hi, w } = hourBlend(sinceSunsetH);
  const at = (b: number): number => {
    const n = cal.nights[b] ?? 0;
    return n === 0 ? 0 : ((cal.biasC[b] ?? 0) * n) / (n + rules.calibrationPriorNights);
  };
  return (1 - w) * at(lo) + w * at(hi);
}

/** Note the model's forecast (uncorrected) at `t`, once per hour after sunset, and the night's lowest air so far. */
export function observeNight(night: NightState, t: number, airC: number, modelForecastC: number | null): NightState {
  const inNight = t >= night.sunsetMs && t < night.sunriseMs + NIGHT_END_AFTER_SUNRISE_MS;
  if (!inNight) return night;
  const minAirC = night.minAirC === null ? airC : Math.min(night.minAirC, airC);
  const b = bucketOf((t - night.sunsetMs) / HOUR_MS);
  const record = modelForecastC !== null && t < night.sunriseMs && (night.forecastByHourC[b] ?? null) === null;
  if (!record && minAirC === night.minAirC) return night;
  const forecastByHourC = record ? night.forecastByHourC.map((f, i) => (i === b ? modelForecastC : f)) : night.forecastByHourC;
  return { ...night, minAirC, forecastByHourC };
}

/**
 * Fold a finished night into the station's calibration: for each hour with a forecast, the error against the measured
 * minimum. Only a night whose readings reached sunrise counts (otherwise its minimum is unknown), and only hours whose
 * forecast was near frost (≤ `calibrationMaxForecastC`): warm nights say little about cold ones.
 */
export function learnFromNight(state: StationRuleState, rules: Rules): StationRuleState {
  const night = state.night;
  if (!night || night.minAirC === null || state.newestTs === null || state.newestTs < night.sunriseMs) return state;
  const cal = state.calibration;
  const biasC = [...cal.biasC];
  const nights = [...cal.nights];
  let learnt = false;
  for (let b = 0; b < night.forecastByHourC.length; b += 1) {
    const f = night.forecastByHourC[b] ?? null;
    if (f === null || f > rules.calibrationMaxForecastC) continue;
    const error = f - night.minAirC;
    const n = nights[b] ?? 0;
    biasC[b] = n === 0 ? error : (1 - rules.calibrationWeight) * (biasC[b] ?? 0) + rules.calibrationWeight * error;
    nights[b] = n + 1;
    learnt = true;
  }
  if (!learnt) return state;
  return { ...state, calibration: { biasC: biasC.map((v) => Math.round(v * 1000) / 1000), nights } };
}
