import {
  FROST_RANK,
  type Damage,
  type FrostLevel,
  type Outcome,
  type ReadingOut,
  type ScoreCommune,
  type ScoreNight,
  type SeasonScore,
  type Survey,
} from '../../contracts/index.js';
import { NIGHT_FROM_HOUR, NIGHT_TO_HOUR } from '../../frost/index.js';
import type { Db } from '../registry/db.js';
import type { StationRecord } from '../registry/stations.js';
import { addDays, localDate, localMidnightMs } from '../forecast/local-date.js';
import type { PreAlertRecord } from '../forecast/store.js';
import { communeKey } from '../registry/people-rows.js';
import { DAMAGE_RANK } from './store.js';

const HOUR_MS = 3_600_000;
/** A night counts as frost by its stations alone when the coldest reading is at or below this (2 m air, °C). */
export const STATION_FROST_C = 0;

export interface ScoreSources {
  stations: readonly StationRecord[];
  /** Hourly aggregates (airTempMinC) of a station between two instants: which nights were cold. */
  hourly(stationId: string, fromMs: number, toMs: number): Promise<ReadingOut[]>;
  /** A station's raw readings between two instants: when exactly a cold night bottomed out (for lead times). */
  raw(stationId: string, fromMs: number, toMs: number): Promise<ReadingOut[]>;
  frostEvents(fromMs: number, toMs: number): { stationId: string; at: number; level: string }[];
  prealerts(fromNight: string, toNight: string): PreAlertRecord[];
  surveys(fromNight: string, toNight: string): Survey[];
  timeZone: string;
  /** Now: a night not over yet (before 07:00 the morning after) is not scored — it can still freeze. */
  nowMs: number;
}

interface CommuneNight {
  night: string;
  commune: string;
  minAirC: number | null;
  minAtMs: number | null;
  /** The station whose reading is the commune's coldest. */
  minStationId: string | null;
  highest: FrostLevel;
  firstWarningAtMs: number | null;
  prealertAtMs: number | null;
  damage: Damage | null;
}

/**
 * The season scored (docs/operations.md, "Season score"): per commune and night, was there frost — by the surveys
 * where officers or farmers reported, else by the stations' minimum ≤ 0 °C — and had the ladder warned (Warning or
 * Severe) and the forecast pre-alerted? Hits, misses, false alarms; lead time from the first Warning (and from the
 * pre-alert) to the coldest moment. Nights where nothing happened (no level, no pre-alert, no survey, no frost) are left
 * out, and so is a night not over yet.
 */
