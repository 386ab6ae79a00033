import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PRIOR_CORRECTION, judgeNight, summariseNight } from '../../frost/forecast-night.js';
import { type ForecastLocation, groupLocations } from '../../server/forecast/locations.js';
import { ForecastError, HOURLY_VARIABLES, fetchForecasts } from '../../server/forecast/open-meteo.js';
import {
  type OpenMeteoServer,
  type WeatherFn,
  cloudyWeather,
  frostyWeather,
  startOpenMeteoServer,
} from '../../testkit/open-meteo-server.js';

/**
 * The forecast input's HTTP side: the real client against the Open-Meteo stand-in (and, for answers the stand-in
 * never gives, a scripted node:http server), over real sockets.
 */
const HOUR_MS = 3_600_000;
const TZ = 'Asia/Ho_Chi_Minh';
const START = '2025-01-10';
const END = '2025-01-11';
/** 00:00 on 10 Jan in Lạc Dương (UTC+7). */
const LOCAL_MIDNIGHT = Date.UTC(2025, 0, 10) - 7 * HOUR_MS;

const place = (lat: number, lon = 108.42, elevationM = 1500): ForecastLocation => ({
  key: `${lat},${lon},${elevationM}`,
  lat,
  lon,
  elevationM,
  stationIds: [],
});

/** Every value names its location, so an answer given to the wrong one fails. */
const identifying: WeatherFn = (p) => ({ tempC: p.lat, dewPointC: p.lon, cloudPct: p.elevation / 100, windMs: 2.5 });

let om: OpenMeteoServer;
beforeAll(async () => {
  om = await startOpenMeteoServer({ weather: identifying });
});
afterAll(async () => {
  await om.close();
});
afterEach(() => {
  om.fail('none');
  om.setWeather(identifying);
});

const fetchFrom = (locations: readonly ForecastLocation[], extra: Partial<Parameters<typeof fetchForecasts>[0]> = {}) =>
  fetchForecasts({ baseUrl: om.url, locations, startDate: START, endDate: END, timeZone: TZ, ...extra });

