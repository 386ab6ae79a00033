import { FROST_RANK, type FrostDecision, type FrostLevel } from '../contracts/index.js';
import type { Assessment } from './inputs.js';
import { hhmm } from './local-time.js';
import { fmt } from './qc.js';
import type { Rules } from './rules.js';
import type { LadderLevel, StationRuleState } from './types.js';

/**
 * The warning ladder (docs/frost-model.md): which level the data supports now, how long it has held, and
 * the moves up. During a night the ladder only climbs (de-escalation is never notified — a farmer told to cover
 * trees is not told to uncover them at midnight); it ends with an explicit all-clear.
 */

export const LADDER: readonly LadderLevel[] = ['watch', 'warning', 'severe'];

export interface Phase {
  /** 15:00 local → sunrise: the ladder may climb. */
  inRisk: boolean;
  /** 15:00–19:00 local: Watch may be issued. */
  inWatchHours: boolean;
}

export type LevelReasons = Record<LadderLevel, string | null>;

const le = (v: number | null, limit: number): v is number => v !== null && v <= limit;

/**
 * Reasons for each level the data supports. `slackC` = 0 for entry; the hysteresis band for "still holding":
 * a value inside the band neither advances nor resets a level's hold count.
 */
export function levelReasons(a: Assessment, phase: Phase, rules: Rules, tz: string, slackC: number): LevelReasons {
  const i = a.inputs;
  const spread = a.forecastSdC === null ? '' : ` ± ${fmt(a.forecastSdC)}`;
  const at = `${spread}${i.forecastMinAtMs === null ? '' : ` by ${hhmm(i.forecastMinAtMs, tz)}`}`;
  // The forecast the ladder acts on, from sunset on: for a Warning, raised by `forecastMarginSd` spreads of its error;
  // for a Severe (voice calls in the night) by `severeMarginSd` — an early, uncertain forecast must be colder to call
  // a farmer out of bed than a late, sure one.
  const sd = a.forecastSdC ?? 0;
  const fcReal = a.forecastIsEvening || i.forecastMinC === null ? null : i.forecastMinC + rules.forecastMarginSd * sd;
  const fcSure =
    fcReal === null || i.forecastMinC === null ? null : i.forecastMinC + Math.max(rules.forecastMarginSd, rules.severeMarginSd) * sd;
  const fallLimit = -rules.severeFallCPerH * (slackC > 0 ? 0.5 : 1);
  let severe: string | null = null;
  if (le(fcSure, rules.severeForecastMinC + slackC))
    severe = `forecast minimum ${fmt(i.forecastMinC as number)} °C${at}, ≤ ${fmt(rules.severeForecastMinC)} °C even ${fmt(fcSure - (i.forecastMinC as number))} warmer`;
  else if (le(i.airTempC, rules.severeAirC + slackC) && le(i.trendCPerH, fallLimit)) {
    severe = `air ${fmt(i.airTempC)} °C ≤ ${fmt(rules.severeAirC)} °C and falling ${fmt(-i.trendCPerH)} °C/h`;
  } else if (le(a.leafSensorC, rules.severeLeafC + slackC)) severe = `leaf sensor ${fmt(a.leafSensorC)} °C ≤ ${fmt(rules.severeLeafC)} °C`;
  // The night's minimum can be no warmer than the air now: an observation is the surest "forecast".
  else if (le(i.airTempC, rules.severeForecastMinC + slackC))
    severe = `air already ${fmt(i.airTempC)} °C ≤ ${fmt(rules.severeForecastMinC)} °C`;
  let warning: string | null = null;
  // The √t nowcast is not a route any more: extrapolating one or two hours of a curve to sunrise ran to −5 °C on
  // nights that ended at +3 °C (docs/frost-model.md). The minimum model carries the trend with its measured error.
  if (le(fcReal, rules.warningMinC + slackC))
    warning = `forecast minimum ${fmt(i.forecastMinC as number)} °C${at} ≤ ${fmt(rules.warningMinC)} °C`;
  else if (le(i.airTempC, rules.warningMinC + slackC)) warning = `air already ${fmt(i.airTempC)} °C ≤ ${fmt(rules.warningMinC)} °C`;
  let watch: string | null = null;
  if (phase.inWatchHours && i.radiative === true) {
    const est = a.forecastIsEvening ? ' (evening estimate)' : '';
    if (le(i.forecastMinC, rules.watchForecastMinC + slackC))
      watch = `radiative evening, forecast minimum ${fmt(i.forecastMinC)} °C ≤ ${fmt(rules.watchForecastMinC)} °C${est}`;
    else if (le(i.dewPointC, rules.watchDewPointC + slackC))
      watch = `radiative evening, dew point ${fmt(i.dewPointC)} °C ≤ ${fmt(rules.watchDewPointC)} °C`;
  }
  return phase.inRisk ? { watch, warning, severe } : { watch: null, warning: null, severe: null };
}

