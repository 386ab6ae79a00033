import { FROST_RANK, nightOf, type Decision, type Reading } from '../contracts/index.js';
import { T2_HALF_WINDOW_MS } from './ffst.js';
import { validSamples } from './inputs.js';
import { median } from './median.js';
import { ladderOnReading, ladderOnTick } from './ladder-steps.js';
import { officerOnReading, officerOnTick } from './officer-steps.js';
import { dewPointC } from './psychro.js';
import { inRiskWindow } from './phase.js';
import { checkReading } from './qc.js';
import { insertedAt, lowerBound } from './window.js';
import type { Rules } from './rules.js';
import type { EngineEvent, NightState, StationContext, StationRuleState } from './types.js';

export { inRiskWindow };

const HOUR_MS = 3_600_000;
/** Keep 3 h of readings: 2 h for the nowcast, 1 h for the trend and stuck checks, T₂ ± 10 min. */
const RETENTION_MS = 3 * HOUR_MS;

export function initialState(ctx: StationContext): StationRuleState {
  return {
    version: 1,
    ctx: { ...ctx },
    window: [],
    firstSeenMs: null,
    newestTs: null,
    stuckValueC: null,
    night: null,
    level: 'none',
    notifiedLevel: 'none',
    pendingBackfill: false,
    hold: { watch: 0, warning: 0, severe: 0 },
    lastNotifiedMs: {},
    coolingStoppedSinceMs: null,
    officer: { offline: false, sensorFault: false, lastFailMs: null, lowBattery: false },
    lastInputs: null,
  };
}

export interface Evaluation {
  state: StationRuleState;
  decisions: Decision[];
}

/**
 * The rule engine: one event (a received reading, possibly late or out of order, or a minute tick) in, the new state
 * and the decisions out. Pure: time is `nowMs`, the caller's clock at evaluation; the state is plain JSON.
 */
export function evaluate(state: StationRuleState, event: EngineEvent, rules: Rules, nowMs: number): Evaluation {
  if (event.kind === 'reading') return onReading(state, event.reading, rules, nowMs);
  const officer = officerOnTick(state, rules, nowMs);
  const ladder = ladderOnTick(officer.state, rules, nowMs);
  return { state: ladder.state, decisions: [...officer.decisions, ...ladder.decisions] };
}

function onReading(state: StationRuleState, reading: Reading, rules: Rules, nowMs: number): Evaluation {
  const t = reading.ts;
  const at = lowerBound(state.window, t);
  if (state.window[at]?.ts === t) return { state, decisions: [] }; // a resent reading: seen already
  const { ctx } = state;
  const night = nightOf(ctx.lat, ctx.lon, t);
  const atNight = t >= night.sunsetMs && t < night.sunriseMs;
  const isNewest = state.newestTs === null || t > state.newestTs;
  const earlier = isNewest ? state.window : state.window.slice(0, at);
  const qc = checkReading(reading, earlier, isNewest ? state.stuckValueC : null, atNight, rules.qc);
  const newestTs = isNewest ? t : (state.newestTs as number);
  const window = insertedAt(state.window, at, qc.sample, newestTs - retentionMs(rules));
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
  const ladder = ladderOnReading(withNight(officer.state, t, rules), t, rules, late);
  return { state: ladder.state, decisions: [...officer.decisions, ...ladder.decisions] };
}

function retentionMs(rules: Rules): number {
  return Math.max(RETENTION_MS, 3 * Math.max(rules.offlineMissingMs, 2 * rules.maxSampleIntervalMs) + HOUR_MS);
}

/** Start a new night when the risk window of a new night begins; capture T₂ and Td₂ once sunset + 2 h is covered. */
function withNight(state: StationRuleState, t: number, rules: Rules): StationRuleState {
  const w = inRiskWindow(state.ctx, t, rules);
  let next = state;
  if (w.inRisk && state.night?.sunriseMs !== w.sunriseMs) {
    const night: NightState = { sunsetMs: w.sunsetMs, sunriseMs: w.sunriseMs, t2C: null, td2C: null, t2Captured: false, ffstVoid: false, notified: [] };
    next = { ...state, night, hold: { watch: 0, warning: 0, severe: 0 }, coolingStoppedSinceMs: null };
  }
  const n = next.night;
  const s2 = n ? n.sunsetMs + 2 * HOUR_MS : 0;
  if (!n || n.t2Captured || t < s2 + T2_HALF_WINDOW_MS || t >= n.sunriseMs) return next;
  const around = validSamples(next.window).filter((s) => Math.abs(s.ts - s2) <= T2_HALF_WINDOW_MS);
  const dews = around.flatMap((s) => (s.humidityOk && s.rhPct !== null && s.rhPct > 0 ? [dewPointC(s.airC, s.rhPct)] : []));
  return { ...next, night: { ...n, t2C: median(around.map((s) => s.airC)), td2C: median(dews), t2Captured: true } };
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
