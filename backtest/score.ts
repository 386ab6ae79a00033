import { dewPointC } from '../frost/psychro.js';
import type { BacktestDecision, NightLabel, RecordedReading } from './types.js';

/**
 * Scoring of the backtest: how often an alarm came early enough before a labelled frost night, how often it rang on a
 * near miss, and how much time it left. Pure and synchronous: readings, labels and alarm times in, numbers out.
 */

const HOUR_MS = 3_600_000;
const LEAD_WANTED_MS = 2 * HOUR_MS; // the backtest issue: a warning helps when it comes ≥ 2 h before the frost
const TARGET_AIR_C = 1.5; // the backtest issue: the target is the 2 m air reaching ≤ 1.5 °C
const WINDOW_BEFORE_SUNSET_MS = 3 * HOUR_MS; // the backtest issue: alarms count from sunset − 3 h …
const WINDOW_AFTER_SUNRISE_MS = 3 * HOUR_MS; // … to sunrise + 3 h, the span of the labelled night as well

/** When an alarm fired, per station, ascending. */
export interface AlarmTimes {
  name: string;
  timesByStation: ReadonlyMap<string, readonly number[]>;
}

/** An alarm that looks at one reading alone: no hold, no forecast. */
export interface PlainAlarm {
  name: string;
  fires(r: RecordedReading): boolean;
}

/** A reading's dew point: measured, else from RH; null when it has neither (or an RH of 0, which Magnus cannot take). */
function readingDewC(r: RecordedReading): number | null {
  if (r.dewC !== null) return r.dewC;
  return r.rhPct !== null && r.rhPct > 0 ? dewPointC(r.airC, r.rhPct) : null;
}

/** The baselines the backtest issue sets beside the engine. */
export const PLAIN_ALARMS: readonly PlainAlarm[] = [
  { name: 'air ≤ 2 °C', fires: (r) => r.airC <= 2 },
  { name: 'air ≤ 4 °C', fires: (r) => r.airC <= 4 },
  {
    name: 'air ≤ 3 °C & dew point ≤ 0 °C',
    fires: (r) => {
      if (r.airC > 3) return false;
      const dewC = readingDewC(r);
      return dewC !== null && dewC <= 0;
    },
  },
];

