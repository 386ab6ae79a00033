import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, FarmerSchema, ForecastOverviewSchema, StationForecastSchema } from '../../contracts/index.js';
import { OutboxRepository, type OutboxRow } from '../../server/notify/outbox.js';
import { ForecastStore } from '../../server/forecast/store.js';
import { cloudyWeather, frostyWeather, type OpenMeteoServer, startOpenMeteoServer } from '../../testkit/open-meteo-server.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * The day before (issue 16) against a local Open-Meteo-compatible server speaking the real protocol: a frosty forecast
 * gives each farmer one pre-alert in the afternoon and the officers a commune summary; once per night; a cloudy one
 * gives none; a failing one is shown as stale, decides nothing and tells the officers. The server's own clock is
 * stepped by hand and the forecast service's tick called, as its once-a-minute timer would.
 */
const HOUR = 3_600_000;
/** 2026-12-20 00:00 in Lạc Dương (UTC+7). */
const DAY0 = Date.UTC(2026, 11, 19, 17, 0, 0);
const at = (day: number, hour: number, minute = 0): number => DAY0 + day * 24 * HOUR + hour * HOUR + minute * 60_000;
let now = at(0, 14);
const clock: Clock = { now: () => now, speed: 1 };
let forecast: OpenMeteoServer;
let fx: FullApp;
let outbox: OutboxRepository;
const farmers: number[] = [];

beforeAll(async () => {
  forecast = await startOpenMeteoServer({ weather: frostyWeather });
  fx = await startFullApp({ clock, forecastUrl: forecast.url });
  // Two stations 300 m apart at one height (one place for the forecast), one lower in another commune.
  await fx.stations.create(stationBody('ld-pre-01', { name: 'Đạ Sar 01', commune: 'Đạ Sar', lat: 12.03, lon: 108.4, elevationM: 1_500 }));
  await fx.stations.create(
    stationBody('ld-pre-02', { name: 'Đạ Sar 02', commune: 'Đạ Sar', lat: 12.0302, lon: 108.4001, elevationM: 1_510 }),
  );
  await fx.stations.create(stationBody('ld-pre-03', { name: 'Lát 01', commune: 'Lát', lat: 12.1, lon: 108.5, elevationM: 1_450 }));
  for (const [i, body] of [
    { name: 'Nguyễn Văn Hà', phone: '0912 345 678', stationIds: ['ld-pre-01'] },
    // Two stations: still one SMS.
    { name: 'Lê Thị Mai', phone: '0912 345 679', stationIds: ['ld-pre-01', 'ld-pre-02'] },
    { name: 'John Smith', phone: '0913 000 111', language: 'en', diacritics: false, stationIds: ['ld-pre-03'] },
  ].entries()) {
    const res = await fx.app.inject({ method: 'POST', url: '/api/farmers', headers: fx.headers.officer, payload: body });
    expect(res.statusCode, `farmer ${i}: ${res.body}`).toBe(201);
    farmers.push(FarmerSchema.parse(res.json()).id);
  }
  await fx.app.inject({
    method: 'POST',
    url: '/api/officers',
    headers: fx.headers.officer,
    payload: { name: 'Cán bộ', phone: '0904 555 666' },
  });
  outbox = new OutboxRepository(fx.db, clock);
}, 120_000);

afterAll(async () => {
  await (fx as FullApp | undefined)?.close();
  await (forecast as OpenMeteoServer | undefined)?.close();
});

const prealerts = (): OutboxRow[] => outbox.recent(1_000).filter((r) => r.purpose === 'prealert');
const officerNotices = (): OutboxRow[] => outbox.recent(1_000).filter((r) => r.recipientKind === 'officer');

async function tickAt(ms: number): Promise<void> {
  now = ms;
  await fx.warnings.forecast.tick();
}

async function overview() {
  const res = await fx.app.inject({ method: 'GET', url: '/api/forecast', headers: fx.headers['admin-token'] });
  expect(res.statusCode).toBe(200);
  return ForecastOverviewSchema.parse(res.json());
}

async function stationForecast(id: string) {
  const res = await fx.app.inject({ method: 'GET', url: `/api/stations/${id}/forecast`, headers: fx.headers['admin-token'] });
  expect(res.statusCode).toBe(200);
  return StationForecastSchema.parse(res.json());
}

