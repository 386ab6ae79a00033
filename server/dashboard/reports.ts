import { type NightReportRow, type Report, nightOf } from '../../contracts/index.js';
import type { StationRecord } from '../registry/stations.js';
import type { WarningStats } from './alert-queries.js';
import { NIGHT_AFTER_SUNRISE_MS, NIGHT_BEFORE_SUNSET_MS } from './chart.js';
import type { ColdSummary } from './report-queries.js';

const HOUR_MS = 3_600_000;

export interface ReportSources {
  stations: readonly StationRecord[];
  districtName(districtId: string): string;
  cold(stationId: string, fromMs: number, toMs: number): Promise<ColdSummary>;
  warnings(stationId: string, fromMs: number, toMs: number): WarningStats;
}

type Window = { fromMs: number; toMs: number };

/** The night that starts on the evening of `date` (YYYY-MM-DD in `timeZone`), for each station: sunset − 2 h → sunrise + 3 h. */
export async function nightReport(src: ReportSources, date: string, timeZone: string): Promise<Report> {
  const noonMs = localNoonMs(date, timeZone);
  const windows = src.stations.map((s): Window => {
    const night = nightOf(s.lat, s.lon, noonMs); // by day nightOf gives the night that follows
    return { fromMs: night.sunsetMs - NIGHT_BEFORE_SUNSET_MS, toMs: night.sunriseMs + NIGHT_AFTER_SUNRISE_MS };
  });
  const rows = await Promise.all(
    src.stations.map((s, i) => reportRow(src, s, windows[i] ?? { fromMs: noonMs, toMs: noonMs + 24 * HOUR_MS })),
  );
  const fromMs = windows.length > 0 ? Math.min(...windows.map((w) => w.fromMs)) : noonMs;
  const toMs = windows.length > 0 ? Math.max(...windows.map((w) => w.toMs)) : noonMs + 24 * HOUR_MS;
  return { kind: 'night', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), rows };
}

export async function seasonReport(src: ReportSources, fromMs: number, toMs: number): Promise<Report> {
  const rows = await Promise.all(src.stations.map((s) => reportRow(src, s, { fromMs, toMs })));
  return { kind: 'season', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), rows };
}

async function reportRow(src: ReportSources, station: StationRecord, w: Window): Promise<NightReportRow> {
  const cold = await src.cold(station.id, w.fromMs, w.toMs);
  const warn = src.warnings(station.id, w.fromMs, w.toMs);
  const lead = warn.firstWarningAtMs !== null && cold.minAtMs !== null ? (cold.minAtMs - warn.firstWarningAtMs) / HOUR_MS : null;
  return {
    stationId: station.id,
    name: station.name,
    commune: station.commune,
    districtId: station.districtId,
    district: src.districtName(station.districtId),
    minAirC: cold.minAirC,
    minAt: cold.minAtMs === null ? null : new Date(cold.minAtMs).toISOString(),
    hoursBelow2C: cold.hoursBelowC[0],
    hoursBelow0C: cold.hoursBelowC[1],
    hoursBelowMinus2C: cold.hoursBelowC[2],
    highestLevel: warn.highestLevel,
    messagesSent: warn.messagesSent,
    recipients: warn.recipients,
    reached: warn.reached,
    reachRate: warn.recipients === 0 ? null : Math.round((warn.reached / warn.recipients) * 1_000) / 1_000,
    leadTimeH: lead === null ? null : Math.round(lead * 100) / 100,
  };
}

/** 12:00 of a calendar date in an IANA zone, as epoch ms (offset found with Intl; zones here have no DST, but it is handled). */
export function localNoonMs(date: string, timeZone: string): number {
  const guess = Date.parse(`${date}T12:00:00Z`);
  return guess - offsetMs(guess - offsetMs(guess, timeZone), timeZone);
}

/** Local midnight of a calendar date in a zone. */
export function localMidnightMs(date: string, timeZone: string): number {
  return localNoonMs(date, timeZone) - 12 * HOUR_MS;
}

function offsetMs(atMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(atMs);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(atMs / 1_000) * 1_000;
}
