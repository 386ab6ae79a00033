import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Clock,
  type Reading,
  ChartSchema,
  FarmerCreateSchema,
  StationCreateSchema,
  FROST_RANK,
  ReportSchema,
  StationOverviewSchema,
  UpEnvSchema,
  loadEnv,
  nightOf,
} from '../../contracts/index.js';
import { dewPointC } from '../../frost/index.js';
import { buildApp } from '../../server/app.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { REPORT_COLUMNS } from '../../server/dashboard/csv.js';
import { readingLine } from '../../server/influx/line-protocol.js';
import type { StationActivity } from '../../server/ingest/activity.js';
import type { Db } from '../../server/registry/db.js';
import type { Warnings } from '../../server/warnings/warnings.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';

const ADMIN = 'dashboard-test-admin-token-0123';
const auth = { authorization: `Bearer ${ADMIN}` };
const MIN = 60_000;
const HOUR = 60 * MIN;
const LAT = 12.03;
const LON = 108.4;
/** 2026-01-15 in Lạc Dương: the night under test starts that evening. */
const NIGHT = nightOf(LAT, LON, Date.UTC(2026, 0, 15, 5, 0));
const FEED_FROM = Math.ceil((NIGHT.sunsetMs + HOUR) / MIN) * MIN;
const FEED_TO = FEED_FROM + 4 * HOUR;
const EVIL_NAME = `=cmd|' /C calc'!A0, "x"`;

let nowMs = FEED_FROM;
const clock: Clock = { now: () => nowMs, speed: 1 };
const logger = pino({ level: 'silent' });

let influx: TestInfluxd;
let dir: string;
let db: Db;
let server: AssembledServer;
let warnings: Warnings;
let app: FastifyInstance;
let activity: StationActivity;

/** Deterministic wiggle so the QC stuck-sensor rule never fires. */
const wiggle = (t: number): number => 0.05 * Math.sin(t / 7 / MIN);
const profiles: Record<string, (h: number, t: number) => Reading> = {
  'ld-cold': (h, t) => ({ ts: t, airTempC: 8 - 2.2 * h + wiggle(t), rhPct: 90, windMs: 0.5, batteryV: 4 }),
  'ld-mild': (h, t) => ({ ts: t, airTempC: 12 - 0.8 * h + wiggle(t), rhPct: 70, windMs: 0.8, batteryV: 4 }),
  'ld-warm': (h, t) => ({ ts: t, airTempC: 16 + 0.3 * Math.sin(t / 5 / MIN), rhPct: 60, windMs: 3, batteryV: 4 }),
};
const written = new Map<string, Reading[]>();

async function write(stationId: string, readings: readonly Reading[]): Promise<void> {
  for (let i = 0; i < readings.length; i += 5_000)
    await influx.conn.writeLines(readings.slice(i, i + 5_000).map((r) => readingLine(stationId, r)));
  written.set(stationId, [...(written.get(stationId) ?? []), ...readings]);
}

/** Four hours of a night, minute by minute, into InfluxDB and the rule engine, the clock following. */
async function feedNight(): Promise<void> {
  for (let t = FEED_FROM; t <= FEED_TO; t += MIN) {
    nowMs = t;
    for (const [id, profile] of Object.entries(profiles)) {
      const reading = profile((t - FEED_FROM) / HOUR, t);
      await write(id, [reading]);
      activity.heard(id, t, true);
      warnings.engine.onReadings(id, [reading]);
    }
  }
}