export async function seasonScore(src: ScoreSources, from: string, to: string): Promise<SeasonScore> {
  const tz = src.timeZone;
  const nightOf = (ms: number): string => localDate(ms - 12 * HOUR_MS, tz); // noon to noon belongs to the evening's date
  const windowFrom = localMidnightMs(from, tz) + NIGHT_FROM_HOUR * HOUR_MS;
  const windowTo = localMidnightMs(addDays(to, 1), tz) + NIGHT_TO_HOUR * HOUR_MS;
  const byKey = new Map<string, CommuneNight>();
  const entry = (night: string, commune: string): CommuneNight => {
    const key = `${night}|${commune}`;
    let e = byKey.get(key);
    if (!e) {
      e = {
        night,
        commune,
        minAirC: null,
        minAtMs: null,
        minStationId: null,
        highest: 'none',
        firstWarningAtMs: null,
        prealertAtMs: null,
        damage: null,
      };
      byKey.set(key, e);
    }
    return e;
  };
  const communeOf = new Map(src.stations.map((s) => [s.id as string, s.commune]));
  // Nights above freezing get no row of their own; their coldest reading is kept for a row that comes another way.
  const coldestOf = new Map<string, { minC: number; atMs: number; stationId: string }>();

  // Station minima over the night hours (18:00–07:00), from hourly minima.
  const minima = await Promise.all(src.stations.map((s) => src.hourly(s.id, windowFrom, windowTo)));
  src.stations.forEach((station, i) => {
    for (const r of minima[i] ?? []) {
      const t = Date.parse(r.ts);
      const value = r.airTempMinC ?? r.airTempC;
      if (value === null || !inNightHours(t, tz)) continue;
      const night = nightOf(t);
      if (night < from || night > to) continue;
      // Only nights cold enough to matter get a row of their own; the rest stay "nothing happened".
      const existing = byKey.get(`${night}|${station.commune}`);
      if (!existing && value > STATION_FROST_C) {
        const key = `${night}|${station.commune}`;
        if (value < (coldestOf.get(key)?.minC ?? Infinity)) coldestOf.set(key, { minC: value, atMs: t, stationId: station.id });
        continue;
      }
      const e = entry(night, station.commune);
      if (e.minAirC === null || value < e.minAirC) Object.assign(e, { minAirC: value, minAtMs: t, minStationId: station.id });
    }
  });

  for (const ev of src.frostEvents(windowFrom, windowTo)) {
    const commune = communeOf.get(ev.stationId);
    if (commune === undefined || !(ev.level in FROST_RANK)) continue;
    const night = nightOf(ev.at);
    if (night < from || night > to) continue;
    const e = entry(night, commune);
    const level = ev.level as FrostLevel;
    if (FROST_RANK[level] > FROST_RANK[e.highest]) e.highest = level;
    if (FROST_RANK[level] >= FROST_RANK.warning) e.firstWarningAtMs = Math.min(e.firstWarningAtMs ?? ev.at, ev.at);
  }
  for (const p of src.prealerts(from, to)) {
    const commune = communeOf.get(p.stationId);
    if (commune === undefined) continue;
    const e = entry(p.night, commune);
    e.prealertAtMs = Math.min(e.prealertAtMs ?? p.decidedAt, p.decidedAt);
  }
  // A survey's commune as typed ("đạ sar") counts for the commune the stations name ("Đạ Sar").
  const spelling = new Map(src.stations.map((s) => [communeKey(s.commune), s.commune]));
  for (const s of src.surveys(from, to)) {
    const e = entry(s.night, spelling.get(communeKey(s.commune)) ?? s.commune);
    if (e.damage === null || DAMAGE_RANK[s.damage] > DAMAGE_RANK[e.damage]) e.damage = s.damage;
  }
  // Nights that got a row for another reason still need the commune's coldest reading.
  for (const e of byKey.values()) {
    if (e.minAirC !== null) continue;
    const coldest = coldestOf.get(`${e.night}|${e.commune}`);
    if (coldest !== undefined) Object.assign(e, { minAirC: coldest.minC, minAtMs: coldest.atMs, minStationId: coldest.stationId });
  }
  // Hourly windows say which hour was coldest; the raw readings of that night say when, for the lead time.
  await Promise.all([...byKey.values()].map((e) => refineMinimum(src, e)));

  const over = (night: string): boolean => localMidnightMs(addDays(night, 1), tz) + NIGHT_TO_HOUR * HOUR_MS <= src.nowMs;
  const nights = [...byKey.values()]
    .filter((e) => over(e.night))
    .sort((a, b) => a.night.localeCompare(b.night) || a.commune.localeCompare(b.commune, 'vi'))
    .map(scoreNight);
  return { from, to, communes: communeTotals(nights), nights };
}

async function refineMinimum(src: ScoreSources, e: CommuneNight): Promise<void> {
  if (e.minStationId === null || e.minAtMs === null) return;
  const evening = localMidnightMs(e.night, src.timeZone);
  const readings = await src.raw(e.minStationId, evening + NIGHT_FROM_HOUR * HOUR_MS, evening + (24 + NIGHT_TO_HOUR) * HOUR_MS);
  let best: { c: number; t: number } | null = null;
  for (const r of readings)
    if (r.airTempC !== null && (best === null || r.airTempC < best.c)) best = { c: r.airTempC, t: Date.parse(r.ts) };
  if (best) Object.assign(e, { minAirC: best.c, minAtMs: best.t });
}

