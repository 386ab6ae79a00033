import {
  evaluate,
  initialState,
  learnFromNight,
  rulesFor,
  type RuleOverrides,
  type Rules,
  type StationContext,
  type StationRuleState,
} from '../frost/index.js';
import type { Decision, Reading } from '../contracts/index.js';
import { rhFromDewPct } from './csv.js';
import type { BacktestDecision, RecordedReading, RecordedStation } from './types.js';

/**
 * Replays recorded readings through the server's own rule engine (`frost/evaluate`, with the rules `rulesFor` gives
 * the server for the station's crop) on a simulated clock: each reading is evaluated at its own timestamp, as a live
 * reading is, and a tick falls on every whole minute in between, as the server's engine ticks once a minute.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** A gap longer than this in a station's records starts the station afresh (a new deployment, or another season). */
export const FRESH_START_GAP_MS = 6 * HOUR_MS;

export interface ReplayOptions {
  /** Keep one reading per this many minutes (the first in each clock-aligned slot): replay 10-minute data as hourly. */
  cadenceMin?: number | undefined;
  /** The same overrides a station's settings give it on the server (per station: leave-one-station-out models). */
  overrides?: RuleOverrides | ((station: string) => RuleOverrides) | undefined;
  /** Called after each station. */
  onStation?: (done: number, total: number, station: string) => void;
}

export interface ReplayResult {
  decisions: BacktestDecision[];
  /** The readings as replayed (after thinning), by station, sorted by ts. */
  readingsByStation: Map<string, RecordedReading[]>;
  readings: number;
  ticks: number;
  /** Stations in the readings without a row in the stations file: not replayed. */
  unknownStations: string[];
}

/** Sort, drop repeated timestamps (first wins, as the server ignores a resent reading) and thin to the cadence. */
export function prepareReadings(readings: readonly RecordedReading[], cadenceMin?: number): Map<string, RecordedReading[]> {
  const byStation = new Map<string, RecordedReading[]>();
  for (const r of readings) {
    const list = byStation.get(r.station) ?? [];
    list.push(r);
    byStation.set(r.station, list);
  }
  for (const [station, list] of byStation) {
    list.sort((a, b) => a.ts - b.ts);
    const slotMs = cadenceMin !== undefined && cadenceMin > 0 ? cadenceMin * MINUTE_MS : null;
    const kept: RecordedReading[] = [];
    let lastKey = Number.NaN;
    for (const r of list) {
      const key = slotMs === null ? r.ts : Math.floor(r.ts / slotMs);
      if (key !== lastKey) kept.push(r);
      lastKey = key;
    }
    byStation.set(station, kept);
  }
  return byStation;
}

/** A recorded reading as a station would publish it: humidity from the measured dew point when only that exists. */
export function toReading(r: RecordedReading): Reading {
  const reading: Reading = { ts: r.ts, airTempC: r.airC };
  const rh = r.rhPct ?? (r.dewC !== null ? rhFromDewPct(r.airC, r.dewC) : null);
  if (rh !== null && rh > 0) reading.rhPct = Math.min(rh, 100);
  if (r.windMs !== null) reading.windMs = r.windMs;
  if (r.leafC !== null) reading.leafTempC = r.leafC;
  return reading;
}

function decisionOut(d: Decision): BacktestDecision {
  return {
    station: d.stationId,
    at: new Date(d.atMs).toISOString(),
    atMs: d.atMs,
    kind: d.kind,
    to: d.kind === 'frost' ? d.to : d.state,
    notify: d.notify,
    reason: d.reason,
  };
}

export function contextOf(s: RecordedStation): StationContext {
  return { stationId: s.station, lat: s.lat, lon: s.lon, elevationM: s.elevationM, crop: s.crop, timeZone: s.timeZone };
}

/**
 * One station's records: a fresh state at the start and after every long gap, ticks on every whole minute between.
 * `onReading` sees the state after each reading (the minimum model's training rows are read off it).
 */
export function replayStation(
  ctx: StationContext,
  rules: Rules,
  readings: readonly RecordedReading[],
  onReading?: (state: StationRuleState, reading: RecordedReading) => void,
): { decisions: Decision[]; ticks: number } {
  const decisions: Decision[] = [];
  let ticks = 0;
  let state: StationRuleState = initialState(ctx);
  let prevTs: number | null = null;
  for (const r of readings) {
    if (prevTs !== null && r.ts - prevTs > FRESH_START_GAP_MS) {
      // Window, level and night start afresh; what the station has learnt of its own forecast error stays, as it
      // stays in the server's saved state through an outage.
      state = { ...initialState(ctx), calibration: learnFromNight(state, rules).calibration };
      prevTs = null;
    }
    if (prevTs !== null) {
      for (let m = (Math.floor(prevTs / MINUTE_MS) + 1) * MINUTE_MS; m < r.ts; m += MINUTE_MS) {
        const out = evaluate(state, { kind: 'tick' }, rules, m);
        state = out.state;
        decisions.push(...out.decisions);
        ticks += 1;
      }
    }
    const out = evaluate(state, { kind: 'reading', reading: toReading(r), receivedAtMs: r.ts }, rules, r.ts);
    state = out.state;
    decisions.push(...out.decisions);
    onReading?.(state, r);
    prevTs = r.ts;
  }
  return { decisions, ticks };
}

export function replay(readings: readonly RecordedReading[], stations: readonly RecordedStation[], opts: ReplayOptions = {}): ReplayResult {
  return replayPrepared(prepareReadings(readings, opts.cadenceMin), stations, opts);
}

/** `replay` of readings already grouped, sorted and thinned by `prepareReadings` (the map is kept as the result's). */
export function replayPrepared(
  readingsByStation: Map<string, RecordedReading[]>,
  stations: readonly RecordedStation[],
  opts: ReplayOptions = {},
): ReplayResult {
  const known = new Map(stations.map((s) => [s.station, s]));
  const ids = [...readingsByStation.keys()].filter((id) => known.has(id)).sort();
  const decisions: BacktestDecision[] = [];
  let ticks = 0;
  let count = 0;
  ids.forEach((id, i) => {
    const station = known.get(id) as RecordedStation;
    const list = readingsByStation.get(id) ?? [];
    const overrides = typeof opts.overrides === 'function' ? opts.overrides(id) : opts.overrides;
    const out = replayStation(contextOf(station), rulesFor(station.crop, overrides), list);
    decisions.push(...out.decisions.map(decisionOut));
    ticks += out.ticks;
    count += list.length;
    opts.onStation?.(i + 1, ids.length, id);
  });
  const unknownStations = [...readingsByStation.keys()].filter((id) => !known.has(id)).sort();
  for (const id of unknownStations) readingsByStation.delete(id);
  return { decisions, readingsByStation, readings: count, ticks, unknownStations };
}
