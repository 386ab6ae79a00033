import type { InfluxConnection } from './connect.js';
import { InfluxQueryError } from './connect.js';
import { durationLiteral, qualifiedMeasurement, quoteIdent, quoteString, timeLiteralMs } from './influxql.js';
import { READINGS_MEASUREMENT, STATION_TAG } from './line-protocol.js';

/**
 * Retention and downsampling on InfluxDB 1.x (docs/operations.md, "Retention and downsampling").
 *
 * Raw readings live in the *raw* retention policy, kept RAW_RETENTION_DAYS; their 10-minute means live in `forever`,
 * kept forever. The raw RP is wherever the writer already writes: the RP named in INFLUX_BUCKET (`db/rp`), else the
 * database's default RP (`autogen` unless someone changed it). A new RP made the default would hide every reading
 * already stored in autogen from the charts, and copying them over would double the disk for a while; shortening
 * the RP the data is in keeps it readable where it is.
 */

export const MEANS_RP = 'forever';
/** Used when the database has no default RP at all (retention-autocreate off) and INFLUX_BUCKET names none. */
export const FALLBACK_RAW_RP = 'raw';
export const MEANS_CQ = 'readings_10m';
export const MEAN_WINDOW = '10m';
export const MEAN_WINDOW_MS = 10 * 60_000;
/**
 * Each CQ run recomputes the windows of the last hour, so a reading up to ~50 min late (a station's short outage,
 * the spool catching up) is in its mean without help; anything later is re-averaged by the downsampler.
 */
export const RESAMPLE_FOR = '1h';
export const RESAMPLE_FOR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface RetentionLayout {
  database: string;
  /** Where raw readings are written and read. */
  rawRp: string;
  /** Where the 10-minute means are. */
  meansRp: string;
  rawDays: number;
}

export interface RetentionPlan {
  layout: RetentionLayout;
  /**
   * The raw RP keeps data longer than rawDays (autogen is infinite): shorten it only after the means cover what
   * the shorter duration drops (the retention service deletes whole shard groups within its check interval, 30 min).
   */
  shrinkPending: boolean;
}

export interface EnsureRetentionOptions {
  rawDays: number;
}

interface RetentionPolicyRow {
  name: string;
  durationMs: number;
  isDefault: boolean;
}

/**
 * Creates `forever` and the raw RP when they are missing; lengthens the raw RP when rawDays grew. Idempotent: a
 * restart with the same settings changes nothing. The CQ comes after the backfill (ensureContinuousQuery).
 */
export async function ensureRetention(conn: InfluxConnection, opts: EnsureRetentionOptions): Promise<RetentionPlan> {
  const database = conn.target.database;
  const db = quoteIdent(database);
  const policies = await showRetentionPolicies(conn);
  if (!policies.some((p) => p.name === MEANS_RP)) {
    await admin(conn, `CREATE RETENTION POLICY ${quoteIdent(MEANS_RP)} ON ${db} DURATION INF REPLICATION 1`);
  }
  const configured = conn.target.retentionPolicy;
  const rawRp = configured ?? policies.find((p) => p.isDefault)?.name ?? FALLBACK_RAW_RP;
  if (rawRp === MEANS_RP)
    throw new RangeError(
      `the raw readings' retention policy is "${MEANS_RP}" (${configured === undefined ? "the database's default" : 'INFLUX_BUCKET'}), where the means go: name another one`,
    );
  const layout: RetentionLayout = { database, rawRp, meansRp: MEANS_RP, rawDays: opts.rawDays };
  const wantMs = opts.rawDays * DAY_MS;
  const raw = policies.find((p) => p.name === rawRp);
  let shrinkPending = false;
  if (!raw) {
    // Made the default only when frostwatch writes without naming an RP, so that it is where those writes land.
    const makeDefault = configured === undefined ? ' DEFAULT' : '';
    await admin(conn, `CREATE RETENTION POLICY ${quoteIdent(rawRp)} ON ${db} ${rawDurationClause(opts.rawDays)}${makeDefault}`);
  } else if (raw.durationMs !== wantMs) {
    // 0 is INF. Longer than wanted: the downsampler shortens it (alterRawRetention) once the means cover what goes.
    if (raw.durationMs === 0 || raw.durationMs > wantMs) shrinkPending = true;
    else await alterRawRetention(conn, layout);
  }
  return { layout, shrinkPending };
}

