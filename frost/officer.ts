import type { DecisionInputs, OfficerDecision } from '../contracts/index.js';
import type { Rules } from './rules.js';
import { upperBound } from './window.js';

/**
 * Station health for officers: offline (from the readings' own time line and from ticks — the MQTT will message
 * is not relied upon, docs/frost-model.md), sensor fault (QC), low battery. Each alert is raised once and cleared once.
 */

const MINUTE_MS = 60_000;

export interface MissingWindow {
  /** The station's own sampling interval, read from its recent gaps (it changes between 60 s and 300 s). */
  intervalMs: number;
  windowMs: number;
  thresholdMs: number;
  missingMs: number;
}

/** Gaps between readings that tell a station's sampling interval. */
const INTERVAL_GAPS = 12;

/**
 * The station's own sampling interval at `t`, from its readings (it may be 1 minute on a risky night, 5 by day, or
 * an hour for a LoRaWAN sensor): the median of its last gaps, or the smaller of its last two when that is longer (it
 * was told to sample more slowly), clamped to the legitimate range. An outage is one long gap: it moves neither.
 */
export function samplingIntervalMs(window: readonly { ts: number }[], t: number, rules: Rules): number {
  const end = upperBound(window, t); // readings after t do not count
  const gaps: number[] = [];
  for (let i = Math.max(1, end - INTERVAL_GAPS); i < end; i += 1)
    gaps.push((window[i] as { ts: number }).ts - (window[i - 1] as { ts: number }).ts);
  // Until a station has shown its cadence, a gap is judged at the slowest legitimate interval.
  if (gaps.length < 2) return rules.maxSampleIntervalMs;
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  const lastTwo = gaps.length >= 2 ? Math.min(gaps[gaps.length - 1] as number, gaps[gaps.length - 2] as number) : (gaps[0] as number);
  return Math.min(rules.maxSampleIntervalMs, Math.max(rules.sampleIntervalMs, median, lastTwo));
}

/**
 * Missing time in the recent window: each gap between readings (and the open gap up to `t`) counts beyond one
 * sampling interval. "5 missing minutes in 15" at 1-min sampling; at slower sampling the threshold is two intervals
 * (one lost reading over flaky 3G is not an outage) and the window three thresholds.
 */
export function missingTime(window: readonly { ts: number }[], firstSeenMs: number, t: number, rules: Rules): MissingWindow {
  const end = upperBound(window, t); // readings after t do not count
  const tsAt = (i: number): number => (window[i] as { ts: number }).ts;
  const intervalMs = samplingIntervalMs(window, t, rules);
  const thresholdMs = Math.max(rules.offlineMissingMs, 2 * intervalMs);
  const windowMs = 3 * thresholdMs;
  const start = Math.max(t - windowMs, firstSeenMs);
  let missingMs = 0;
  let prev = start;
  for (let i = upperBound(window, start); i < end; i += 1) {
    missingMs += Math.max(0, tsAt(i) - Math.max(prev, start) - intervalMs);
    prev = tsAt(i);
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
