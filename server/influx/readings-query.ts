import type { ReadingOut } from '../../contracts/index.js';
import type { InfluxConnection, InfluxSeries } from './connect.js';
import { durationLiteral, qualifiedMeasurement, quoteIdent, quoteString, timeLiteralMs } from './influxql.js';
import { READINGS_MEASUREMENT, STATION_TAG } from './line-protocol.js';

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

/** Readings of one station, oldest first; `ts` is ISO 8601 (the window start when aggregated). */
export async function queryReadings(conn: InfluxConnection, stationId: string, range: ReadingsRange): Promise<ReadingOut[]> {
  const series = await conn.query(readingsQuery(conn.target.retentionPolicy, stationId, range));
  return series.flatMap(rowsOf);
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
