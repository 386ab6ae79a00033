import type { Decision, DecisionInputs } from '../contracts/index.js';
import { emptyInputs } from './inputs.js';
import { batteryTransition, minutes, missingTime, officerDecision } from './officer.js';
import type { QcResult } from './qc.js';
import { fmt } from './qc.js';
import type { Rules } from './rules.js';
import type { OfficerState, StationRuleState } from './types.js';

export interface Step {
  state: StationRuleState;
  decisions: Decision[];
}

function inputsOf(state: StationRuleState, t: number): DecisionInputs {
  const last = state.lastInputs;
  const w = state.window;
  return last && last.readingTs <= t ? last : emptyInputs(t, w.length > 0 ? w.batteryV(w.length - 1) : null);
}

/** Officer alerts that a newest reading can move: offline (a gap in its own time line), sensor fault, battery. */
export function officerOnReading(
  state: StationRuleState,
  prevNewest: number | null,
  qc: QcResult,
  rules: Rules,
  nowMs: number,
  late: boolean,
): Step {
  const t = qc.sample.ts;
  const id = state.ctx.stationId;
  const inputs = inputsOf(state, t);
  const decisions: Decision[] = [];
  let o: OfficerState = { ...state.officer };
  const m = missingTime(state.window, state.firstSeenMs ?? t, t, rules);
  if (!o.offline && prevNewest !== null && m.missingMs >= m.thresholdMs) {
    // The gap is in the past: the station was offline from when the gap reached the threshold (no tick saw it).
    const atMs = Math.min(t, prevNewest + m.intervalMs + m.thresholdMs);
    decisions.push(
      officerDecision(
        'station_offline',
        id,
        'raised',
        atMs,
        `no readings for ${minutes(t - prevNewest)}`,
        atMs >= nowMs - rules.lateAfterMs,
        inputs,
      ),
    );
    o = { ...o, offline: true };
  } else if (o.offline && !late && m.missingMs <= rules.offlineClearFraction * m.thresholdMs) {
    decisions.push(
      officerDecision(
        'station_offline',
        id,
        'cleared',
        t,
        `readings back, ${minutes(m.missingMs)} missing in the last ${minutes(m.windowMs)}`,
        true,
        inputs,
      ),
    );
    o = { ...o, offline: false };
  }
  const failed = qc.reason !== null;
  if (failed) {
    if (!o.sensorFault)
      decisions.push(officerDecision('sensor_fault', id, 'raised', t, qc.reason ?? 'quality control failed', !late, inputs));
    o = { ...o, sensorFault: true, lastFailMs: t };
  } else if (o.sensorFault && o.lastFailMs !== null && t - o.lastFailMs >= rules.qc.faultClearMs) {
    decisions.push(
      officerDecision('sensor_fault', id, 'cleared', t, `no quality-control failure for ${minutes(t - o.lastFailMs)}`, !late, inputs),
    );
    o = { ...o, sensorFault: false };
  }
  const battery = batteryTransition(o.lowBattery, qc.sample.batteryV, rules);
  if (battery !== null) {
    const v = fmt(qc.sample.batteryV ?? 0);
    const reason = battery === 'raise' ? `battery ${v} V < ${rules.lowBatteryV} V` : `battery ${v} V ≥ ${rules.batteryClearV} V`;
    decisions.push(officerDecision('low_battery', id, battery === 'raise' ? 'raised' : 'cleared', t, reason, !late, inputs));
    o = { ...o, lowBattery: battery === 'raise' };
  }
  return { state: { ...state, officer: o }, decisions };
}

/** A minute passes: is the station silent? (The MQTT will message is not relied upon.) */
export function officerOnTick(state: StationRuleState, rules: Rules, nowMs: number): Step {
  if (state.newestTs === null) return { state, decisions: [] };
  const id = state.ctx.stationId;
  const m = missingTime(state.window, state.firstSeenMs ?? state.newestTs, nowMs, rules);
  const o = state.officer;
  if (!o.offline && m.missingMs >= m.thresholdMs) {
    const reason = `no readings for ${minutes(nowMs - state.newestTs)} (${minutes(m.missingMs)} missing in ${minutes(m.windowMs)})`;
    const d = officerDecision('station_offline', id, 'raised', nowMs, reason, true, inputsOf(state, nowMs));
    return { state: { ...state, officer: { ...o, offline: true } }, decisions: [d] };
  }
  if (o.offline && m.missingMs <= rules.offlineClearFraction * m.thresholdMs) {
    const reason = `readings back, ${minutes(m.missingMs)} missing in the last ${minutes(m.windowMs)}`;
    const d = officerDecision('station_offline', id, 'cleared', nowMs, reason, true, inputsOf(state, nowMs));
    return { state: { ...state, officer: { ...o, offline: false } }, decisions: [d] };
  }
  return { state, decisions: [] };
}