/** Index of the first element whose key is ≥ `t` (`length` when none is). */
function lowerBound<T>(items: readonly T[], t: number, key: (item: T) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(items[mid] as T) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const tsOf = (r: RecordedReading): number => r.ts;
const itself = (t: number): number => t;

/** The list itself when already ascending (the usual case, O(n)), else a sorted copy. */
function ascending<T>(items: readonly T[], key: (item: T) => number): readonly T[] {
  for (let i = 1; i < items.length; i += 1) {
    if (key(items[i] as T) < key(items[i - 1] as T)) return [...items].sort((a, b) => key(a) - key(b));
  }
  return items;
}

function alarmTimes(alarm: PlainAlarm, readingsByStation: ReadonlyMap<string, readonly RecordedReading[]>): AlarmTimes {
  const timesByStation = new Map<string, number[]>();
  for (const [station, readings] of readingsByStation) {
    const times: number[] = [];
    for (const r of ascending(readings, tsOf)) if (alarm.fires(r)) times.push(r.ts);
    timesByStation.set(station, times);
  }
  return { name: alarm.name, timesByStation };
}

/** Every reading that satisfies each plain alarm; scoring keeps the first of them in each night's window. */
export function plainAlarmTimes(
  readingsByStation: ReadonlyMap<string, readonly RecordedReading[]>,
  alarms: readonly PlainAlarm[] = PLAIN_ALARMS,
): AlarmTimes[] {
  return alarms.map((alarm) => alarmTimes(alarm, readingsByStation));
}

/** The engine alarms when the frost ladder moves to Warning or Severe (whether or not it was to be sent). */
export function engineAlarmTimes(name: string, decisions: readonly BacktestDecision[]): AlarmTimes {
  const timesByStation = new Map<string, number[]>();
  for (const d of decisions) {
    if (d.kind !== 'frost' || (d.to !== 'warning' && d.to !== 'severe')) continue;
    const list = timesByStation.get(d.station);
    if (list) list.push(d.atMs);
    else timesByStation.set(d.station, [d.atMs]);
  }
  for (const list of timesByStation.values()) list.sort((a, b) => a - b);
  return { name, timesByStation };
}

/** Where a night's target time came from. */
export type TargetBasis = 'air ≤ 1.5 °C' | 'minimum' | 'label minimum';

/** What one alarm did on one night. */
export interface NightOutcome {
  nightId: string;
  station: string;
  kind: NightLabel['kind'];
  targetMs: number;
  targetBasis: TargetBasis;
  /** The night's 2 m minimum (sunset → sunrise + 3 h) from the readings, else the label's, and when. */
  minAirC: number;
  minAtMs: number;
  /** The night's first reading came ≥ 2 h before the target, so a 2 h lead was possible from the data. */
  possible: boolean;
  /** The alarm's first time in [sunset − 3 h, sunrise + 3 h), or null when it did not fire. */
  firstAlarmMs: number | null;
  /** Target − first alarm in hours; negative when the alarm came after the target. */
  leadH: number | null;
  /** A frost night warned ≥ 2 h before the target. Always false on a near miss. */
  hit: boolean;
  /** Why a frost night was not warned 2 h ahead (null for hits and near misses); see `MissCause`. */
  missCause: MissCause | null;
}

/**
 * Why a frost night was missed, from its readings — what bounds any alarm first:
 * - `cold at the first reading`: the air reached 1.5 °C within 2 h of the first reading (no 2 h lead was possible);
 * - `cold came after sunrise`: the target fell after sunrise (a cold morning, not a radiative night);
 * - `sudden fall`: ≥ 3 °C lost in the hour before the target (a front, cold air draining in, or sky clearing late);
 * - `2 m stayed above 0.5 °C`: a frost of the 5 cm air or the ground only; the screen air never reached the threshold;
 * - `warned late`: none of these, and the alarm came, but < 2 h ahead;
 * - `forecast too warm`: none of these, and no alarm at all.
 */
export type MissCause =
  'cold at the first reading' | 'cold came after sunrise' | 'sudden fall' | '2 m stayed above 0.5 °C' | 'warned late' | 'forecast too warm';
export const MISS_CAUSES: readonly MissCause[] = [
  'cold at the first reading',
  'cold came after sunrise',
  'sudden fall',
  '2 m stayed above 0.5 °C',
  'warned late',
  'forecast too warm',
];
const SUDDEN_FALL_C = 3;
const WARNING_AIR_C = 0.5;

/** Counts and ratios; a ratio or lead is null when there is nothing to divide by or take it over. */
export interface AlarmSummary {
  frostNights: number;
  hits: number;
  pod: number | null;
  possibleNights: number;
  possibleHits: number;
  podPossible: number | null;
  /** Nights, frost or near miss, with the alarm in their window. */
  warnedNights: number;
  falseAlarms: number;
  far: number | null;
  /** Frost nights with the alarm in their window: the nights the leads are taken over. */
  leadNights: number;
  medianLeadH: number | null;
  p10LeadH: number | null;
}

export interface StationSummary extends AlarmSummary {
  station: string;
}

export interface AlarmScore extends AlarmSummary {
  name: string;
  /** One per labelled night, in the labels' order. */
  outcomes: NightOutcome[];
  /** Sorted by station. */
  byStation: StationSummary[];
}

/** The alarm-independent facts of a night. */
interface NightFacts {
  night: NightLabel;
  windowStartMs: number;
  windowEndMs: number;
  targetMs: number;
  targetBasis: TargetBasis;
  minAirC: number;
  minAtMs: number;
  possible: boolean;
  /** What bounds any alarm on this night, whatever the alarm; null when nothing does. */
  bound: Exclude<MissCause, 'warned late' | 'forecast too warm'> | null;
}

function nightFacts(night: NightLabel, readings: readonly RecordedReading[]): NightFacts {
  const windowStartMs = night.sunsetMs - WINDOW_BEFORE_SUNSET_MS;
  const windowEndMs = night.sunriseMs + WINDOW_AFTER_SUNRISE_MS;
  let coldAtMs: number | null = null;
  let min: RecordedReading | null = null;
  for (let i = lowerBound(readings, night.sunsetMs, tsOf); i < readings.length; i += 1) {
    const r = readings[i] as RecordedReading;
    if (r.ts >= windowEndMs) break;
    if (coldAtMs === null && r.airC <= TARGET_AIR_C) coldAtMs = r.ts;
    if (min === null || r.airC < min.airC) min = r;
  }
  const minAirC = min?.airC ?? night.minAirC;
  const minAtMs = min?.ts ?? night.timeOfMinMs;
  const [targetMs, targetBasis]: [number, TargetBasis] =
    coldAtMs !== null ? [coldAtMs, 'air ≤ 1.5 °C'] : [minAtMs, min ? 'minimum' : 'label minimum'];
  const first = readings[lowerBound(readings, windowStartMs, tsOf)];
  const possible = first !== undefined && first.ts < windowEndMs && targetMs - first.ts >= LEAD_WANTED_MS;
  const before = readings[lowerBound(readings, targetMs - HOUR_MS, tsOf)];
  const atTarget = readings[lowerBound(readings, targetMs, tsOf)];
  const fell = before !== undefined && atTarget !== undefined && atTarget.ts === targetMs ? before.airC - atTarget.airC : 0;
  const bound: NightFacts['bound'] = !possible
    ? 'cold at the first reading'
    : targetMs >= night.sunriseMs
      ? 'cold came after sunrise'
      : fell >= SUDDEN_FALL_C
        ? 'sudden fall'
        : minAirC > WARNING_AIR_C
          ? '2 m stayed above 0.5 °C'
          : null;
  return { night, windowStartMs, windowEndMs, targetMs, targetBasis, minAirC, minAtMs, possible, bound };
}

function outcome(facts: NightFacts, times: readonly number[]): NightOutcome {
  const { night, targetMs } = facts;
  const next = times[lowerBound(times, facts.windowStartMs, itself)];
  const firstAlarmMs = next !== undefined && next < facts.windowEndMs ? next : null;
  const leadMs = firstAlarmMs === null ? null : targetMs - firstAlarmMs;
  const hit = night.kind === 'frost' && leadMs !== null && leadMs >= LEAD_WANTED_MS;
  return {
    nightId: night.nightId,
    station: night.station,
    kind: night.kind,
    targetMs,
    targetBasis: facts.targetBasis,
    minAirC: facts.minAirC,
    minAtMs: facts.minAtMs,
    possible: facts.possible,
    firstAlarmMs,
    leadH: leadMs === null ? null : leadMs / HOUR_MS,
    hit,
    missCause: night.kind !== 'frost' || hit ? null : (facts.bound ?? (firstAlarmMs === null ? 'forecast too warm' : 'warned late')),
  };
}

/** The p-quantile of ascending values, linear between order statistics (Hyndman & Fan type 7, numpy's default). */
export function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const h = (sorted.length - 1) * p;
  const lo = sorted[Math.floor(h)] as number;
  const hi = sorted[Math.ceil(h)] as number;
  return lo + (h - Math.floor(h)) * (hi - lo);
}

