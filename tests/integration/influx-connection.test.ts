import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/index.js';
import { connectInflux } from '../../server/influx/connect.js';
import { quoteIdent, quoteString } from '../../server/influx/influxql.js';
import { readingLine, statusLine } from '../../server/influx/line-protocol.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { findFreePort } from '../../server/influx/managed-influxd.js';
import { startTestInfluxd } from '../helpers/influxd.js';
import type { TestInfluxd } from '../helpers/influxd.js';

const T0 = Date.UTC(2025, 0, 14, 21, 0, 0, 0);

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (influx as TestInfluxd | undefined)?.stop();
});

describe('InfluxDB 1.x connection', () => {
  it('detects the version from /ping and creates the database', async () => {
    expect(influx.conn.version).toMatch(/^1\.6\./);
    expect(influx.conn.major).toBe(1);
    const ping = await influx.conn.ping();
    expect(ping).toEqual({ ok: true, version: influx.conn.version });
    const series = await influx.conn.query('SHOW DATABASES');
    const names = series.flatMap((s) => s.values.map((row) => row[0]));
    expect(names).toContain('frostwatch_test');
  });

  it('writes readings and reads them back raw, exact to the millisecond', async () => {
    const readings: Reading[] = [
      { ts: T0 + 1, airTempC: 3.25, rhPct: 91.5, windMs: 0.3, leafTempC: 0.5, batteryV: 3.9, rssiDbm: -81, seq: 7 },
      { ts: T0 + 60_001, airTempC: 2.75, seq: 8 },
      { ts: T0 + 120_999, airTempC: -0.125 },
    ];
    await influx.conn.writeLines(readings.map((r) => readingLine('raw-01', r)));
    const out = await queryReadings(influx.conn, 'raw-01', { fromMs: T0, toMs: T0 + 3_600_000 });
    expect(out).toEqual([
      { ts: new Date(T0 + 1).toISOString(), airTempC: 3.25, rhPct: 91.5, windMs: 0.3, leafTempC: 0.5, batteryV: 3.9, rssiDbm: -81, seq: 7 },
      { ts: new Date(T0 + 60_001).toISOString(), airTempC: 2.75, seq: 8 },
      { ts: new Date(T0 + 120_999).toISOString(), airTempC: -0.125 },
    ]);
    const window = await queryReadings(influx.conn, 'raw-01', { fromMs: T0 + 2, toMs: T0 + 60_001 });
    expect(window.map((r) => r.ts)).toEqual([new Date(T0 + 60_001).toISOString()]);
  });

  it('aggregates with mean, min and max per window', async () => {
    const temps = [4, 2, 3, 1, -1, 0.5];
    const lines = temps.map((airTempC, i) => readingLine('agg-01', { ts: T0 + i * 60_000, airTempC, rhPct: 90 + i }));
    await influx.conn.writeLines(lines);
    const out = await queryReadings(influx.conn, 'agg-01', { fromMs: T0, toMs: T0 + 3_600_000, every: '3m' });
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ ts: new Date(T0).toISOString(), airTempMinC: 2, airTempMaxC: 4, rhPct: 91 });
    expect(out[0]?.airTempC).toBeCloseTo(3, 10);
    expect(out[1]).toMatchObject({ ts: new Date(T0 + 180_000).toISOString(), airTempMinC: -1, airTempMaxC: 1, rhPct: 94 });
    expect(out[1]?.airTempC).toBeCloseTo((1 - 1 + 0.5) / 3, 10);
  });

  it('stores a duplicate point (same station and timestamp) once, the later value winning', async () => {
    await influx.conn.writeLines([readingLine('dup-01', { ts: T0, airTempC: 1 })]);
    await influx.conn.writeLines([readingLine('dup-01', { ts: T0, airTempC: 1 }), readingLine('dup-01', { ts: T0, airTempC: 2 })]);
    const out = await queryReadings(influx.conn, 'dup-01', { fromMs: T0 - 1, toMs: T0 + 1 });
    expect(out).toEqual([{ ts: new Date(T0).toISOString(), airTempC: 2 }]);
  });

  it('keeps hostile station ids apart in writes and queries', async () => {
    const hostile = ["x' OR '1'='1", 'a"b\\c', 'sp ace,comma=eq', "q\\'"];
    await influx.conn.writeLines([
      readingLine('victim', { ts: T0, airTempC: 9 }),
      ...hostile.map((id, i) => readingLine(id, { ts: T0, airTempC: i })),
    ]);
    for (const [i, id] of hostile.entries()) {
      expect(await queryReadings(influx.conn, id, { fromMs: T0, toMs: T0 })).toEqual([{ ts: new Date(T0).toISOString(), airTempC: i }]);
    }
    const tags = await influx.conn.query(`SHOW TAG VALUES FROM ${quoteIdent('readings')} WITH KEY = ${quoteIdent('station')}`);
    const values = tags.flatMap((s) => s.values.map((row) => row[1]));
    expect(values).toEqual(expect.arrayContaining([...hostile, 'victim']));
  });

  it('stores a status point with an escaped firmware string', async () => {
    const fw = 'v"1"\\beta';
    await influx.conn.writeLines([statusLine('st-01', { online: false, fw, uptimeS: 12 }, T0)]);
    const series = await influx.conn.query(`SELECT "online", "fw", "uptimeS" FROM "status" WHERE "station" = ${quoteString('st-01')}`);
    expect(series[0]?.values).toEqual([[T0, false, fw, 12]]);
  });

  it('reports an InfluxQL error as a rejection', async () => {
    await expect(influx.conn.query('SELEKT nothing')).rejects.toThrow(/InfluxDB/);
  });
});

describe('connecting while InfluxDB is down', () => {
  it('returns a connection, reports the ping failure, and rejects writes', async () => {
    const port = await findFreePort();
    const conn = await connectInflux({ url: `http://127.0.0.1:${port}`, bucket: 'x', logger: influx.logger, timeoutMs: 2_000 });
    try {
      expect(conn.version).toBeNull();
      expect((await conn.ping()).ok).toBe(false);
      await expect(conn.writeLines([readingLine('s', { ts: T0, airTempC: 1 })])).rejects.toThrow();
    } finally {
      await conn.close();
    }
  });
});