/** Sets the raw RP's duration to rawDays (and a shard duration that fits inside it). */
export async function alterRawRetention(conn: InfluxConnection, layout: RetentionLayout): Promise<void> {
  await admin(
    conn,
    `ALTER RETENTION POLICY ${quoteIdent(layout.rawRp)} ON ${quoteIdent(layout.database)} ${rawDurationClause(layout.rawDays)}`,
  );
}

/**
 * 1.x refuses a shard group longer than the RP ("retention policy duration must be greater than the shard
 * duration"), and autogen's is 7 days; its own defaults: 1 day up to 6 months, 7 days above. CREATE wants
 * REPLICATION before SHARD DURATION; ALTER takes the same clause.
 */
function rawDurationClause(rawDays: number): string {
  return `DURATION ${rawDays}d REPLICATION 1 SHARD DURATION ${rawDays > 180 ? '7d' : '1d'}`;
}

/**
 * CREATE CONTINUOUS QUERY of an identical query is a no-op on 1.x, a different one under the same name fails with
 * "continuous query already exists" (there is no ALTER): then it is dropped and created again. The CQ names the raw
 * RP, so a changed INFLUX_BUCKET replaces it too. `every` is how often it runs: every window (10m) unless a test
 * sets `1s` to watch it run.
 */
export async function ensureContinuousQuery(conn: InfluxConnection, layout: RetentionLayout, every: string = MEAN_WINDOW): Promise<void> {
  const name = quoteIdent(MEANS_CQ);
  const db = quoteIdent(layout.database);
  const create =
    `CREATE CONTINUOUS QUERY ${name} ON ${db} RESAMPLE EVERY ${durationLiteral(every)} FOR ${RESAMPLE_FOR} ` +
    `BEGIN ${meansSelect(layout)} END`;
  try {
    await admin(conn, create);
  } catch (err) {
    if (!(err instanceof InfluxQueryError) || !err.message.includes('already exists')) throw err;
    await admin(conn, `DROP CONTINUOUS QUERY ${name} ON ${db}`);
    await admin(conn, create);
  }
}

/**
 * The 10-minute means of every field; min and max of the air temperature (the charts' airTempMinC band, the cold
 * hours), the highest seq (a mean seq means nothing), and n, readings per window (a gap shows as a small n).
 * `GROUP BY *` keeps `station` a tag: without it INTO would write it as a field and merge every station into one
 * series.
 */
export function meansSelect(layout: RetentionLayout, where?: { fromMs: number; toMs: number; stationId?: string }): string {
  const f = quoteIdent;
  const columns = [
    `mean(${f('airTempC')}) AS ${f('airTempC')}`,
    `min(${f('airTempC')}) AS ${f('airTempMinC')}`,
    `max(${f('airTempC')}) AS ${f('airTempMaxC')}`,
    ...(['rhPct', 'windMs', 'leafTempC', 'batteryV', 'rssiDbm'] as const).map((name) => `mean(${f(name)}) AS ${f(name)}`),
    `max(${f('seq')}) AS ${f('seq')}`,
    `count(${f('airTempC')}) AS ${f('n')}`,
  ].join(', ');
  const db = f(layout.database);
  const into = `${db}.${qualifiedMeasurement(READINGS_MEASUREMENT, layout.meansRp)}`;
  const from = `${db}.${qualifiedMeasurement(READINGS_MEASUREMENT, layout.rawRp)}`;
  const conditions: string[] = [];
  if (where?.stationId !== undefined) conditions.push(`${f(STATION_TAG)} = ${quoteString(where.stationId)}`);
  // A CQ's WHERE carries no time: InfluxDB adds the range of each run.
  if (where) conditions.push(`time >= ${timeLiteralMs(where.fromMs)}`, `time < ${timeLiteralMs(where.toMs)}`);
  const whereClause = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
  return `SELECT ${columns} INTO ${into} FROM ${from}${whereClause} GROUP BY time(${MEAN_WINDOW}), *`;
}

export interface BackfillRange {
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  /** One station's windows only (its late readings); all stations when absent. */
  stationId?: string;
}

/** Window starts are multiples of 10 min from the epoch, as GROUP BY time(10m) aligns them. */
export function floorWindow(ms: number): number {
  return Math.floor(ms / MEAN_WINDOW_MS) * MEAN_WINDOW_MS;
}