const ratio = (n: number, of: number): number | null => (of === 0 ? null : n / of);

export function summarise(outcomes: readonly NightOutcome[]): AlarmSummary {
  const frost = outcomes.filter((o) => o.kind === 'frost');
  const possible = frost.filter((o) => o.possible);
  const warned = outcomes.filter((o) => o.firstAlarmMs !== null);
  const hits = frost.filter((o) => o.hit).length;
  const possibleHits = possible.filter((o) => o.hit).length;
  const falseAlarms = warned.filter((o) => o.kind === 'near_miss').length;
  const leads = frost.flatMap((o) => (o.leadH === null ? [] : [o.leadH])).sort((a, b) => a - b);
  return {
    frostNights: frost.length,
    hits,
    pod: ratio(hits, frost.length),
    possibleNights: possible.length,
    possibleHits,
    podPossible: ratio(possibleHits, possible.length),
    warnedNights: warned.length,
    falseAlarms,
    far: ratio(falseAlarms, warned.length),
    leadNights: leads.length,
    medianLeadH: quantile(leads, 0.5),
    p10LeadH: quantile(leads, 0.1),
  };
}

function byStation(outcomes: readonly NightOutcome[]): StationSummary[] {
  const stations = [...new Set(outcomes.map((o) => o.station))].sort();
  return stations.map((station) => ({ station, ...summarise(outcomes.filter((o) => o.station === station)) }));
}

/** Scores each alarm over the labelled nights; the nights' targets come from the readings, computed once. */
export function scoreAlarms(
  nights: readonly NightLabel[],
  readingsByStation: ReadonlyMap<string, readonly RecordedReading[]>,
  alarms: readonly AlarmTimes[],
): AlarmScore[] {
  const sorted = new Map([...readingsByStation].map(([station, list]) => [station, ascending(list, tsOf)]));
  const facts = nights.map((night) => nightFacts(night, sorted.get(night.station) ?? []));
  return alarms.map((alarm) => {
    const times = new Map([...alarm.timesByStation].map(([station, list]) => [station, ascending(list, itself)]));
    const outcomes = facts.map((f) => outcome(f, times.get(f.night.station) ?? []));
    return { name: alarm.name, ...summarise(outcomes), outcomes, byStation: byStation(outcomes) };
  });
}