function scoreNight(e: CommuneNight): ScoreNight {
  const frostBy = e.damage !== null ? 'survey' : e.minAirC !== null && e.minAirC <= STATION_FROST_C ? 'station' : 'none';
  const frost = e.damage !== null ? e.damage !== 'none' : frostBy === 'station';
  const warned = FROST_RANK[e.highest] >= FROST_RANK.warning;
  const prealerted = e.prealertAtMs !== null;
  const lead = (at: number | null): number | null =>
    frost && at !== null && e.minAtMs !== null ? Math.round(((e.minAtMs - at) / HOUR_MS) * 100) / 100 : null;
  return {
    night: e.night,
    commune: e.commune,
    minAirC: e.minAirC,
    damage: e.damage,
    frost,
    frostBy: e.damage !== null ? 'survey' : frostBy,
    highestLevel: e.highest,
    warned,
    prealerted,
    outcome: outcome(frost, warned),
    prealertOutcome: outcome(frost, prealerted),
    leadTimeH: warned ? lead(e.firstWarningAtMs) : null,
    prealertLeadTimeH: prealerted ? lead(e.prealertAtMs) : null,
  };
}

function outcome(frost: boolean, warned: boolean): Outcome {
  return frost ? (warned ? 'hit' : 'miss') : warned ? 'false_alarm' : 'quiet';
}

function communeTotals(nights: readonly ScoreNight[]): ScoreCommune[] {
  const by = new Map<string, ScoreNight[]>();
  for (const n of nights) by.set(n.commune, [...(by.get(n.commune) ?? []), n]);
  return [...by.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'vi'))
    .map(([commune, ns]) => {
      const count = (f: (n: ScoreNight) => boolean): number => ns.filter(f).length;
      return {
        commune,
        hits: count((n) => n.outcome === 'hit'),
        misses: count((n) => n.outcome === 'miss'),
        falseAlarms: count((n) => n.outcome === 'false_alarm'),
        quiet: count((n) => n.outcome === 'quiet'),
        prealertHits: count((n) => n.prealertOutcome === 'hit'),
        prealertMisses: count((n) => n.prealertOutcome === 'miss'),
        prealertFalseAlarms: count((n) => n.prealertOutcome === 'false_alarm'),
        medianLeadTimeH: median(ns.map((n) => n.leadTimeH)),
        medianPrealertLeadTimeH: median(ns.map((n) => n.prealertLeadTimeH)),
        surveyed: count((n) => n.damage !== null),
      };
    });
}

function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : Math.round((((v[mid - 1] as number) + (v[mid] as number)) / 2) * 100) / 100;
}

function inNightHours(ms: number, timeZone: string): boolean {
  const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(ms));
  return hour >= NIGHT_FROM_HOUR || hour < NIGHT_TO_HOUR;
}

/** The frost decisions of every station between two instants, for the score (alert_events of frost alerts). */
export function frostEventsQuery(db: Db): ScoreSources['frostEvents'] {
  const stmt = db.prepare<[number, number], { station_id: string; at: number; level: string }>(
    `SELECT a.station_id, e.at, e.level FROM alert_events e JOIN alerts a ON a.id = e.alert_id
     WHERE a.kind = 'frost' AND e.at >= ? AND e.at <= ? ORDER BY e.at`,
  );
  return (fromMs, toMs) => stmt.all(fromMs, toMs).map((r) => ({ stationId: r.station_id, at: r.at, level: r.level }));
}

/** The CSV columns of the score, per commune or per night. */
export const SCORE_COMMUNE_COLUMNS = [
  'commune',
  'hits',
  'misses',
  'falseAlarms',
  'quiet',
  'prealertHits',
  'prealertMisses',
  'prealertFalseAlarms',
  'medianLeadTimeH',
  'medianPrealertLeadTimeH',
  'surveyed',
] as const;
export const SCORE_NIGHT_COLUMNS = [
  'night',
  'commune',
  'minAirC',
  'damage',
  'frost',
  'frostBy',
  'highestLevel',
  'warned',
  'prealerted',
  'outcome',
  'prealertOutcome',
  'leadTimeH',
  'prealertLeadTimeH',
] as const;
