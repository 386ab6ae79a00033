import type { DecisionInputs, OfficerDecision } from '../contracts/index.js';
import type { Rules } from './rules.js';
import type { SampleWindow } from './sample-window.js';

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
/** Reused buffer for those gaps, sorted (for the median): nothing allocated per reading. */
const sortedGaps = new Float64Array(INTERVAL_GAPS);

/**
 * The station's own sampling interval at `t`, from its readings (it may be 1 minute on a risky night, 5 by day, or
 * an hour for a LoRaWAN sensor): the median of its last gaps, or the smaller of its last two when that is longer (it
 * was told to sample more slowly), clamped to the legitimate range. An outage is one long gap: it moves neither.
 */
export function samplingIntervalMs(window: SampleWindow, t: number, rules: Rules): number {
  const end = window.upperBound(t); // readings after t do not count
  let n = 0;
  let last = 0;
  let beforeLast = 0;
  for (let i = Math.max(1, end - INTERVAL_GAPS); i < end; i += 1) {
    const gap = window.ts(i) - window.ts(i - 1);
    beforeLast = last;
    last = gap;
    let j = n; // insertion sort: at most twelve gaps
    for (; j > 0 && (sortedGaps[j - 1] as number) > gap; j -= 1) sortedGaps[j] = sortedGaps[j - 1] as number;
    sortedGaps[j] = gap;
    n += 1;
  }
  // Until a station has shown its cadence, a gap is judged at the slowest legitimate interval.
  if (n < 2) return rules.maxSampleIntervalMs;
  const median = sortedGaps[n >> 1] as number;
  const lastTwo = Math.min(last, beforeLast);
  return Math.min(rules.maxSampleIntervalMs, Math.max(rules.sampleIntervalMs, median, lastTwo));
}

/**
 * Missing time in the recent window: each gap between readings (and the open gap up to `t`) counts beyond one
 * sampling interval. "5 missing minutes in 15" at 1-min sampling; at slower sampling the threshold is two intervals
 * (one lost reading over flaky 3G is not an outage) and the window three thresholds.
 */
export function missingTime(window: SampleWindow, firstSeenMs: number, t: number, rules: Rules): MissingWindow {
  const end = window.upperBound(t); // readings after t do not count
  const intervalMs = samplingIntervalMs(window, t, rules);
  const thresholdMs = Math.max(rules.offlineMissingMs, 2 * intervalMs);
  const windowMs = 3 * thresholdMs;
  const start = Math.max(t - windowMs, firstSeenMs);
  let missingMs = 0;
  let prev = start;
  for (let i = window.upperBound(start); i < end; i += 1) {
    const ts = window.ts(i);
    missingMs += Math.max(0, ts - Math.max(prev, start) - intervalMs);
    prev = ts;
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
