import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/index.js';
import type { InfluxConnection } from '../../server/influx/connect.js';
import { connectInflux } from '../../server/influx/connect.js';
import { startDownsampler } from '../../server/influx/downsampler.js';
import type { Downsampler } from '../../server/influx/downsampler.js';
import { quoteString } from '../../server/influx/influxql.js';
import { readingLine } from '../../server/influx/line-protocol.js';
import { queryReadings, readingsQuery, readsMeans } from '../../server/influx/readings-query.js';
import { MEAN_WINDOW_MS, floorWindow } from '../../server/influx/retention.js';
import type { RetentionLayout } from '../../server/influx/retention.js';
import { startTestInfluxd } from '../helpers/influxd.js';
import type { TestInfluxd } from '../helpers/influxd.js';

/**
 * Retention policies, the 10-minute means and the resolution charts read, on a real influxd 1.6.7. The database
 * starts as an existing installation's does: readings already in autogen (infinite), no `forever`, no CQ.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// Every timestamp is relative to now: a CQ and the retention horizon run on influxd's wall clock.
const NOW = Date.now();
/** Three days ago, on a window boundary: hourly windows of 10-minute means line up with it. */
const RECENT = Math.floor((NOW - 3 * DAY) / HOUR) * HOUR;
/** Older than 400 days: only its means are kept once autogen is shortened. */
const ANCIENT = Math.floor((NOW - 500 * DAY) / HOUR) * HOUR;

let influx: TestInfluxd;
const downsamplers: Downsampler[] = [];
/** Moves the downsamplers' clock on, so late readings count as settled without a 30 s wait. */
let skewMs = 0;

function downsampler(conn: InfluxConnection, rawDays: number, extra: { cqEvery?: string } = {}): Downsampler {
  const d = startDownsampler({ conn, rawDays, logger: influx.logger, tickMs: HOUR, wallNow: () => Date.now() + skewMs, ...extra });
  downsamplers.push(d);
  return d;
}

/** One reading a minute, air temperature `temp(i)`, from `fromMs` for `minutes`. */
function minutely(fromMs: number, minutes: number, temp: (i: number) => number): Reading[] {
  return Array.from({ length: minutes }, (_, i) => ({ ts: fromMs + i * MIN, airTempC: temp(i), rhPct: 80 + (i % 10), seq: i }));
}

async function write(conn: InfluxConnection, stationId: string, readings: readonly Reading[]): Promise<void> {
  for (let i = 0; i < readings.length; i += 5_000)
    await conn.writeLines(readings.slice(i, i + 5_000).map((r) => readingLine(stationId, r)));
}

async function policies(conn: InfluxConnection): Promise<Record<string, { duration: unknown; shard: unknown; isDefault: unknown }>> {
  const [series] = await conn.query(`SHOW RETENTION POLICIES ON "${influx.database}"`);
  const out: Record<string, { duration: unknown; shard: unknown; isDefault: unknown }> = {};
  for (const row of series?.values ?? []) out[String(row[0])] = { duration: row[1], shard: row[2], isDefault: row[4] };
  return out;
}

async function continuousQueries(conn: InfluxConnection): Promise<string[]> {
  const series = await conn.query('SHOW CONTINUOUS QUERIES');
  return series.filter((s) => s.name === influx.database).flatMap((s) => s.values.map((row) => String(row[1])));
}

