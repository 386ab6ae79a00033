import type { ReadingOut } from '../../contracts/index.js';
import type { InfluxConnection, InfluxSeries } from './connect.js';
import { durationLiteral, qualifiedMeasurement, quoteIdent, quoteString, timeLiteralMs } from './influxql.js';
import { READINGS_MEASUREMENT, STATION_TAG } from './line-protocol.js';
import { MEAN_WINDOW_MS, lastMeanMs } from './retention.js';
import type { RetentionLayout } from './retention.js';

/** Raw queries stop here; a chart of a day of one-minute readings needs 1,440. */
export const MAX_RAW_ROWS = 20_000;

/** The numeric fields of ReadingOut that come straight from a stored field of the same name. */
const VALUE_FIELDS = ['airTempC', 'rhPct', 'windMs', 'leafTempC', 'batteryV', 'rssiDbm', 'seq'] as const;
type ValueField = (typeof VALUE_FIELDS)[number];
type OutField = ValueField | 'airTempMinC' | 'airTempMaxC';

export interface ReadingsRange {
  fromMs: number;
  /** Inclusive. */
  toMs: number;
  /** Aggregate into windows of this InfluxQL duration (`5m`); raw readings when absent. */
  every?: string | undefined;
}

export function readingsQuery(rp: string | undefined, stationId: string, range: ReadingsRange): string {
  const where =
    `WHERE ${quoteIdent(STATION_TAG)} = ${quoteString(stationId)} ` +
    `AND time >= ${timeLiteralMs(range.fromMs)} AND time <= ${timeLiteralMs(range.toMs)}`;
  const from = `FROM ${qualifiedMeasurement(READINGS_MEASUREMENT, rp)}`;
  if (range.every === undefined) {
    const columns = VALUE_FIELDS.map(quoteIdent).join(', ');
    return `SELECT ${columns} ${from} ${where} ORDER BY time ASC LIMIT ${MAX_RAW_ROWS}`;
  }
  const columns = [
    ...VALUE_FIELDS.filter((f) => f !== 'seq').map((f) => `mean(${quoteIdent(f)}) AS ${quoteIdent(f)}`),
    `min(${quoteIdent('airTempC')}) AS ${quoteIdent('airTempMinC')}`,
    `max(${quoteIdent('airTempC')}) AS ${quoteIdent('airTempMaxC')}`,
    // A mean sequence number means nothing; the highest one in the window shows gaps.
    `max(${quoteIdent('seq')}) AS ${quoteIdent('seq')}`,
  ].join(', ');
  const group = `GROUP BY time(${durationLiteral(range.every)}) fill(none)`;
  return `SELECT ${columns} ${from} ${where} ${group} ORDER BY time ASC LIMIT ${MAX_RAW_ROWS}`;
}

/**
 * Aggregated ranges longer than this read the 10-minute means: a week of one-minute readings is 10,000 raw points
 * for InfluxDB to scan per chart, a season 170,000; the night and 24 h charts (1–2 min windows) stay raw.
 */
export const MEANS_ABOVE_SPAN_MS = 2 * 86_400_000;

/**
 * Whether an aggregated range is read from the 10-minute means: windows of 10 min or a multiple of it (the means
 * fit them exactly), over more than MEANS_ABOVE_SPAN_MS or reaching back past the raw retention (raw is gone
 * there). A window that is not a multiple of 10 min reads the means only where raw is gone: each mean then falls
 * into the window its start is in. Raw readings (no `every`) are always raw.
 */
export function readsMeans(range: ReadingsRange, layout: RetentionLayout | null, wallNowMs: number): boolean {
  if (layout === null || range.every === undefined) return false;
  const everyMs = durationMs(range.every);
  if (everyMs < MEAN_WINDOW_MS) return false;
  const rawGone = range.fromMs < wallNowMs - layout.rawDays * 86_400_000;
  if (everyMs % MEAN_WINDOW_MS !== 0) return rawGone;
  return rawGone || range.toMs - range.fromMs > MEANS_ABOVE_SPAN_MS;
}

