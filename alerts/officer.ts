import type { DecisionInputs, OfficerDecision } from '../contracts/index.js';
import type { Rules } from './rules.js';

/**
 * Station health for officers: offline (from the readings' own time line and from ticks — the MQTT will message
 * is not relied upon, DESIGN.md), sensor fault (QC), low battery. Each alert is raised once and cleared once.
 */

const MINUTE_MS = 60_000;

export interface MissingWindow {
  /** The station's own sampling interval, read from its recent gaps (it changes between 60 s and 300 s). */
  intervalMs: number;
  windowMs: number;
  thresholdMs: number;
  missingMs: number;
}

/**
 * Missing time in the recent window: each gap between readings (and the open gap up to `t`) counts beyond one
 * sampling interval. "5 missing minutes in 15" at 1-min sampling; at slower sampling the threshold is two intervals
 * (one lost reading over flaky 3G is not an outage) and the window three thresholds. The interval is the largest
 * recent gap clamped to the legitimate range, so a switch of sampling rate is not mistaken for loss, and a gap stays
 * judged at the same interval for as long as it sits in the window (no raise/clear/raise).
 */
export function missingTime(ts: readonly number[], firstSeenMs: number, t: number, rules: Rules): MissingWindow {
  const lookbackMs = 3 * Math.max(rules.offlineMissingMs, 2 * rules.maxSampleIntervalMs);
  const before = ts.filter((x) => x <= t);
  let maxGap = 0;
  for (let i = 1; i < before.length; i += 1) {
    const cur = before[i] as number;
    if (cur > t - lookbackMs) maxGap = Math.max(maxGap, cur - (before[i - 1] as number));
  }
  const intervalMs = Math.min(rules.maxSampleIntervalMs, Math.max(rules.sampleIntervalMs, maxGap));
  const thresholdMs = Math.max(rules.offlineMissingMs, 2 * intervalMs);
  const windowMs = 3 * thresholdMs;
  const start = Math.max(t - windowMs, firstSeenMs);
  let missingMs = 0;
  let prev = start;
  for (const x of before) {
    if (x <= start) continue;
    missingMs += Math.max(0, x - Math.max(prev, start) - intervalMs);
    prev = x;
  }
  missingMs += Math.max(0, t - prev - intervalMs);
  return { intervalMs, windowMs, thresholdMs, missingMs };
}

export function officerDecision(
  kind: OfficerDecision['kind'],
  stationId: string,
  state: OfficerDecision['state'],
  atMs: number,
  reason: string,
  notify: boolean,
  inputs: DecisionInputs,
): OfficerDecision {
  return { kind, stationId, state, atMs, reason, notify, inputs };
}

export function minutes(ms: number): string {
  return `${Math.round(ms / MINUTE_MS)} min`;
}

/** Low battery with hysteresis: raise below `lowBatteryV`, clear at or above `batteryClearV`. */
export function batteryTransition(active: boolean, batteryV: number | null, rules: Rules): 'raise' | 'clear' | null {
  if (batteryV === null) return null;
  if (!active && batteryV < rules.lowBatteryV) return 'raise';
  if (active && batteryV >= rules.batteryClearV) return 'clear';
  return null;
}
