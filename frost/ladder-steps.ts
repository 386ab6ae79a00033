import { FROST_RANK, type Decision, type FrostDecision } from '../contracts/index.js';
import { observeNight } from './calibration.js';
import { inRiskWindow } from './phase.js';
import { assess, type Assessment } from './inputs.js';
import { allClearReason, climb, coolingStopped, frostDecision, isSuppressed, levelReasons, NO_HOLD } from './ladder.js';
import type { Step } from './officer-steps.js';
import type { Rules } from './rules.js';
import type { LadderLevel, StationRuleState } from './types.js';

/** Readings older than this cannot support a tick's all-clear. */
const FRESH_MS = 15 * 60_000;

/**
 * Record a frost move. Sent to farmers unless: late (a moment already past — sent later if live data confirm it),
 * a suppressed repeat, or an all-clear nobody needs (no warning was sent).
 */
function record(state: StationRuleState, d: Omit<FrostDecision, 'notify'>, late: boolean, rules: Rules, a: Assessment): Step {
  const key: LadderLevel | 'all_clear' = d.to;
  const suppressed = isSuppressed(state, key, d.atMs, rules);
  const unneeded = d.to === 'all_clear' && state.notifiedLevel === 'none';
  const notify = !late && suppressed === null && !unneeded;
  const reason = suppressed !== null && !late && !unneeded ? `${d.reason} (${suppressed}, not sent)` : d.reason;
  const decision = frostDecision(state, d.from, d.to, d.atMs, reason, notify, a);
  if (!notify) return { state: { ...state, pendingBackfill: late && d.to !== 'all_clear' }, decisions: [decision] };
  const night = state.night ? { ...state.night, notified: [...state.night.notified, key] } : null;
  const notifiedLevel = d.to === 'all_clear' ? 'none' : d.to;
  const lastNotifiedMs = { ...state.lastNotifiedMs, [key]: d.atMs };
  return { state: { ...state, night, notifiedLevel, lastNotifiedMs, pendingBackfill: false }, decisions: [decision] };
}

function clearAll(state: StationRuleState): StationRuleState {
  return {
    ...state,
    level: 'none',
    notifiedLevel: 'none',
    pendingBackfill: false,
    heldSinceMs: { ...NO_HOLD },
    coolingStoppedSinceMs: null,
  };
}

/** One valid, newest reading: climb the ladder, tell farmers a level backfill found, or clear. */
export function ladderOnReading(state: StationRuleState, t: number, prevValidTs: number | null, rules: Rules, late: boolean): Step {
  const tz = state.ctx.timeZone;
  const w = inRiskWindow(state.ctx, t, rules);
  const a = assess(state, t, rules);
  const strict = levelReasons(a, w, rules, tz, 0);
  const loose = levelReasons(a, w, rules, tz, rules.hysteresisC);
  const up = climb(state, strict, loose, t, prevValidTs, rules);
  const night = state.night && a.inputs.airTempC !== null ? observeNight(state.night, t, a.inputs.airTempC, a.modelForecastC) : state.night;
  let s: StationRuleState = { ...state, night, heldSinceMs: up.heldSinceMs, lastInputs: a.inputs };
  const decisions: Decision[] = [];
  if (up.to !== null) {
    const step = record(
      { ...s, level: up.to },
      { kind: 'frost', stationId: s.ctx.stationId, from: s.level, to: up.to, atMs: t, reason: up.reason, inputs: a.inputs },
      late,
      rules,
      a,
    );
    s = step.state;
    decisions.push(...step.decisions);
  } else if (!late && s.pendingBackfill && FROST_RANK[s.level] > FROST_RANK[s.notifiedLevel] && s.level !== 'none') {
    // The level was reached on backfilled data and nobody was told: tell now, if the data still say so.
    const level = s.level;
    const why = loose[level];
    if (why !== null) {
      const step = record(
        s,
        {
          kind: 'frost',
          stationId: s.ctx.stationId,
          from: s.notifiedLevel,
          to: level,
          atMs: t,
          reason: `${why} (confirmed by live data after a backfill)`,
          inputs: a.inputs,
        },
        false,
        rules,
        a,
      );
      s = step.state;
      decisions.push(...step.decisions);
    }
  }
  const clear = clearOnReading(s, a, t, rules, late);
  return { state: clear.state, decisions: [...decisions, ...clear.decisions] };
}

function clearOnReading(state: StationRuleState, a: Assessment, t: number, rules: Rules, late: boolean): Step {
  if (state.level === 'none') return { state, decisions: [] };
  const stopped = coolingStopped(a, rules);
  const s: StationRuleState = { ...state, coolingStoppedSinceMs: stopped ? (state.coolingStoppedSinceMs ?? t) : null };
  if (s.officer.offline || s.officer.sensorFault) return { state: s, decisions: [] }; // never clear on doubtful data
  const reason = allClearReason(s, a, t, rules, s.ctx.timeZone);
  if (reason === null) return { state: s, decisions: [] };
  const step = record(
    s,
    { kind: 'frost', stationId: s.ctx.stationId, from: s.level, to: 'all_clear', atMs: t, reason, inputs: a.inputs },
    late,
    rules,
    a,
  );
  // Wind or cloud has broken the radiative night: FFST (a radiative-night regression) no longer applies to it.
  const night = step.state.night && t < step.state.night.sunriseMs ? { ...step.state.night, ffstVoid: true } : step.state.night;
  return { state: clearAll({ ...step.state, night }), decisions: step.decisions };
}

/** A minute passes: well after sunrise, a fresh valid reading above the all-clear threshold ends the night. */
export function ladderOnTick(state: StationRuleState, rules: Rules, nowMs: number): Step {
  const night = state.night;
  const newest = state.newestTs;
  if (state.level === 'none' || !night || newest === null || state.officer.offline || state.officer.sensorFault)
    return { state, decisions: [] };
  if (nowMs < night.sunriseMs + rules.allClearAnywayAfterSunriseMs || nowMs - newest > FRESH_MS) return { state, decisions: [] };
  const a = assess(state, newest, rules);
  const reason = allClearReason(state, a, nowMs, rules, state.ctx.timeZone);
  if (reason === null) return { state, decisions: [] };
  const step = record(
    state,
    { kind: 'frost', stationId: state.ctx.stationId, from: state.level, to: 'all_clear', atMs: nowMs, reason, inputs: a.inputs },
    false,
    rules,
    a,
  );
  return { state: clearAll(step.state), decisions: step.decisions };
}