/** The ForecastError a promise rejects with (fails the test if it resolves or rejects with anything else). */
async function forecastError(promise: Promise<unknown>): Promise<ForecastError> {
  const err: unknown = await promise.then(
    () => new Error('expected a ForecastError, got a result'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ForecastError);
  return err as ForecastError;
}

describe('fetchForecasts against the Open-Meteo stand-in', () => {
  it('batches 120 locations 50 to a request and gives each its own hours, in input order', async () => {
    // One decimal, as the stand-in rounds its values: lat 10.0…21.9 is then the location's own temperature.
    const oneDecimal = (x: number) => Number(x.toFixed(1));
    const locations = Array.from({ length: 120 }, (_, i) => place(oneDecimal(10 + i / 10), oneDecimal(100 + (i % 7) / 10), 1000 + 10 * i));
    const before = om.requests.length;
    const result = await fetchFrom(locations, { batchSize: 50 });
    const sent = om.requests.slice(before);
    expect(sent.map((u) => u.searchParams.get('latitude')?.split(',').length)).toEqual([50, 50, 20]);
    expect(result).toHaveLength(120);
    result.forEach((hours, i) => {
      const loc = locations[i]!;
      expect(hours).toHaveLength(48);
      for (const h of hours) {
        expect(h).toMatchObject({ tempC: loc.lat, dewPointC: loc.lon, cloudPct: loc.elevationM / 100, windMs: 2.5 });
      }
    });
  });

  it('asks for one location as Open-Meteo documents it, and reads its single object', async () => {
    const before = om.requests.length;
    const [hours, ...rest] = await fetchFrom([place(12.03, 108.4, 1550)]);
    expect(rest).toHaveLength(0);
    const url = om.requests[before]!;
    expect(om.requests.length - before).toBe(1);
    expect(url.pathname).toBe('/v1/forecast');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      latitude: '12.03',
      longitude: '108.4',
      elevation: '1550',
      hourly: HOURLY_VARIABLES.join(','),
      wind_speed_unit: 'ms',
      timeformat: 'unixtime',
      timezone: TZ,
      start_date: START,
      end_date: END,
    });
    // A single location is answered with an object, not an array of one.
    const raw: unknown = await (await fetch(new URL(`${url.pathname}${url.search}`, om.url))).json();
    expect(Array.isArray(raw)).toBe(false);
    // Local midnight of the start date to the end of the end date, hour by hour, in epoch ms.
    expect(hours!.map((h) => h.ts)).toEqual(Array.from({ length: 48 }, (_, i) => LOCAL_MIDNIGHT + i * HOUR_MS));
    expect(hours![0]).toEqual({
      ts: LOCAL_MIDNIGHT,
      tempC: 12, // one decimal, as Open-Meteo
      dewPointC: 108.4,
      cloudPct: 15.5,
      windMs: 2.5,
    });
  });

  it('keeps commas literal in the location lists', async () => {
    const before = om.requests.length;
    await fetchFrom([place(12.03), place(12.05)]);
    expect(om.requests[before]!.search).toContain('latitude=12.03,12.05&');
  });

  it('asks nothing for no locations', async () => {
    const before = om.requests.length;
    expect(await fetchFrom([])).toEqual([]);
    expect(om.requests.length).toBe(before);
  });

  it('tolerates nulls: missing hours and missing variables', async () => {
    om.setWeather((p, ts) =>
      ((ts - LOCAL_MIDNIGHT) / HOUR_MS) % 2 === 1 ? null : { tempC: p.lat, dewPointC: null, cloudPct: 5, windMs: null },
    );
    const [hours] = await fetchFrom([place(12.1)]);
    expect(hours![0]).toEqual({ ts: LOCAL_MIDNIGHT, tempC: 12.1, dewPointC: null, cloudPct: 5, windMs: null });
    expect(hours![1]).toEqual({ ts: LOCAL_MIDNIGHT + HOUR_MS, tempC: null, dewPointC: null, cloudPct: null, windMs: null });
  });

  it('surfaces a 400 with Open-Meteo\u2019s reason and status', async () => {
    const err = await forecastError(fetchFrom([place(95)]));
    expect(err.status).toBe(400);
    expect(err.message).toContain('answered 400: Latitude must be in range of -90 to 90°');
    om.fail('http400');
    const refused = await forecastError(fetchFrom([place(12)]));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('told to answer 400');
  });

  it('fails on a 500', async () => {
    om.fail('http500');
    const err = await forecastError(fetchFrom([place(12)]));
    expect(err.status).toBe(500);
    expect(err.message).toMatch(/^Open-Meteo \(http:\/\/127\.0\.0\.1:\d+\) answered 500: Internal Server Error/);
  });

  it('fails on a 200 that is not JSON', async () => {
    om.fail('garbage');
    const err = await forecastError(fetchFrom([place(12)]));
    expect(err.message).toContain('body that is not JSON');
  });

  it('gives up on a server that never answers, within its timeout', async () => {
    om.fail('hang');
    const started = Date.now();
    const err = await forecastError(fetchFrom([place(12)], { timeoutMs: 300 }));
    expect(err.message).toContain('did not answer within 0.3 s');
    expect(err.status).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops when the caller aborts', async () => {
    om.fail('hang');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await forecastError(fetchFrom([place(12)], { signal: controller.signal }));
    expect(err.message).toContain('request cancelled');
  });

  it('fails on a server that is not there', async () => {
    const closed = await scripted(() => ({ status: 200, body: '{}' }));
    await closed.close();
    const err = await forecastError(
      fetchForecasts({ baseUrl: closed.url, locations: [place(12)], startDate: START, endDate: END, timeZone: TZ }),
    );
    expect(err.message).toMatch(/unreachable: fetch failed.*ECONNREFUSED/);
  });

  it('refuses bad options before asking anything', async () => {
    expect((await forecastError(fetchFrom([place(12)], { startDate: '10/01/2025' }))).message).toContain('YYYY-MM-DD');
    expect((await forecastError(fetchFrom([place(12)], { endDate: '2025-01-09' }))).message).toContain('before its start');
    expect((await forecastError(fetchFrom([place(12)], { batchSize: 0 }))).message).toContain('batch size');
    expect((await forecastError(fetchFrom([place(12)], { baseUrl: 'not a url' }))).message).toBe(
      'the forecast base URL is not a valid URL',
    );
  });
});

