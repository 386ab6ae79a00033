import { FROST_RANK, nightOf, type Decision, type Reading } from '../contracts/index.js';
import { T2_HALF_WINDOW_MS } from './ffst.js';
import { emptyInputs, firstValidFrom, lastValidBefore } from './inputs.js';
import { emptyCalibration, learnFromNight } from './calibration.js';
import { NO_HOLD } from './ladder.js';
import { MINIMUM_BUCKETS } from './minimum-model.js';
import { samplingIntervalMs } from './officer.js';
import type { Step } from './officer-steps.js';
import { median } from './median.js';
import { ladderOnReading, ladderOnTick } from './ladder-steps.js';
import { officerOnReading, officerOnTick } from './officer-steps.js';
import { dewPointC } from './psychro.js';
import { inRiskWindow } from './phase.js';
import { checkReading } from './qc.js';
import { SampleWindow } from './sample-window.js';
import type { Rules } from './rules.js';
import type { EngineEvent, NightState, StationContext, StationRuleState } from './types.js';

export { inRiskWindow };

const HOUR_MS = 3_600_000;
/** Keep 3 h of readings: 2 h for the nowcast, 1 h for the trend and stuck checks, T₂ ± 10 min. */
const RETENTION_MS = 3 * HOUR_MS;
/** …and at least this many readings, whatever their age (7 h of an hourly station). */
const MIN_KEPT = 8;
/** T₂ may be interpolated between readings at most this far apart (hourly stations, or one lost reading). */
const T2_MAX_BRACKET_MS = 2 * HOUR_MS + 10 * 60_000;

export function initialState(ctx: StationContext): StationRuleState {
  return {
    version: 2,
    ctx: { ...ctx },
    window: SampleWindow.empty(),
    firstSeenMs: null,
    newestTs: null,
    stuckValueC: null,
    night: null,
    level: 'none',
    notifiedLevel: 'none',
    pendingBackfill: false,
    heldSinceMs: { ...NO_HOLD },
    lastNotifiedMs: {},
    coolingStoppedSinceMs: null,
    officer: { offline: false, sensorFault: false, lastFailMs: null, lowBattery: false },
    lastInputs: null,
    calibration: emptyCalibration(),
  };
}

export interface Evaluation {
  state: StationRuleState;
  decisions: Decision[];
}

/**
 * The rule engine: one event (a received reading, possibly late or out of order, or a minute tick) in, the new state
 * and the decisions out. Pure: time is `nowMs`, the caller's clock at evaluation; `state` is not changed (its window
 * is persistent), so the caller may evaluate from it again when committing the result fails.
 */
export function evaluate(state: StationRuleState, event: EngineEvent, rules: Rules, nowMs: number): Evaluation {
  if (event.kind === 'reading') return onReading(state, event.reading, rules, nowMs);
  const officer = officerOnTick(state, rules, nowMs);
  const ladder = ladderOnTick(officer.state, rules, nowMs);
  return { state: ladder.state, decisions: [...officer.decisions, ...ladder.decisions] };
}

function onReading(state: StationRuleState, reading: Reading, rules: Rules, nowMs: number): Evaluation {
  const t = reading.ts;
  const at = state.window.lowerBound(t);
  if (at < state.window.length && state.window.ts(at) === t) return { state, decisions: [] }; // a resent reading: seen already
  const { ctx } = state;
  const bounds = nightOf(ctx.lat, ctx.lon, t);
  const atNight = t >= bounds.sunsetMs && t < bounds.sunriseMs;
  const isNewest = state.newestTs === null || t > state.newestTs;
  const earlier = isNewest ? state.window : state.window.slice(0, at); // a view: nothing copied
  const qc = checkReading(reading, earlier, isNewest ? state.stuckValueC : null, atNight, rules.qc);
  const newestTs = isNewest ? t : (state.newestTs as number);
  const window = state.window.inserted(at, qc.sample, cutoffMs(state.window, newestTs, rules));
  const next: StationRuleState = {
    ...state,
    window,
    firstSeenMs: Math.min(state.firstSeenMs ?? t, t),
    newestTs,
    stuckValueC: isNewest ? qc.stuckValueC : state.stuckValueC,
  };
  // An out-of-order reading only fills the window (medians, trend): the ladder already moved past its moment.
  if (!isNewest) return { state: next, decisions: [] };
  const late = t < nowMs - rules.lateAfterMs;
  const officer = officerOnReading(next, state.newestTs, qc, rules, nowMs, late);
  if (qc.sample.qc !== 'ok') return officer;
  const night = withNight(officer.state, t, rules);
  const prevValidTs = lastValidTs(state.window);
  const ladder = ladderOnReading(night.state, t, prevValidTs, rules, late);
  return { state: ladder.state, decisions: [...officer.decisions, ...night.decisions, ...ladder.decisions] };
}

function lastValidTs(window: SampleWindow): number | null {
  const i = lastValidBefore(window, window.length);
  return i < 0 ? null : window.ts(i);
}

/**
 * The oldest time the window must keep: three hours, and at slow sampling enough for the offline check (three of its
 * thresholds) — but never fewer than the last `MIN_KEPT` readings, so a station reporting once an hour still has the
 * evening behind it for the trend.
 */
function cutoffMs(window: SampleWindow, newestTs: number, rules: Rules): number {
  const intervalMs = samplingIntervalMs(window, newestTs, rules);
  const byTime = newestTs - Math.max(RETENTION_MS, 3 * Math.max(rules.offlineMissingMs, 2 * intervalMs) + HOUR_MS);
  const n = window.length;
  if (n >= MIN_KEPT) return Math.min(byTime, window.ts(n - MIN_KEPT));
  return n > 0 ? Math.min(byTime, window.ts(0)) : byTime;
}