beforeAll(async () => {
  influx = await startTestInfluxd({ database: 'frostwatch_dashboard' });
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-dashboard-'));
  // The server as `frostwatch up` assembles it; the test feeds its rule engine and InfluxDB directly, no broker.
  server = await assembleServer({
    settings: loadEnv(UpEnvSchema, {
      DATA_DIR: dir,
      HTTP_PORT: '0',
      ADMIN_TOKEN: ADMIN,
      INFLUX_BUCKET: influx.database,
      PUBLIC_URL: 'http://127.0.0.1:9',
      SMS_SEGMENTS_PER_S: '1000',
      RULE_ENGINE: 'inline', // the test steps its own clock: the engine runs on this thread, on it
    }),
    influxUrl: influx.url,
    logger,
    clock,
  });
  ({ db, warnings, app, activity } = server);
  const { stations } = server;
  const base = { commune: 'Lát', lat: LAT, lon: LON, elevationM: 1_520, crop: 'arabica' as const };
  await stations.create(StationCreateSchema.parse({ ...base, id: 'ld-cold', name: EVIL_NAME }));
  await stations.create(StationCreateSchema.parse({ ...base, id: 'ld-mild', name: 'Đạ Nhim' }));
  await stations.create(StationCreateSchema.parse({ ...base, id: 'ld-warm', name: 'Lát 3' }));
  await stations.create(StationCreateSchema.parse({ ...base, id: 'ld-day', name: 'Một ngày' }));
  warnings.people.createFarmer(FarmerCreateSchema.parse({ name: 'Nguyễn Văn Hà', phone: '0912345678', stationIds: ['ld-cold'] }));
  await feedNight();
}, 120_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before these were assigned.
  await (server as AssembledServer | undefined)?.close();
  await (influx as TestInfluxd | undefined)?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /api/overview', () => {
  it('lists every station riskiest first, from the engine state', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/overview', headers: auth });
    expect(res.statusCode).toBe(200);
    const rows = StationOverviewSchema.array().parse(res.json());
    expect(rows.map((r) => r.id)).toEqual(['ld-cold', 'ld-mild', 'ld-warm', 'ld-day']);
    for (let i = 1; i < rows.length; i += 1) expect(rows[i - 1]!.risk).toBeGreaterThanOrEqual(rows[i]!.risk);
    const [cold, mild, warm, day] = rows;
    expect(FROST_RANK[cold!.level]).toBeGreaterThanOrEqual(FROST_RANK.warning);
    expect(cold!.airTempC).toBeCloseTo(8 - 2.2 * 4, 0);
    expect(cold!.forecastMinC).not.toBeNull();
    expect(cold!.forecastMinC!).toBeLessThan(mild!.forecastMinC!);
    expect(warm!.level).toBe('none');
    expect(day).toMatchObject({ level: 'none', airTempC: null, lastSeenAt: null, online: null, faults: [] });
    expect(cold!.lastSeenAt).toBe(new Date(FEED_TO).toISOString());
  });

  it('asks for a token', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/overview' })).statusCode).toBe(401);
  });
});

describe('GET /api/stations/:id/chart', () => {
  it('aggregates a day of one-minute readings into aligned 2-minute columns', async () => {
    const day: Reading[] = [];
    for (let t = FEED_TO - 24 * HOUR + MIN; t <= FEED_TO; t += MIN)
      day.push({ ts: t, airTempC: 10 + 5 * Math.sin(t / HOUR), rhPct: 75 + 10 * Math.cos(t / HOUR) });
    await write('ld-day', day);
    const res = await app.inject({ method: 'GET', url: '/api/stations/ld-day/chart?range=24h', headers: auth });
    expect(res.statusCode).toBe(200);
    const chart = ChartSchema.parse(res.json());
    expect(chart.every).toBe('2m');
    const n = chart.x.length;
    expect(n).toBeGreaterThanOrEqual(720);
    expect(n).toBeLessThanOrEqual(722);
    for (const column of [chart.airTempC, chart.airTempMinC, chart.dewPointC, chart.leafEstC]) expect(column).toHaveLength(n);
    chart.x.forEach((x, i) => i > 0 && expect(x - chart.x[i - 1]!).toBe(120));
    // A window in the middle: the mean and minimum of its two readings, the dew point of the means, leaf = air − 3 °C.
    const i = chart.x.indexOf(Math.floor((FEED_TO - 12 * HOUR) / (2 * MIN)) * 120);
    const inWindow = day.filter((r) => r.ts >= chart.x[i]! * 1_000 && r.ts < chart.x[i]! * 1_000 + 2 * MIN);
    expect(inWindow).toHaveLength(2);
    const meanAir = (inWindow[0]!.airTempC + inWindow[1]!.airTempC) / 2;
    const meanRh = (inWindow[0]!.rhPct! + inWindow[1]!.rhPct!) / 2;
    expect(chart.airTempC[i]).toBeCloseTo(meanAir, 6);
    expect(chart.airTempMinC[i]).toBeCloseTo(Math.min(inWindow[0]!.airTempC, inWindow[1]!.airTempC), 6);
    expect(chart.dewPointC[i]).toBeCloseTo(dewPointC(meanAir, meanRh), 1);
    expect(chart.leafEstC[i]).toBeCloseTo(meanAir - 3, 1);
    expect(chart.thresholds).toEqual({ watchC: 4, warningC: 0.5, severeC: 0, leafOffsetC: 3 });
  });

  it('shows a season in 2-hour windows, with gaps as nulls', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/stations/ld-day/chart?range=season', headers: auth });
    const chart = ChartSchema.parse(res.json());
    expect(chart.every).toBe('2h');
    expect(chart.x.length).toBeGreaterThanOrEqual(120 * 12);
    expect(chart.x.length).toBeLessThanOrEqual(120 * 12 + 1);
    expect(chart.airTempC.filter((v) => v !== null).length).toBeGreaterThanOrEqual(12);
    expect(chart.airTempC.filter((v) => v !== null).length).toBeLessThanOrEqual(13);
    expect(chart.airTempC[0]).toBeNull();
  });

  it('charts tonight with the forecast curve and the alert markers', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/stations/ld-cold/chart?range=night', headers: auth });
    const chart = ChartSchema.parse(res.json());
    expect(chart.every).toBe('1m');
    expect(Date.parse(chart.from)).toBe(NIGHT.sunsetMs - 2 * HOUR);
    expect(Date.parse(chart.to)).toBe(NIGHT.sunriseMs + 3 * HOUR);
    expect(chart.airTempC.filter((v) => v !== null)).toHaveLength((FEED_TO - FEED_FROM) / MIN + 1);
    expect(chart.forecast).not.toBeNull();
    expect(chart.forecast!.x.at(-1)).toBe(Math.round(NIGHT.sunriseMs / 1_000));
    const alerts = warnings.alerts.list({ stationId: 'ld-cold', limit: 50 });
    const events = alerts.flatMap((a) => warnings.alerts.get(a.id, true)?.events ?? []);
    expect(chart.markers.length).toBe(events.length);
    expect(chart.markers.map((m) => m.level)).toContain('warning');
  });

  it('answers 404 for an unknown station and 400 for an unknown range', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/stations/ld-nowhere/chart', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/stations/ld-cold/chart?range=year', headers: auth })).statusCode).toBe(400);
  });
});