describe('fetchForecasts against answers the stand-in never gives', () => {
  const forecastJson = (hours: number, extra: Record<string, unknown> = {}) => ({
    latitude: 12,
    longitude: 108,
    hourly_units: { time: 'unixtime', temperature_2m: '°C', dew_point_2m: '°C', cloud_cover: '%', wind_speed_10m: 'm/s' },
    hourly: {
      time: Array.from({ length: hours }, (_, i) => LOCAL_MIDNIGHT / 1000 + i * 3600),
      temperature_2m: Array.from({ length: hours }, () => 3),
      dew_point_2m: Array.from({ length: hours }, () => -1),
      cloud_cover: Array.from({ length: hours }, () => 10),
      wind_speed_10m: Array.from({ length: hours }, () => 1),
    },
    ...extra,
  });

  it('keeps a path prefix, sends userinfo as Basic auth and never shows it', async () => {
    const server = await scripted(() => ({ status: 200, body: JSON.stringify(forecastJson(2)) }));
    try {
      const base = server.url.replace('http://', 'http://fw:s%40cret@') + '/openmeteo/';
      const [hours] = await fetchForecasts({ baseUrl: base, locations: [place(12)], startDate: START, endDate: END, timeZone: TZ });
      expect(hours).toHaveLength(2);
      expect(server.seen[0]!.path).toMatch(/^\/openmeteo\/v1\/forecast\?latitude=12&/);
      expect(server.seen[0]!.authorization).toBe(`Basic ${Buffer.from('fw:s@cret').toString('base64')}`);

      server.answer = () => ({ status: 401, body: 'Unauthorized' });
      const err = await forecastError(
        fetchForecasts({ baseUrl: base, locations: [place(12)], startDate: START, endDate: END, timeZone: TZ }),
      );
      expect(err.message).toBe(`Open-Meteo (${server.url}/openmeteo) answered 401 (no reason given)`);
      expect(err.message).not.toContain('cret');
    } finally {
      await server.close();
    }
  });

  it.each([
    ['an array shorter than the locations asked', () => [forecastJson(2)], 'answered 1 location(s) for the 2 asked'],
    [
      'a variable shorter than time',
      () => [forecastJson(2), { ...forecastJson(2), hourly: { ...forecastJson(2).hourly, cloud_cover: [1] } }],
      'location 2 is not a forecast as asked (hourly.cloud_cover: 1 values for 2 times)',
    ],
    [
      'a variable missing',
      () => [forecastJson(2), { hourly: { time: [] } }],
      'location 2 is not a forecast as asked (hourly.temperature_2m',
    ],
    [
      'ISO times where unix seconds were asked',
      () => [forecastJson(1), { ...forecastJson(1), hourly: { ...forecastJson(1).hourly, time: ['2025-01-10T00:00'] } }],
      'hourly.time.0',
    ],
    [
      'milliseconds where seconds were asked',
      () => [forecastJson(1), { ...forecastJson(1), hourly: { ...forecastJson(1).hourly, time: [LOCAL_MIDNIGHT] } }],
      'hourly.time.0',
    ],
    [
      'wind in km/h',
      () => [forecastJson(1), forecastJson(1, { hourly_units: { wind_speed_10m: 'km/h' } })],
      'location 2 gives wind_speed_10m in km/h, asked for m/s',
    ],
    [
      'an error object with 200',
      () => ({ error: true, reason: 'No data is available for this location' }),
      'answered 200 with an error: No data is available',
    ],
    ['a JSON null', () => null, 'answered 1 location(s) for the 2 asked'],
  ])('refuses %s', async (_name, body, message) => {
    const server = await scripted(() => ({ status: 200, body: JSON.stringify(body()) }));
    try {
      const err = await forecastError(
        fetchForecasts({ baseUrl: server.url, locations: [place(12), place(13)], startDate: START, endDate: END, timeZone: TZ }),
      );
      expect(err.message).toContain(message);
    } finally {
      await server.close();
    }
  });
});