async function means(conn: InfluxConnection, stationId: string): Promise<Record<string, unknown>[]> {
  const [series] = await conn.query(`SELECT * FROM "forever"."readings" WHERE "station" = ${quoteString(stationId)}`);
  if (!series) return [];
  return series.values.map((row) => Object.fromEntries(series.columns.map((c, i) => [c, row[i]])));
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// Station old-01: an hour of readings three days ago, and an hour 500 days ago, both written before any retention
// set-up, into autogen (the default RP), as an installation before this change has them.
const RECENT_HOUR = minutely(RECENT, 60, (i) => 5 - i / 10);
const ANCIENT_HOUR = minutely(ANCIENT, 60, (i) => 1 + (i % 7));

let layout: RetentionLayout;

beforeAll(async () => {
  influx = await startTestInfluxd({ database: 'retention_test' });
  await write(influx.conn, 'old-01', [...ANCIENT_HOUR, ...RECENT_HOUR]);
  const d = downsampler(influx.conn, 400);
  await d.runOnce();
  if (d.layout === null) throw new Error('the downsampler did not set up');
  layout = d.layout;
});

afterAll(async () => {
  for (const d of downsamplers) await d.close();
  await (influx as TestInfluxd | undefined)?.stop();
});

describe('retention policies and the continuous query (InfluxDB 1.6)', () => {
  it('shortens autogen, where the data already is, to 400 days and keeps it the default; adds forever and the CQ', async () => {
    expect(layout).toEqual({ database: 'retention_test', rawRp: 'autogen', meansRp: 'forever', rawDays: 400 });
    const rps = await policies(influx.conn);
    expect(rps.autogen).toEqual({ duration: '9600h0m0s', shard: '168h0m0s', isDefault: true });
    expect(rps.forever).toEqual({ duration: '0s', shard: '168h0m0s', isDefault: false });
    const cqs = await continuousQueries(influx.conn);
    expect(cqs).toHaveLength(1);
    expect(cqs[0]).toMatch(/^CREATE CONTINUOUS QUERY readings_10m ON retention_test RESAMPLE EVERY 10m FOR 1h BEGIN SELECT mean/);
    expect(cqs[0]).toContain('INTO retention_test.forever.readings FROM retention_test.autogen.readings');
    expect(cqs[0]).toMatch(/GROUP BY time\(10m\), \* END$/);
  });

  it('filled in the means of everything already stored, the 500-day-old hour too, before shortening autogen', async () => {
    const rows = await means(influx.conn, 'old-01');
    expect(rows.map((r) => r.time)).toEqual([
      ...Array.from({ length: 6 }, (_, i) => ANCIENT + i * MEAN_WINDOW_MS),
      ...Array.from({ length: 6 }, (_, i) => RECENT + i * MEAN_WINDOW_MS),
    ]);
    // The tag stays a tag (GROUP BY *): one series per station.
    const first = rows[6] ?? {};
    expect(first).toMatchObject({ station: 'old-01', n: 10, seq: 9, airTempMaxC: 5 });
    expect(first.airTempMinC).toBeCloseTo(4.1, 10);
    expect(first.airTempC).toBeCloseTo(4.55, 10);
    expect(first.rhPct).toBeCloseTo(84.5, 10);
  });

  it('is idempotent on restart, and follows RAW_RETENTION_DAYS down and up', async () => {
    const before = { rps: await policies(influx.conn), cqs: await continuousQueries(influx.conn) };
    await downsampler(influx.conn, 400).runOnce();
    expect({ rps: await policies(influx.conn), cqs: await continuousQueries(influx.conn) }).toEqual(before);

    await downsampler(influx.conn, 30).runOnce();
    expect((await policies(influx.conn)).autogen).toEqual({ duration: '720h0m0s', shard: '24h0m0s', isDefault: true });
    await downsampler(influx.conn, 60).runOnce();
    expect((await policies(influx.conn)).autogen).toEqual({ duration: '1440h0m0s', shard: '24h0m0s', isDefault: true });
    await downsampler(influx.conn, 400).runOnce();
    expect(await policies(influx.conn)).toEqual(before.rps);
    expect(await continuousQueries(influx.conn)).toEqual(before.cqs);
  });

  it('runs the CQ for real: readings of the last hour get their means without a backfill', async () => {
    // RESAMPLE EVERY 1s (instead of 10m) replaces the CQ: the same SELECT, run every second over the last hour.
    await downsampler(influx.conn, 400, { cqEvery: '1s' }).runOnce();
    expect((await continuousQueries(influx.conn))[0]).toContain('RESAMPLE EVERY 1s FOR 1h');
    const start = floorWindow(Date.now()) - 3 * MEAN_WINDOW_MS;
    await write(
      influx.conn,
      'cq-01',
      minutely(start, 20, (i) => -1 - i / 10),
    );
    const rows = await waitFor('the CQ to write two means', async () => {
      const found = await means(influx.conn, 'cq-01');
      return found.length >= 2 ? found : null;
    });
    expect(rows.slice(0, 2).map((r) => [r.time, r.n, r.airTempMaxC])).toEqual([
      [start, 10, -1],
      [start + MEAN_WINDOW_MS, 10, -2],
    ]);
    await downsampler(influx.conn, 400).runOnce();
    expect((await continuousQueries(influx.conn))[0]).toContain('RESAMPLE EVERY 10m FOR 1h');
  });
});

describe('charts read the resolution that fits the range', () => {
  it('reads a short range raw, from autogen, as before', async () => {
    const out = await queryReadings(influx.conn, 'old-01', { fromMs: RECENT, toMs: RECENT + HOUR }, layout);
    expect(out).toHaveLength(60);
    expect(out[0]).toEqual({ ts: new Date(RECENT).toISOString(), airTempC: 5, rhPct: 80, seq: 0 });
    const night = { fromMs: RECENT, toMs: RECENT + 14 * HOUR, every: '1m' };
    expect(readsMeans(night, layout, Date.now())).toBe(false);
    expect(await queryReadings(influx.conn, 'old-01', night, layout)).toHaveLength(60);
  });

  it('reads a long range from the means, with the same numbers the raw readings give', async () => {
    const week = { fromMs: NOW - 7 * DAY, toMs: NOW, every: '1h' };
    expect(readsMeans(week, layout, Date.now())).toBe(true);
    const fromMeans = await queryReadings(influx.conn, 'old-01', week, layout);
    const [rawSeries] = await influx.conn.query(readingsQuery('autogen', 'old-01', week));
    expect(fromMeans).toHaveLength(1);
    expect(fromMeans[0]).toMatchObject({ ts: new Date(RECENT).toISOString(), airTempMaxC: 5, seq: 59 });
    expect(fromMeans[0]?.airTempMinC).toBeCloseTo(-0.9, 10);
    // Every 10-minute window holds 10 readings, so the mean of the means is the mean of the readings.
    const rawMean = rawSeries?.values[0]?.[rawSeries.columns.indexOf('airTempC')];
    expect(fromMeans[0]?.airTempC).toBeCloseTo(Number(rawMean), 10);
  });

  it('reads a range older than the raw retention from the means', async () => {
    const range = { fromMs: ANCIENT - DAY, toMs: ANCIENT + DAY, every: '15m' };
    expect(readsMeans(range, layout, Date.now())).toBe(true);
    const out = await queryReadings(influx.conn, 'old-01', range, layout);
    expect(out.map((r) => r.airTempMinC)).toEqual([1, 1, 1, 1]);
    expect(out.map((r) => r.airTempMaxC)).toEqual([7, 7, 7, 7]);
  });

  it('proves the long range came from the means: a late reading shows once it is re-averaged', async () => {
    const week = { fromMs: NOW - 7 * DAY, toMs: NOW, every: '1h' };
    const late: Reading = { ts: RECENT + 30 * MIN + 30_000, airTempC: -9 };
    await write(influx.conn, 'old-01', [late]);
    // Raw has it at once; the means do not until the window is re-averaged.
    expect(
      (await queryReadings(influx.conn, 'old-01', { fromMs: RECENT, toMs: RECENT + HOUR, every: '10m' }, layout))[3]?.airTempMinC,
    ).toBe(-9);
    expect((await queryReadings(influx.conn, 'old-01', week, layout))[0]?.airTempMinC).toBeCloseTo(-0.9, 10);
    const d = downsampler(influx.conn, 400);
    await d.runOnce();
    d.noteReadings('old-01', [late]);
    skewMs = MIN;
    await d.runOnce();
    expect((await queryReadings(influx.conn, 'old-01', week, layout))[0]?.airTempMinC).toBe(-9);
    const window = (await means(influx.conn, 'old-01')).find((r) => r.time === RECENT + 3 * MEAN_WINDOW_MS);
    expect(window).toMatchObject({ n: 11, airTempMinC: -9 });
  });

  it('reads the part after the newest mean raw (a station not downsampled yet), one row per window', async () => {
    // Ten-minute readings over two and a half days, written after the set-up: only a backfill or the CQ would
    // average them, and neither has run for this station yet.
    const from = Math.floor((NOW - 2.5 * DAY) / (2 * HOUR)) * 2 * HOUR;
    const readings = Array.from({ length: 360 }, (_, i) => ({ ts: from + i * MEAN_WINDOW_MS + MIN, airTempC: (i % 24) - 5 }));
    await write(influx.conn, 'split-01', readings);
    const range = { fromMs: from, toMs: from + 2.5 * DAY, every: '2h' };
    expect(readsMeans(range, layout, Date.now())).toBe(true);
    const allRaw = await queryReadings(influx.conn, 'split-01', range, layout);
    expect(allRaw).toHaveLength(30);
    // Means for the first day only: the answer is the same, split at a 2 h boundary.
    await influx.conn.query(
      `SELECT mean("airTempC") AS "airTempC", min("airTempC") AS "airTempMinC", max("airTempC") AS "airTempMaxC" INTO "forever"."readings" ` +
        `FROM "autogen"."readings" WHERE "station" = 'split-01' AND time >= ${from}ms AND time < ${from + DAY + 5 * MEAN_WINDOW_MS}ms GROUP BY time(10m), *`,
    );
    const split = await queryReadings(influx.conn, 'split-01', range, layout);
    expect(split.map((r) => r.ts)).toEqual(allRaw.map((r) => r.ts));
    for (const [i, r] of split.entries()) {
      expect(r.airTempMinC).toBe(allRaw[i]?.airTempMinC);
      expect(r.airTempC).toBeCloseTo(allRaw[i]?.airTempC ?? Number.NaN, 10);
    }
  });
});

describe('INFLUX_BUCKET naming the raw retention policy (db/rp)', () => {
  it('creates that RP with RAW_RETENTION_DAYS, leaves the default alone, and writes and reads there', async () => {
    const conn = await connectInflux({ url: influx.url, bucket: 'named_rp/raw30', logger: influx.logger });
    try {
      await conn.ensureDatabase();
      const d = downsampler(conn, 30);
      await d.runOnce();
      expect(d.layout).toEqual({ database: 'named_rp', rawRp: 'raw30', meansRp: 'forever', rawDays: 30 });
      const [series] = await conn.query('SHOW RETENTION POLICIES ON "named_rp"');
      const rows = Object.fromEntries((series?.values ?? []).map((row) => [String(row[0]), [row[1], row[4]]]));
      expect(rows).toEqual({ autogen: ['0s', true], forever: ['0s', false], raw30: ['720h0m0s', false] });
      await write(conn, 'rp-01', [{ ts: RECENT, airTempC: 3 }]);
      const [stored] = await conn.query('SELECT "airTempC" FROM "raw30"."readings"');
      expect(stored?.values).toEqual([[RECENT, 3]]);
      expect(await queryReadings(conn, 'rp-01', { fromMs: RECENT, toMs: RECENT }, d.layout)).toEqual([
        { ts: new Date(RECENT).toISOString(), airTempC: 3 },
      ]);
    } finally {
      await conn.close();
    }
  });
});