/** The same answer as readingsQuery's aggregate, from the 10-minute means: mean of means, min of minima. */
export function meansQuery(layout: RetentionLayout, stationId: string, range: { fromMs: number; toMs: number; every: string }): string {
  const f = quoteIdent;
  const columns = [
    ...VALUE_FIELDS.filter((name) => name !== 'seq').map((name) => `mean(${f(name)}) AS ${f(name)}`),
    `min(${f('airTempMinC')}) AS ${f('airTempMinC')}`,
    `max(${f('airTempMaxC')}) AS ${f('airTempMaxC')}`,
    `max(${f('seq')}) AS ${f('seq')}`,
  ].join(', ');
  return (
    `SELECT ${columns} FROM ${qualifiedMeasurement(READINGS_MEASUREMENT, layout.meansRp)} ` +
    `WHERE ${f(STATION_TAG)} = ${quoteString(stationId)} AND time >= ${timeLiteralMs(range.fromMs)} AND time <= ${timeLiteralMs(range.toMs)} ` +
    `GROUP BY time(${durationLiteral(range.every)}) fill(none) ORDER BY time ASC LIMIT ${MAX_RAW_ROWS}`
  );
}

/**
 * Readings of one station, oldest first; `ts` is ISO 8601 (the window start when aggregated). With a retention
 * layout (InfluxDB 1.x, set up by the downsampler) long or old ranges come from the 10-minute means, and the part
 * after the newest mean — the current window the CQ has not closed yet, or a station never downsampled (readings
 * written with a simulated clock) — from raw, split on a window boundary so no window is counted twice.
 */
export async function queryReadings(
  conn: InfluxConnection,
  stationId: string,
  range: ReadingsRange,
  layout: RetentionLayout | null = null,
  wallNowMs: number = Date.now(),
): Promise<ReadingOut[]> {
  const rawRp = layout?.rawRp ?? conn.target.retentionPolicy;
  if (layout === null || range.every === undefined || !readsMeans(range, layout, wallNowMs)) {
    return (await conn.query(readingsQuery(rawRp, stationId, range))).flatMap(rowsOf);
  }
  const every = range.every;
  const everyMs = durationMs(every);
  const last = await lastMeanMs(conn, layout, { stationId, fromMs: range.fromMs, toMs: range.toMs });
  const splitMs = last === null ? range.fromMs : Math.max(range.fromMs, Math.floor((last + MEAN_WINDOW_MS) / everyMs) * everyMs);
  const means =
    splitMs > range.fromMs
      ? await conn.query(meansQuery(layout, stationId, { fromMs: range.fromMs, toMs: Math.min(range.toMs, splitMs - 1), every }))
      : [];
  const raw = splitMs <= range.toMs ? await conn.query(readingsQuery(rawRp, stationId, { fromMs: splitMs, toMs: range.toMs, every })) : [];
  return [...means.flatMap(rowsOf), ...raw.flatMap(rowsOf)];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `10m` → 600000; the value was checked by the route's schema, and durationLiteral refuses anything else. */
function durationMs(every: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(durationLiteral(every));
  return Number(match?.[1]) * (UNIT_MS[match?.[2] ?? ''] ?? Number.NaN);
}

function rowsOf(series: InfluxSeries): ReadingOut[] {
  const timeIndex = series.columns.indexOf('time');
  const fieldIndexes = series.columns.map((name, i) => [name, i] as const).filter(([name]) => name !== 'time');
  return series.values.map((row) => {
    const out: ReadingOut = { ts: new Date(Number(row[timeIndex])).toISOString(), airTempC: null };
    for (const [name, i] of fieldIndexes) {
      const value = row[i];
      if (isOutField(name) && typeof value === 'number') out[name] = value;
    }
    return out;
  });
}

function isOutField(name: string): name is OutField {
  return (VALUE_FIELDS as readonly string[]).includes(name) || name === 'airTempMinC' || name === 'airTempMaxC';
}