describe('the Open-Meteo stand-in speaks the protocol', () => {
  const get = async (query: string): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(`${om.url}/v1/forecast?${query}`);
    return { status: response.status, body: await response.json() };
  };
  const hourly = (body: unknown): Record<string, unknown[]> => (body as { hourly: Record<string, unknown[]> }).hourly;

  it('converts wind to the unit asked, km/h by default', async () => {
    const q = 'latitude=12&longitude=108&hourly=wind_speed_10m&start_date=2025-01-10&end_date=2025-01-10';
    const cases: Array<[string, number, string]> = [
      ['', 9, 'km/h'],
      ['&wind_speed_unit=kmh', 9, 'km/h'],
      ['&wind_speed_unit=ms', 2.5, 'm/s'],
      ['&wind_speed_unit=mph', 5.6, 'mp/h'],
      ['&wind_speed_unit=kn', 4.9, 'kn'],
      ['&windspeed_unit=ms', 2.5, 'm/s'],
    ];
    for (const [unit, value, name] of cases) {
      const { status, body } = await get(q + unit);
      expect(status).toBe(200);
      expect(hourly(body)['wind_speed_10m']![0]).toBe(value);
      expect((body as { hourly_units: Record<string, string> }).hourly_units['wind_speed_10m']).toBe(name);
    }
  });

  it('answers local ISO times and the zone offset; GMT by default', async () => {
    const local = await get(`latitude=12&longitude=108&hourly=temperature_2m&timezone=${TZ}&start_date=2025-01-10&end_date=2025-01-10`);
    expect(local.body).toMatchObject({ utc_offset_seconds: 25_200, timezone: TZ, hourly_units: { time: 'iso8601', temperature_2m: '°C' } });
    expect(hourly(local.body)['time']).toEqual(Array.from({ length: 24 }, (_, h) => `2025-01-10T${String(h).padStart(2, '0')}:00`));

    const gmt = await get('latitude=12&longitude=108&hourly=temperature_2m&timeformat=unixtime&start_date=2025-01-10&end_date=2025-01-10');
    expect(gmt.body).toMatchObject({ utc_offset_seconds: 0, timezone: 'GMT', timezone_abbreviation: 'GMT' });
    expect(hourly(gmt.body)['time']![0]).toBe(Date.UTC(2025, 0, 10) / 1000);
  });

  it('starts days at local midnight across a daylight-saving change (23 hours)', async () => {
    const { body } = await get(
      'latitude=52.5&longitude=13.4&hourly=temperature_2m&timezone=Europe/Berlin&timeformat=unixtime&start_date=2025-03-30&end_date=2025-03-30',
    );
    const times = hourly(body)['time']!;
    expect(times).toHaveLength(23);
    expect(times[0]).toBe(Date.UTC(2025, 2, 29, 23) / 1000);
  });

  it('defaults to today for 7 days, and answers an array for several locations', async () => {
    const { body } = await get('latitude=12,12.5&longitude=108,108.5&elevation=1500,nan&hourly=temperature_2m');
    expect(Array.isArray(body)).toBe(true);
    const [first, second] = body as Array<{ latitude: number; elevation: number; hourly: { time: string[] } }>;
    expect(first!.hourly.time).toHaveLength(168);
    expect(first!.hourly.time[0]).toBe(`${new Date().toISOString().slice(0, 10)}T00:00`);
    expect([first!.latitude, second!.latitude, second!.elevation]).toEqual([12, 12.5, 1500]);
  });

  it.each([
    ['', "Value of type 'Float' required for key 'latitude'."],
    ['latitude=12,13&longitude=108', "Parameter 'latitude' and 'longitude' must have the same number of elements"],
    ['latitude=12&longitude=190', 'Longitude must be in range of -180 to 180°. Given: 190.'],
    [
      'latitude=12&longitude=108&hourly=tempeture_2m',
      'Cannot initialize WeatherVariable from invalid String value tempeture_2m for key hourly',
    ],
    ['latitude=12&longitude=108&timezone=Mars/Olympus', 'Invalid timezone'],
    ['latitude=12&longitude=108&start_date=2025-01-10&end_date=2025-01-09', 'End-date must be larger or equals than start-date'],
    [
      'latitude=12&longitude=108&start_date=2025-02-30&end_date=2025-03-01',
      "Invalid date format. Make sure to use 'YYYY-MM-DD'. Given: 2025-02-30",
    ],
    ['latitude=12,13&longitude=108,109&elevation=1500', "Parameter 'elevation' must have the same number of elements"],
  ])('refuses ?%s with 400 and a reason', async (query, reason) => {
    const { status, body } = await get(query);
    expect(status).toBe(400);
    expect(body).toEqual({ error: true, reason: expect.stringContaining(reason) as unknown });
  });
});

