import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitFfst, type NightFeatures, nightFeatures } from '../../frost/index.js';
import type { StationId } from '../../contracts/index.js';
import { fitStationModel } from '../../server/warnings/model-fit.js';
import { readingLine } from '../../server/influx/line-protocol.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import type { StationRecord } from '../../server/registry/stations.js';
import { MUNICH, loadFrostNights } from '../helpers/frost-nights.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';

/**
 * `frostwatch model fit` on real stored data: the 136 DWD nights written to a real influxd as one station's
 * readings, read back through the same query the server uses, cut into nights by the station's own sunset and
 * sunrise — and the fit must equal the one made directly on the source file.
 */
describe('fitting a station FFST model from InfluxDB', () => {
  let influx: TestInfluxd;
  const station: StationRecord = {
    id: 'muc-01' as StationId,
    name: 'München-Stadt',
    commune: 'München',
    ...MUNICH,
    crop: 'arabica',
    districtId: 'lac-duong',
    source: 'native',
    deviceId: null,
    preset: null,
    fieldMap: null,
    createdAt: 0,
    tokenRotatedAt: null,
  };
  const nights = loadFrostNights();

  beforeAll(async () => {
    influx = await startTestInfluxd({ database: 'frostwatch' });
    const lines = nights.flatMap((n) => n.readings.map((r) => readingLine(station.id, r)));
    for (let i = 0; i < lines.length; i += 5_000) await influx.conn.writeLines(lines.slice(i, i + 5_000));
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (influx as TestInfluxd | undefined)?.stop();
  });

  it('finds the nights in the stored readings and fits the same model as the source data gives', async () => {
    const fromMs = Math.min(...nights.map((n) => n.sunsetMs)) - 86_400_000;
    const toMs = Math.max(...nights.map((n) => n.sunriseMs)) + 86_400_000;
    const result = await fitStationModel({ station, fromMs, toMs, nowMs: toMs, query: (q) => queryReadings(influx.conn, station.id, q) });
    if (!result.ok) throw new Error(result.reason);

    const direct = nights
      .map((n) => nightFeatures(n.readings, n.sunsetMs, n.sunriseMs))
      .filter((f): f is NightFeatures => f !== null && f.td2C !== null);
    const expected = fitFfst(direct);
    expect(result.report.nightsUsed).toBe(direct.length);
    expect(result.report.model.a).toBeCloseTo(expected.a, 6);
    expect(result.report.model.b).toBeCloseTo(expected.b, 6);
    expect(result.report.model.c).toBeCloseTo(expected.c, 6);
    expect(result.report.model.rmseC).toBeLessThan(2.5);
  });

  it('refuses to fit from too few nights, saying why', async () => {
    const night = nights[0]!;
    const result = await fitStationModel({
      station,
      fromMs: night.sunsetMs - 3_600_000,
      toMs: night.sunriseMs + 3_600_000,
      nowMs: 0,
      query: (q) => queryReadings(influx.conn, station.id, q),
    });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/cannot fit muc-01 from 1 radiative nights of 1/) as unknown });
  });
});
