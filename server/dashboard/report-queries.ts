import type { InfluxConnection } from '../influx/connect.js';
import { qualifiedMeasurement, quoteIdent, quoteString, timeLiteralMs } from '../influx/influxql.js';
import { READINGS_MEASUREMENT, STATION_TAG } from '../influx/line-protocol.js';

/** Cold hours are counted in 10-minute windows (the step of the DWD observations the thresholds were checked on). */
export const COLD_WINDOW_MS = 10 * 60_000;
export const COLD_THRESHOLDS_C = [2, 0, -2] as const;

export interface ColdSummary {
  minAirC: number | null;
  minAtMs: number | null;
  /** Hours with a 10-min mean below 2, 0 and −2 °C. */
  hoursBelowC: [number, number, number];
}

/** The coldest reading (InfluxQL selector min(), which keeps its time) and the cold hours of one station in a window. */
export async function coldSummary(conn: InfluxConnection, stationId: string, fromMs: number, toMs: number): Promise<ColdSummary> {
  const from = `FROM ${qualifiedMeasurement(READINGS_MEASUREMENT, conn.target.retentionPolicy)}`;
  const where = `WHERE ${quoteIdent(STATION_TAG)} = ${quoteString(stationId)} AND time >= ${timeLiteralMs(fromMs)} AND time <= ${timeLiteralMs(toMs)}`;
  const air = quoteIdent('airTempC');
  const [minSeries] = await conn.query(`SELECT min(${air}) ${from} ${where}`);
  const minRow = minSeries?.values[0];
  const minAirC = typeof minRow?.[1] === 'number' ? minRow[1] : null;
  const minAtMs = minAirC !== null && typeof minRow?.[0] === 'number' ? minRow[0] : null;
  // Counted inside InfluxDB (a subquery): a season of 10-min windows is ~17,000 rows, more than 1.x's row limit may allow.
  const windows = `SELECT mean(${air}) AS ${quoteIdent('m')} ${from} ${where} GROUP BY time(10m)`;
  const hours = (await Promise.all(
    COLD_THRESHOLDS_C.map(async (threshold) => {
      const [series] = await conn.query(`SELECT count(${quoteIdent('m')}) FROM (${windows}) WHERE ${quoteIdent('m')} < ${threshold}`);
      const n = series?.values[0]?.[1];
      return typeof n === 'number' ? Math.round(((n * COLD_WINDOW_MS) / 3_600_000) * 100) / 100 : 0;
    }),
  )) as [number, number, number];
  return { minAirC, minAtMs, hoursBelowC: hours };
}