describe('the demo weather through the client', () => {
  const night = async (weather: WeatherFn, elevationM: number) => {
    om.setWeather(weather);
    const [hours] = await fetchFrom([place(12.03, 108.4, elevationM)]);
    return { hours: hours!, summary: summariseNight(hours!, LOCAL_MIDNIGHT)! };
  };

  it('frostyWeather: a clear, calm, dry night near -0.5 °C at dawn at 1,500 m, colder higher up', async () => {
    const { hours, summary } = await night(frostyWeather, 1500);
    expect(summary.forecastMinC).toBeCloseTo(-0.5, 1);
    expect((summary.minAtMs - LOCAL_MIDNIGHT) / HOUR_MS).toBe(24 + 5);
    expect(Math.max(...hours.slice(0, 24).map((h) => h.tempC!))).toBeCloseTo(16, 0);
    expect(summary).toMatchObject({ cloudPct: 5, windMs: 1 });
    expect(summary.dewPointC).toBeGreaterThan(-3.2);
    expect(summary.dewPointC).toBeLessThan(-2);
    expect(judgeNight(summary, PRIOR_CORRECTION, { cropShiftC: 0 }).frostLikely).toBe(true);
    const higher = await night(frostyWeather, 1700);
    expect(higher.summary.forecastMinC).toBeCloseTo(-0.5 - 1.3, 1);
  });

  it('cloudyWeather: an overcast, breezy night that stays near 9 °C', async () => {
    const { summary } = await night(cloudyWeather, 1500);
    expect(summary.forecastMinC).toBeCloseTo(9, 0);
    expect(summary).toMatchObject({ cloudPct: 90, windMs: 4 });
    expect(summary.dewPointC).toBeGreaterThanOrEqual(8);
    expect(judgeNight(summary, PRIOR_CORRECTION, { cropShiftC: 0 })).toMatchObject({ clear: false, calm: false, frostLikely: false });
  });
});

describe('groupLocations', () => {
  it('merges stations at the same place and height, keeps apart those 5 km away or 200 m higher', () => {
    const groups = groupLocations([
      { id: 'b', lat: 12.0312, lon: 108.4012, elevationM: 1512 },
      // ~300 m north of b, 8 m higher: same 0.01° cell, same 50 m step
      { id: 'a', lat: 12.0339, lon: 108.4012, elevationM: 1520 },
      // ~5 km north
      { id: 'c', lat: 12.0762, lon: 108.4012, elevationM: 1512 },
      // where b stands, 200 m higher
      { id: 'd', lat: 12.0312, lon: 108.4012, elevationM: 1712 },
    ]);
    expect(groups).toEqual([
      { key: '12.03,108.40,1500', lat: 12.03, lon: 108.4, elevationM: 1500, stationIds: ['a', 'b'] },
      { key: '12.03,108.40,1700', lat: 12.03, lon: 108.4, elevationM: 1700, stationIds: ['d'] },
      { key: '12.08,108.40,1500', lat: 12.08, lon: 108.4, elevationM: 1500, stationIds: ['c'] },
    ]);
  });

  it('is the same whatever the input order', () => {
    const stations = Array.from({ length: 30 }, (_, i) => ({
      id: `s${i}`,
      lat: 12 + (i % 5) * 0.013,
      lon: 108.4 - (i % 3) * 0.02,
      elevationM: 1400 + (i % 4) * 60,
    }));
    expect(groupLocations([...stations].reverse())).toEqual(groupLocations(stations));
    expect(groupLocations(stations).flatMap((g) => g.stationIds)).toHaveLength(30);
  });
});

interface Scripted {
  url: string;
  seen: Array<{ path: string; authorization: string | undefined }>;
  answer: () => { status: number; body: string };
  close(): Promise<void>;
}

/** A node:http server answering whatever the test says: for answers Open-Meteo (and its stand-in) would not give. */
async function scripted(answer: Scripted['answer']): Promise<Scripted> {
  const seen: Scripted['seen'] = [];
  const state: Scripted = { url: '', seen, answer, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const { status, body } = state.answer();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