/** RFC 4180 reader for the test: quoted cells, doubled quotes, CRLF. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else cell += ch;
  }
  return rows;
}

describe('reports', () => {
  it('reports the night: coldest reading, cold hours, highest level, reach and lead time', async () => {
    // The dry-run SMS to the farmer "delivered": the report must count the farmer as reached.
    db.prepare("UPDATE outbox SET status = 'delivered' WHERE channel = 'sms'").run();
    const res = await app.inject({ method: 'GET', url: '/api/reports/night?date=2026-01-15', headers: auth });
    expect(res.statusCode).toBe(200);
    const report = ReportSchema.parse(res.json());
    expect(report.kind).toBe('night');
    const cold = report.rows.find((r) => r.stationId === 'ld-cold')!;
    const readings = written.get('ld-cold')!;
    const coldest = readings.reduce((a, b) => (b.airTempC < a.airTempC ? b : a));
    expect(cold.minAirC).toBeCloseTo(coldest.airTempC, 6);
    expect(cold.minAt).toBe(new Date(coldest.ts).toISOString());
    const windows = new Map<number, number[]>();
    for (const r of readings)
      windows.set(Math.floor(r.ts / (10 * MIN)), [...(windows.get(Math.floor(r.ts / (10 * MIN))) ?? []), r.airTempC]);
    const means = [...windows.values()].map((v) => v.reduce((s, x) => s + x, 0) / v.length);
    expect(cold.hoursBelow2C).toBeCloseTo(means.filter((m) => m < 2).length / 6, 2);
    expect(cold.hoursBelow0C).toBeCloseTo(means.filter((m) => m < 0).length / 6, 2);
    expect(cold.hoursBelowMinus2C).toBe(0);
    const events = warnings.alerts
      .list({ stationId: 'ld-cold', limit: 50 })
      .filter((a) => a.kind === 'frost')
      .flatMap((a) => warnings.alerts.get(a.id, true)!.events!);
    const top = events
      .map((e) => e.level)
      .filter((l): l is 'watch' | 'warning' | 'severe' => l in FROST_RANK)
      .sort((a, b) => FROST_RANK[b] - FROST_RANK[a])[0];
    expect(cold.highestLevel).toBe(top);
    const firstWarning = Math.min(...events.filter((e) => e.level === 'warning' || e.level === 'severe').map((e) => Date.parse(e.at)));
    expect(cold.leadTimeH).toBeCloseTo((coldest.ts - firstWarning) / HOUR, 2);
    expect(cold.recipients).toBe(1);
    expect(cold.reached).toBe(1);
    expect(cold.reachRate).toBe(1);
    expect(cold.messagesSent).toBeGreaterThanOrEqual(1);
    const warm = report.rows.find((r) => r.stationId === 'ld-warm')!;
    expect(warm).toMatchObject({ hoursBelow2C: 0, highestLevel: 'none', recipients: 0, reachRate: null, leadTimeH: null });
  });

  it('exports CSV that parses back, with a formula-looking name neutralised', async () => {
    const json = ReportSchema.parse((await app.inject({ method: 'GET', url: '/api/reports/night?date=2026-01-15', headers: auth })).json());
    const res = await app.inject({ method: 'GET', url: '/api/reports/night?date=2026-01-15&format=csv', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="frostwatch-night-2026-01-15.csv"');
    const [header, ...rows] = parseCsv(res.body);
    expect(header).toEqual([...REPORT_COLUMNS]);
    expect(rows).toHaveLength(json.rows.length);
    rows.forEach((cells, r) => {
      const expected = json.rows[r]!;
      REPORT_COLUMNS.forEach((column, c) => {
        const value = expected[column];
        if (column === 'name' && value === EVIL_NAME) expect(cells[c]).toBe(`'${EVIL_NAME}`);
        else if (typeof value === 'number') expect(Number(cells[c])).toBe(value);
        else expect(cells[c]).toBe(value ?? '');
      });
    });
    expect(res.body).not.toMatch(/(^|,)=cmd/m);
  });

  it('reports a season between two dates, JSON and CSV', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/reports/season?from=2026-01-01&to=2026-01-20', headers: auth });
    const report = ReportSchema.parse(res.json());
    expect(report.kind).toBe('season');
    expect(report.from).toBe('2025-12-31T17:00:00.000Z');
    const coldest = written.get('ld-cold')!.reduce((a, b) => (b.airTempC < a.airTempC ? b : a));
    expect(report.rows.find((r) => r.stationId === 'ld-cold')!.minAirC).toBeCloseTo(coldest.airTempC, 6);
    const csv = await app.inject({ method: 'GET', url: '/api/reports/season?from=2026-01-01&to=2026-01-20&format=csv', headers: auth });
    expect(parseCsv(csv.body)).toHaveLength(report.rows.length + 1);
    expect((await app.inject({ method: 'GET', url: '/api/reports/season?from=2026-01-20&to=2026-01-01', headers: auth })).statusCode).toBe(
      400,
    );
    expect((await app.inject({ method: 'GET', url: '/api/reports/night?date=15-01-2026', headers: auth })).statusCode).toBe(400);
  });
});

describe('GET /api/events', () => {
  it('streams a station event after readings arrive, an alert event on acknowledgement, and ends on app close', async () => {
    // A second app on the same dashboard, listening on a real port, so closing it ends the stream mid-test.
    const sse = await buildApp({
      logger,
      clock,
      stations: server.stations,
      activity,
      metrics: new Registry(),
      adminToken: ADMIN,
      dashboard: server.dashboard,
      readings: { query: () => Promise.resolve([]) },
      health: () => Promise.resolve({ status: 'ok', checks: {} }),
    });
    await sse.listen({ host: '127.0.0.1', port: 0 });
    const address = sse.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: '/api/events', headers: auth }, resolve).on('error', reject).end();
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    let text = '';
    const waitFor = (pattern: RegExp): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (pattern.test(text)) {
            res.off('data', onData);
            resolve();
          }
        };
        const onData = (chunk: Buffer): void => {
          text += chunk.toString('utf8');
          check();
        };
        res.on('data', onData);
        check();
      });
    const ended = new Promise<void>((resolve) => res.once('end', resolve));
    await waitFor(/: connected/);
    nowMs += MIN;
    warnings.engine.onReadings('ld-warm', [profiles['ld-warm']!(4, nowMs)]);
    await waitFor(/event: station\ndata: .*"id":"ld-warm"/);
    const data = /event: station\ndata: (.*)\n\n/.exec(text)![1]!;
    expect(StationOverviewSchema.parse(JSON.parse(data)).id).toBe('ld-warm');
    const open = warnings.alerts.list({ stationId: 'ld-cold', status: 'active', limit: 5 })[0]!;
    warnings.alerts.acknowledge(open.id, 'officer-test', nowMs);
    await waitFor(new RegExp(`event: alert\\ndata: .*"id":${open.id},.*"status":"acknowledged"`));
    res.resume();
    await sse.close();
    await ended;
  });
});