describe('forecast pre-alert', () => {
  it('fetches nearby stations in one request, with the protocol Open-Meteo speaks', async () => {
    // The stations were registered after the server started (nothing to fetch then): the first tick fetches.
    await tickAt(at(0, 14));
    const last = forecast.requests[forecast.requests.length - 1];
    expect(last?.pathname).toBe('/v1/forecast');
    // Stations 01 and 02 share one place: two locations for three stations, in one request.
    expect(last?.searchParams.get('latitude')?.split(',')).toHaveLength(2);
    expect(last?.searchParams.get('hourly')).toBe('temperature_2m,dew_point_2m,cloud_cover,wind_speed_10m');
    expect(last?.searchParams.get('timezone')).toBe('Asia/Ho_Chi_Minh');
    expect(last?.searchParams.get('wind_speed_unit')).toBe('ms');
    expect(last?.searchParams.get('start_date')).toBe('2026-12-20');
    expect(last?.searchParams.get('end_date')).toBe('2026-12-22');
    expect(prealerts()).toEqual([]); // before 15:00 nothing is decided
    const f = await stationForecast('ld-pre-01');
    expect(f.status).toBe('fresh');
    expect(f.x.length).toBe(72);
    expect(f.nights.map((n) => n.lead)).toEqual(['tonight', 'tomorrow']);
    // Before any night of its own, the station's minimum is the forecast's, 1.5 °C colder (the prior).
    expect(f.correction).toMatchObject({ kind: 'prior', n: 0, alpha: -1.5, beta: 1 });
    expect(f.nights[0]!.correctedMinC).toBeCloseTo(f.nights[0]!.forecastMinC - 1.5, 5);
    expect(f.nights[0]).toMatchObject({ clear: true, calm: true, dry: true, frostLikely: true, prealerted: false });
  });

  it('at 15:00 a frosty forecast gives one SMS per farmer for tonight and tomorrow, and the officers a commune summary', async () => {
    await tickAt(at(0, 15));
    const rows = prealerts();
    expect(rows.map((r) => r.recipientId).sort()).toEqual([...farmers].sort());
    const byFarmer = new Map(rows.map((r) => [r.recipientId, r]));
    expect(byFarmer.get(farmers[0]!)?.body).toMatch(
      /^frostwatch: Đêm nay và đêm mai có thể có sương muối ở trạm Đạ Sar 0[12] \(Đạ Sar\), dự báo thấp nhất khoảng -?\d+,\d°C\. .* Ngừng: báo cán bộ xã\.$/,
    );
    expect(byFarmer.get(farmers[2]!)?.body).toMatch(/^frostwatch: Frost possible tonight and tomorrow night at station Lat 01 \(Lat\)/);
    expect(byFarmer.get(farmers[2]!)?.encoding).toBe('GSM-7');
    for (const r of rows) expect(r.segments).toBeLessThanOrEqual(3);
    const summary = officerNotices().find((r) => r.dedupeKey.startsWith('prealert:'));
    expect(summary?.body).toMatch(/^frostwatch: báo trước sương muối đã gửi 3 nông dân\. /);
    expect(summary?.body).toContain('Đạ Sar đêm nay');
    expect(summary?.body).toContain('Lát đêm mai');
    // The same afternoon adds nothing.
    await tickAt(at(0, 15, 30));
    await tickAt(at(0, 16, 30));
    expect(prealerts()).toHaveLength(3);
    const o = await overview();
    expect(o.status).toBe('fresh');
    expect(o.prealerts.map((p) => `${p.commune} ${p.lead}`).sort()).toEqual([
      'Lát tomorrow',
      'Lát tonight',
      'Đạ Sar tomorrow',
      'Đạ Sar tonight',
    ]);
  });

  it('overnight the 15:00 forecast stays fresh, and after midnight "tonight" is still the night in progress', async () => {
    await tickAt(at(0, 23, 41));
    expect((await overview()).status).toBe('fresh');
    await tickAt(at(1, 2));
    const f = await stationForecast('ld-pre-01');
    expect(f.status).toBe('fresh');
    expect(f.nights[0]).toMatchObject({ night: '2026-12-20', lead: 'tonight', prealerted: true });
    expect((await overview()).prealerts.find((p) => p.lead === 'tonight')?.night).toBe('2026-12-20');
  });

  it('is sent once per night: the same afternoon adds nothing, the next day only the new night', async () => {
    expect(prealerts()).toHaveLength(3);
    await tickAt(at(1, 6)); // the morning fetch
    await tickAt(at(1, 15));
    const second = prealerts().filter((r) => r.dedupeKey.startsWith('prealert:2026-12-21'));
    expect(second).toHaveLength(3);
    // Tonight (the 21st) was pre-alerted yesterday as "tomorrow": today's SMS names only tomorrow night.
    expect(second.every((r) => /Đêm mai có thể|Frost possible tomorrow night/.test(r.body))).toBe(true);
  });

  it('a pre-alert still queued at 17:00 is not sent: the window has closed', async () => {
    const [late] = outbox.enqueue([
      {
        dedupeKey: 'prealert:test-late',
        eventId: null,
        recipientKind: 'farmer',
        recipientId: farmers[0]!,
        channel: 'sms',
        phone: '+84912345678',
        language: 'vi',
        body: 'late',
        encoding: 'UCS-2',
        segments: 1,
        costUsd: 0,
        purpose: 'prealert',
        notBeforeMs: at(1, 18), // held back by pacing, as a long code's queue would
      },
    ]);
    await tickAt(at(1, 16, 59));
    expect(outbox.get(late!.id)?.status).toBe('pending');
    await tickAt(at(1, 17));
    expect(outbox.get(late!.id)).toMatchObject({ status: 'suppressed', lastError: expect.stringContaining('too late') as unknown });
  });

  it('a cloudy forecast gives none, and the night is judged not frosty', async () => {
    forecast.setWeather(cloudyWeather);
    await tickAt(at(2, 12));
    await tickAt(at(2, 15));
    expect(prealerts().filter((r) => r.dedupeKey.startsWith('prealert:2026-12-22'))).toEqual([]);
    const f = await stationForecast('ld-pre-01');
    expect(f.nights[0]).toMatchObject({ clear: false, calm: false, frostLikely: false });
  });

  it('a failing forecast is shown as stale, pre-alerts nothing and tells the officers; it never says all clear', async () => {
    forecast.setWeather(frostyWeather);
    forecast.fail('http500');
    await tickAt(at(3, 6));
    await tickAt(at(3, 12));
    await tickAt(at(3, 15));
    expect(prealerts().filter((r) => r.dedupeKey.startsWith('prealert:2026-12-23'))).toEqual([]); // waits for the 15:00 fetch…
    await tickAt(at(3, 16)); // …then decides on what it has: a forecast from yesterday is stale
    expect(prealerts().filter((r) => r.dedupeKey.startsWith('prealert:2026-12-23'))).toEqual([]);
    const notice = officerNotices().find((r) => r.dedupeKey.startsWith('forecast-unavailable:2026-12-23'));
    expect(notice?.body).toMatch(/^frostwatch: không có dự báo thời tiết mới cho 3 trạm \(Open-Meteo .* answered 500/);
    expect(notice?.body).toContain('Cảnh báo ban đêm từ trạm vẫn hoạt động.');
    const f = await stationForecast('ld-pre-01');
    expect(f.status).toBe('stale');
    expect(f.lastError).toMatch(/answered 500/);
    // The last good forecast is still shown, as what it is.
    expect(f.x.length).toBe(72);
    const o = await overview();
    expect(o.status).toBe('stale');
    expect(o.stale.sort()).toEqual(['ld-pre-01', 'ld-pre-02', 'ld-pre-03']);
    // Nothing that reads as an all-clear went to any farmer.
    expect(outbox.recent(1_000).filter((r) => r.recipientKind === 'farmer' && r.purpose !== 'prealert')).toEqual([]);
    forecast.fail('none');
  });

  it('learns the station-corrected minimum from the nights that followed', async () => {
    await tickAt(at(4, 6)); // the forecast server answers again: a fresh forecast of tonight and tomorrow night
    const store = new ForecastStore(fx.db);
    // Six nights on which the station was 3 °C colder than the forecast said (a frost hollow).
    for (let d = 1; d <= 6; d++) {
      const night = `2026-11-${String(d).padStart(2, '0')}`;
      store.saveNight('ld-pre-03', night, 'tonight', now, {
        forecastMinC: 4,
        minAtMs: now,
        cloudPct: 5,
        windMs: 1,
        dewPointC: -2,
        hours: 14,
      });
      store.setObserved('ld-pre-03', night, 1);
    }
    const f = await stationForecast('ld-pre-03');
    expect(f.correction).toMatchObject({ kind: 'bias', n: 6 });
    // Shrunk towards the prior (−1.5) by 6 / (6 + 5): −1.5·5/11 − 3·6/11 ≈ −2.32.
    expect(f.correction.alpha).toBeCloseTo(-2.32, 2);
    expect(f.nights[0]!.correctedMinC).toBeCloseTo(f.nights[0]!.forecastMinC - 2.32, 1);
    // Tomorrow night borrows it until the day-ahead forecasts have taught their own: 4 °C too warm a day ahead.
    expect(f.nights[1]!.correctedMinC).toBeCloseTo(f.nights[1]!.forecastMinC - 2.32, 1);
    for (let d = 1; d <= 6; d++) {
      const night = `2026-11-${String(d).padStart(2, '0')}`;
      store.saveNight('ld-pre-03', night, 'tomorrow', now, {
        forecastMinC: 5,
        minAtMs: now,
        cloudPct: 5,
        windMs: 1,
        dewPointC: -2,
        hours: 14,
      });
      store.setObserved('ld-pre-03', night, 1);
    }
    const g = await stationForecast('ld-pre-03');
    // −1.5·5/11 − 4·6/11 ≈ −2.86 a day ahead; tonight's unchanged.
    expect(g.nights[1]!.correctedMinC).toBeCloseTo(g.nights[1]!.forecastMinC - 2.86, 1);
    expect(g.nights[0]!.correctedMinC).toBeCloseTo(g.nights[0]!.forecastMinC - 2.32, 1);
  });
});