/**
 * Writes the 10-minute means of a range with SELECT … INTO, a day at a time (one query's memory stays bounded
 * whatever the gap), oldest first. A window recomputed overwrites its point (same series, same time), so running
 * twice is harmless. Returns the means written; stops between days when `stop()` says so.
 */
export async function backfillMeans(
  conn: InfluxConnection,
  layout: RetentionLayout,
  range: BackfillRange,
  stop: () => boolean = () => false,
): Promise<number> {
  let written = 0;
  const end = Math.ceil(range.toMs / MEAN_WINDOW_MS) * MEAN_WINDOW_MS;
  for (let from = floorWindow(range.fromMs); from < end && !stop();) {
    const to = Math.min(end, Math.floor(from / DAY_MS) * DAY_MS + DAY_MS);
    const where = { fromMs: from, toMs: to, ...(range.stationId === undefined ? {} : { stationId: range.stationId }) };
    const [series] = await conn.query(meansSelect(layout, where));
    const n = series?.values[0]?.[series.columns.indexOf('written')];
    if (typeof n === 'number' && n > 0) {
      written += n;
      from = to;
      continue;
    }
    // An empty day: jump to the next reading rather than asking day by day across a long silence.
    const next = await firstRawMs(conn, layout, { fromMs: to, ...(range.stationId === undefined ? {} : { stationId: range.stationId }) });
    if (next === null || next >= end) break;
    from = floorWindow(next);
  }
  return written;
}

/** Time of the oldest raw reading (from `fromMs`, of one station), or null when there is none. */
export async function firstRawMs(
  conn: InfluxConnection,
  layout: RetentionLayout,
  where: { fromMs?: number; stationId?: string } = {},
): Promise<number | null> {
  const conditions: string[] = [];
  if (where.stationId !== undefined) conditions.push(`${quoteIdent(STATION_TAG)} = ${quoteString(where.stationId)}`);
  if (where.fromMs !== undefined) conditions.push(`time >= ${timeLiteralMs(where.fromMs)}`);
  const clause = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
  return selectorTime(
    conn,
    `SELECT first(${quoteIdent('airTempC')}) FROM ${qualifiedMeasurement(READINGS_MEASUREMENT, layout.rawRp)}${clause}`,
  );
}

/** Start of the newest 10-minute mean (of any station, or of one in a range), or null when there is none. */
export async function lastMeanMs(
  conn: InfluxConnection,
  layout: RetentionLayout,
  where?: { stationId: string; fromMs: number; toMs: number },
): Promise<number | null> {
  const from = qualifiedMeasurement(READINGS_MEASUREMENT, layout.meansRp);
  const clause =
    where === undefined
      ? ''
      : ` WHERE ${quoteIdent(STATION_TAG)} = ${quoteString(where.stationId)} AND time >= ${timeLiteralMs(where.fromMs)} AND time <= ${timeLiteralMs(where.toMs)}`;
  return selectorTime(conn, `SELECT last(${quoteIdent('airTempC')}) FROM ${from}${clause}`);
}

async function selectorTime(conn: InfluxConnection, influxql: string): Promise<number | null> {
  const [series] = await conn.query(influxql);
  const t = series?.values[0]?.[series.columns.indexOf('time')];
  return typeof t === 'number' ? t : null;
}

async function showRetentionPolicies(conn: InfluxConnection): Promise<RetentionPolicyRow[]> {
  const [series] = await conn.query(`SHOW RETENTION POLICIES ON ${quoteIdent(conn.target.database)}`);
  if (!series) return [];
  const col = (name: string): number => series.columns.indexOf(name);
  return series.values.map((row) => ({
    name: String(row[col('name')]),
    durationMs: goDurationMs(String(row[col('duration')])),
    isDefault: row[col('default')] === true,
  }));
}

/** SHOW RETENTION POLICIES prints Go durations: `0s` (INF), `9600h0m0s`. */
export function goDurationMs(text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === '') throw new RangeError(`unexpected retention policy duration ${JSON.stringify(text)}`);
  const [, h = '0', m = '0', s = '0'] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1_000;
}

/** Statements that manage the database: sent like any query (the connection adds `db`, which they ignore). */
function admin(conn: InfluxConnection, statement: string): Promise<unknown> {
  return conn.query(statement);
}