/**
 * Start a new night when the risk window of a new night begins — with a fresh level: a night whose cold day gave no
 * all-clear is closed (recorded, not sent) so the new night climbs its own ladder — and capture T₂ and Td₂ once
 * sunset + 2 h is covered.
 */
function withNight(state: StationRuleState, t: number, rules: Rules): Step {
  const w = inRiskWindow(state.ctx, t, rules);
  let next = state;
  const decisions: Decision[] = [];
  if (w.inRisk && state.night?.sunriseMs !== w.sunriseMs) {
    next = learnFromNight(state, rules);
    if (state.level !== 'none') {
      const inputs = state.lastInputs ?? emptyInputs(t, null);
      const reason = 'a new night begins: the last night ended without an all-clear (the day stayed cold or data were missing)';
      decisions.push({
        kind: 'frost',
        stationId: state.ctx.stationId,
        from: state.level,
        to: 'all_clear',
        atMs: t,
        reason,
        notify: false,
        inputs,
      });
    }
    const night = freshNight(w.sunsetMs, w.sunriseMs);
    next = {
      ...next,
      night,
      level: 'none',
      notifiedLevel: 'none',
      pendingBackfill: false,
      heldSinceMs: { ...NO_HOLD },
      coolingStoppedSinceMs: null,
    };
  }
  const n = next.night;
  const s2 = n ? n.sunsetMs + 2 * HOUR_MS : 0;
  if (!n || n.t2Captured || t < s2 || t >= n.sunriseMs) return { state: next, decisions };
  const samples = next.window;
  // At fine cadence wait until the readings after sunset + 2 h are in too; at 10 min or coarser, one each side is all.
  const prev = lastValidBefore(samples, samples.lowerBound(t));
  if (t < s2 + T2_HALF_WINDOW_MS && prev >= 0 && t - samples.ts(prev) < T2_HALF_WINDOW_MS) return { state: next, decisions };
  const at = valuesAt(samples, s2);
  if (at === null) return { state: next, decisions };
  return { state: { ...next, night: { ...n, t2C: at.airC, td2C: at.dewC, t2Captured: true } }, decisions };
}

function freshNight(sunsetMs: number, sunriseMs: number): NightState {
  return {
    sunsetMs,
    sunriseMs,
    t2C: null,
    td2C: null,
    t2Captured: false,
    ffstVoid: false,
    notified: [],
    forecastByHourC: new Array<number | null>(MINIMUM_BUCKETS).fill(null),
    minAirC: null,
  };
}

/** Dew point of sample i, when its humidity passed QC. */
function dewAt(w: SampleWindow, i: number): number | null {
  const rh = w.rhPct(i);
  return w.humidityOk(i) && rh !== null && rh > 0 ? dewPointC(w.airC(i), Math.min(rh, 100)) : null;
}

/**
 * Air and dew point at `t` from the valid readings: the medians of those within ±10 min when there are any, else
 * interpolated between the readings either side (at most `T2_MAX_BRACKET_MS` apart: two hourly readings, or one either
 * side of a gap). Runs only until T₂ is captured, once a night.
 */
function valuesAt(w: SampleWindow, t: number): { airC: number; dewC: number | null } | null {
  const airs: number[] = [];
  const dews: number[] = [];
  // The slice found by binary search, a second's margin each side; the ±10 min test itself is the exact one.
  for (let i = w.lowerBound(t - T2_HALF_WINDOW_MS - 1_000), hi = w.upperBound(t + T2_HALF_WINDOW_MS + 1_000); i < hi; i += 1) {
    if (!w.isValid(i) || !(Math.abs(w.ts(i) - t) <= T2_HALF_WINDOW_MS)) continue;
    airs.push(w.airC(i));
    const d = dewAt(w, i);
    if (d !== null) dews.push(d);
  }
  if (airs.length > 0) return { airC: median(airs) as number, dewC: median(dews) };
  const after = w.lowerBound(t);
  const a = lastValidBefore(w, after);
  const b = firstValidFrom(w, after);
  if (a < 0 || b >= w.length || w.ts(b) - w.ts(a) > T2_MAX_BRACKET_MS) return null;
  const aTs = w.ts(a);
  const aAirC = w.airC(a);
  const f = (t - aTs) / (w.ts(b) - aTs);
  const da = dewAt(w, a);
  const db = dewAt(w, b);
  return { airC: aAirC + f * (w.airC(b) - aAirC), dewC: da !== null && db !== null ? da + f * (db - da) : (da ?? db) };
}

/**
 * Whether to ask the station for 60 s sampling: from 15:00 on a radiative evening whose forecast minimum is near the
 * Watch threshold, or whenever a frost level is active, until the all-clear or sunrise + 2 h; never by day otherwise.
 */
export function wantsFastSampling(state: StationRuleState, rules: Rules, nowMs: number): boolean {
  const w = inRiskWindow(state.ctx, nowMs, rules);
  const active = FROST_RANK[state.level] > 0;
  if (w.inRisk) {
    const i = state.lastInputs;
    const fresh = i !== null && nowMs - i.readingTs <= HOUR_MS;
    const risky = fresh && i.radiative === true && i.forecastMinC !== null && i.forecastMinC <= rules.watchForecastMinC + rules.hysteresisC;
    return active || risky;
  }
  const night = state.night;
  return active && night !== null && nowMs >= night.sunriseMs && nowMs < night.sunriseMs + rules.fastSamplingAfterSunriseMs;
}