export const NO_HOLD: Readonly<Record<LadderLevel, number | null>> = { watch: null, warning: null, severe: null };

/** A reading stands for at most this much time when a hold is counted (a station back from a long gap starts anew). */
const MAX_READING_SPAN_MS = 3_600_000;

export interface Climb {
  heldSinceMs: Record<LadderLevel, number | null>;
  /** The level to move to now, with why; null when the ladder stays. */
  to: LadderLevel | null;
  reason: string;
}

/**
 * How long each level has held (with hysteresis), and the highest level held for `holdMs`. A reading stands for the
 * time since the reading before it (at most an hour), so one reading an hour holds a level at once and one a minute
 * after three: the same time of evidence at any cadence. `prevTs` is the previous valid reading's time, null after a gap.
 */
export function climb(
  state: StationRuleState,
  strict: LevelReasons,
  loose: LevelReasons,
  t: number,
  prevTs: number | null,
  rules: Rules,
): Climb {
  const heldSinceMs = { ...state.heldSinceMs };
  // A first reading (or the first after a gap) is judged on its own: waiting for a second would cost an hour at hourly
  // sampling, and quality control has already found it plausible.
  const start = prevTs === null ? t - rules.holdMs : Math.max(prevTs, t - MAX_READING_SPAN_MS);
  for (const level of LADDER) {
    if (strict[level] !== null) heldSinceMs[level] ??= start;
    else if (loose[level] === null) heldSinceMs[level] = null;
  }
  for (const level of [...LADDER].reverse()) {
    const since = heldSinceMs[level];
    if (since !== null && t - since >= rules.holdMs && FROST_RANK[level] > FROST_RANK[state.level]) {
      return { heldSinceMs, to: level, reason: strict[level] ?? loose[level] ?? level };
    }
  }
  return { heldSinceMs, to: null, reason: '' };
}

/** Anti-flap: a level (or all-clear) is sent at most once a night, and not again within `repeatSuppressMs`. */
export function isSuppressed(state: StationRuleState, to: LadderLevel | 'all_clear', t: number, rules: Rules): string | null {
  if (state.night?.notified.includes(to) && t < state.night.sunriseMs + rules.allClearAnywayAfterSunriseMs)
    return 'already sent this night';
  const last = state.lastNotifiedMs[to];
  return last !== undefined && t - last < rules.repeatSuppressMs ? `repeat within ${rules.repeatSuppressMs / 3_600_000} h` : null;
}

export function frostDecision(
  state: StationRuleState,
  from: FrostLevel,
  to: FrostDecision['to'],
  t: number,
  reason: string,
  notify: boolean,
  a: Assessment,
): FrostDecision {
  return { kind: 'frost', stationId: state.ctx.stationId, from, to, atMs: t, reason, notify, inputs: a.inputs };
}

/**
 * All clear: after sunrise with air above `allClearAirC` and rising (or anyway `allClearAnywayAfterSunriseMs` after
 * sunrise), or at night once wind or cloud has stopped the cooling for `nightClearHoldMs`. The caller guarantees the
 * data are valid and the station online: a failed or missing sensor never produces an all-clear.
 */
export function allClearReason(state: StationRuleState, a: Assessment, t: number, rules: Rules, tz: string): string | null {
  const night = state.night;
  const i = a.inputs;
  if (!night || i.airTempC === null || i.airTempC <= rules.allClearAirC) return null;
  const warm = `air ${fmt(i.airTempC)} °C > ${fmt(rules.allClearAirC)} °C`;
  if (t >= night.sunriseMs) {
    if (i.trendCPerH !== null && i.trendCPerH > 0) return `after sunrise, ${warm} and rising ${fmt(i.trendCPerH)} °C/h`;
    if (t >= night.sunriseMs + rules.allClearAnywayAfterSunriseMs) return `${hhmm(t, tz)}, well after sunrise, ${warm}`;
    return null;
  }
  const since = state.coolingStoppedSinceMs;
  if (since === null || t - since < rules.nightClearHoldMs) return null;
  if (i.nowcastMinC !== null && i.nowcastMinC <= rules.warningMinC + rules.hysteresisC) return null;
  const why = i.windMs !== null && i.windMs >= rules.windStopsCoolingMs ? `wind ${fmt(i.windMs)} m/s` : 'cloud';
  return `cooling stopped (${why}) for ${Math.round((t - since) / 60_000)} min, ${warm}`;
}

/** Whether wind or cloud has stopped the cooling at this moment (for the night-time all-clear). */
export function coolingStopped(a: Assessment, rules: Rules): boolean {
  const i = a.inputs;
  return (i.windMs !== null && i.windMs >= rules.windStopsCoolingMs) || (i.trendCPerH !== null && i.trendCPerH >= 0);
}
