import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HealthSchema, StationSchema, type Clock, type Health, type ReadingOut } from '../../contracts/index.js';
import { buildApp, type ReadingsStore, type StationActivity } from '../../server/app.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { textLogger } from '../helpers/mqtt.js';

const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const ADMIN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const validStation = { id: 'ld-dasar-01', name: 'Đạ Sar 01', commune: 'Đạ Sar', lat: 12.02, lon: 108.45, elevationM: 1_420 };

/** Everything the app logs, to check that no secret ever reaches the log. */
const { logger, lines: logLines } = textLogger();

/** Requests refused at the edge must never reach storage: any call here fails the test in afterEach. */
const unexpectedStoreCalls: unknown[] = [];
const refusingStore: ReadingsStore = {
  query: (stationId, q) => {
    unexpectedStoreCalls.push({ stationId, q });
    return Promise.reject(new Error('the readings store must not be called for this request'));
  },
};

const activity: StationActivity = {
  get: (id) => (id === 'ld-dasar-01' ? { lastSeenAt: NOW - 30_000, online: true } : { lastSeenAt: null, online: null }),
};

let health: () => Promise<Health> = () => Promise.resolve({ status: 'ok', checks: { sqlite: { ok: true } } });

let dir: string;
let db: Db;
let stations: StationRepository;
let app: FastifyInstance;
const issuedTokens: string[] = [];

async function makeApp(readings: ReadingsStore): Promise<FastifyInstance> {
  const metrics = new Registry();
  new Counter({ name: 'frostwatch_test_requests_total', help: 'a counter for the test', registers: [metrics] }).inc(3);
  const clock: Clock = { now: () => NOW, speed: 1 };
  return buildApp({ logger, clock, stations, readings, activity, health: () => health(), metrics, adminToken: ADMIN });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-http-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), logger);
  stations = new StationRepository(db, { now: () => NOW, speed: 1 });
  app = await makeApp(refusingStore);
});

afterAll(async () => {
  await app.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
  const log = logLines.join('');
  expect(log).not.toContain(ADMIN);
  for (const token of issuedTokens) expect(log).not.toContain(token);
});

afterEach(() => {
  expect(unexpectedStoreCalls).toEqual([]);
});

function expectError(response: LightMyRequestResponse, statusCode: number, error: string, messagePart?: string | RegExp): void {
  expect(response.statusCode).toBe(statusCode);
  const body = response.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(error);
  if (messagePart !== undefined) expect(body.message).toMatch(messagePart);
  expect(response.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(response.body).not.toContain('stack');
}

describe('stations API', () => {
  it('registers a station and shows its token only in that answer', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/stations', headers: auth, payload: validStation });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json<{ id: string; token: string }>();
    issuedTokens.push(token);
    expect(id).toBe('ld-dasar-01');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await new CachingStationAuthenticator(stations).verify(id, Buffer.from(token))).toBe('ok');

    const list = await app.inject({ method: 'GET', url: '/api/stations', headers: auth });
    const one = await app.inject({ method: 'GET', url: '/api/stations/ld-dasar-01', headers: auth });
    for (const response of [list, one]) {
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain(token);
      expect(response.body).not.toMatch(/scrypt|token/i);
    }
    const listed = StationSchema.array().parse(list.json());
    expect(listed.map((s) => s.id)).toContain('ld-dasar-01');
    expect(StationSchema.strict().parse(one.json())).toEqual({
      ...validStation,
      crop: 'arabica',
      districtId: 'lac-duong',
      source: 'native',
      deviceId: null,
      preset: null,
      fieldMap: null,
      createdAt: new Date(NOW).toISOString(),
      lastSeenAt: new Date(NOW - 30_000).toISOString(),
      online: true,
      sampling: 'config_topic',
      refused: [],
    });
  });

  it('answers 409 for a duplicate id and keeps the first station', async () => {
    const again = await app.inject({ method: 'POST', url: '/api/stations', headers: auth, payload: { ...validStation, name: 'Other' } });
    expectError(again, 409, 'conflict', /ld-dasar-01/);
    expect(stations.get('ld-dasar-01')?.name).toBe('Đạ Sar 01');
  });

  it('answers 404 for an unknown station and 400 for a malformed id', async () => {
    expectError(await app.inject({ method: 'GET', url: '/api/stations/ld-nowhere', headers: auth }), 404, 'not_found');
    expectError(await app.inject({ method: 'GET', url: '/api/stations/Bad%20Id', headers: auth }), 400, 'bad_request', /params\.id/);
  });

  const withoutLat: Partial<typeof validStation> = { ...validStation };
  delete withoutLat.lat;
  it.each([
    ['a missing field', withoutLat, /body\.lat/],
    ['lat 200', { ...validStation, id: 'ld-x1', lat: 200 }, /body\.lat/],
    ['an id with a slash', { ...validStation, id: 'ld/x' }, /body\.id/],
    ['an id with MQTT wildcards', { ...validStation, id: 'ld-#' }, /body\.id/],
    ['a string for a number', { ...validStation, id: 'ld-x2', elevationM: '1420' }, /body\.elevationM/],
    ['an unknown crop', { ...validStation, id: 'ld-x3', crop: 'tea' }, /body\.crop/],
    ['an array body', [validStation], /^body/],
  ])('refuses %s with 400 naming the field', async (_name, payload, field) => {
    const response = await app.inject({ method: 'POST', url: '/api/stations', headers: auth, payload });
    expectError(response, 400, 'bad_request', field);
  });

  it('refuses a body that is not JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/stations',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"id": "ld-x4",',
    });
    expectError(response, 400, 'bad_request', /body: not valid JSON/);
  });

  it.each([
    ['text/plain', 400, 'bad_request', /^body: .*expected object/],
    ['application/x-www-form-urlencoded', 415, 'unsupported_media_type', /Unsupported Media Type/],
  ])('refuses a %s body', async (contentType, statusCode, error, message) => {
    const payload = JSON.stringify({ ...validStation, id: 'ld-not-json' });
    const response = await app.inject({ method: 'POST', url: '/api/stations', headers: { ...auth, 'content-type': contentType }, payload });
    expectError(response, statusCode, error, message);
    expect(stations.get('ld-not-json')).toBeNull();
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-0123456789' }],
    ['another scheme', { authorization: `Basic ${ADMIN}` }],
    ['the bare token', { authorization: ADMIN }],
  ])('answers 401 with %s, before looking at the body', async (_name, headers) => {
    for (const request of [
      { method: 'GET', url: '/api/stations' },
      { method: 'GET', url: '/api/stations/ld-dasar-01/readings' },
      { method: 'POST', url: '/api/stations', payload: { bad: true } },
      { method: 'POST', url: '/api/stations/ld-dasar-01/token' },
    ] as const) {
      const response = await app.inject({ ...request, headers });
      expectError(response, 401, 'unauthorized');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('rotates a token: the new one is shown once and the old one stops working', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/stations',
      headers: auth,
      payload: { ...validStation, id: 'ld-rotate' },
    });
    const old = created.json<{ token: string }>().token;
    const authenticator = new CachingStationAuthenticator(stations);
    expect(await authenticator.verify('ld-rotate', Buffer.from(old))).toBe('ok');

    const rotated = await app.inject({ method: 'POST', url: '/api/stations/ld-rotate/token', headers: auth });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json<{ id: string; token: string }>();
    issuedTokens.push(old, fresh.token);
    expect(fresh.id).toBe('ld-rotate');
    expect(fresh.token).not.toBe(old);
    expect(await authenticator.verify('ld-rotate', Buffer.from(old))).toBe('bad_token');
    expect(await authenticator.verify('ld-rotate', Buffer.from(fresh.token))).toBe('ok');

    expectError(await app.inject({ method: 'POST', url: '/api/stations/ld-nowhere/token', headers: auth }), 404, 'not_found');
  });
});

describe('readings API: refused before storage', () => {
  const url = '/api/stations/ld-dasar-01/readings';
  it.each([
    ['a bad every', { every: '5x' }, 400, /^querystring\.every: e\.g\./],
    ['every zero', { every: '0m' }, 400, /querystring\.every/],
    ['a from without time zone', { from: '2026-01-15T10:00:00' }, 400, /querystring\.from/],
    ['a non-date to', { to: 'yesterday' }, 400, /querystring\.to/],
    ['from after to', { from: '2026-01-15T12:00:00Z', to: '2026-01-15T10:00:00Z' }, 400, /from.*before/],
    ['from equal to', { from: '2026-01-15T10:00:00Z', to: '2026-01-15T10:00:00Z' }, 400, /from.*before/],
    ['a window over 400 days', { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 400, /400 days/],
    ['a from after now (the default to)', { from: '2026-01-16T00:00:00Z' }, 400, /from.*before/],
  ])('refuses %s', async (_name, query, statusCode, message) => {
    const response = await app.inject({ method: 'GET', url, query, headers: auth });
    expectError(response, statusCode, 'bad_request', message);
  });

  it('answers 404 for an unknown station', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/stations/ld-nowhere/readings', headers: auth });
    expectError(response, 404, 'not_found', /ld-nowhere/);
  });
});

describe('readings API: window handed to storage', () => {
  let readingsApp: FastifyInstance;
  const calls: { stationId: string; q: { fromMs: number; toMs: number; every?: string } }[] = [];
  const sample: ReadingOut = { ts: new Date(NOW - 60_000).toISOString(), airTempC: 1.5, rhPct: 93 };

  beforeAll(async () => {
    readingsApp = await makeApp({
      query: (stationId, q) => {
        calls.push({ stationId, q });
        return Promise.resolve([sample]);
      },
    });
  });
  afterAll(async () => readingsApp.close());

  it('defaults to the 24 h before now, unaggregated', async () => {
    const response = await readingsApp.inject({ method: 'GET', url: '/api/stations/ld-dasar-01/readings', headers: auth });
    expect(response.statusCode).toBe(200);
    expect(calls.at(-1)).toEqual({ stationId: 'ld-dasar-01', q: { fromMs: NOW - 86_400_000, toMs: NOW, every: undefined } });
    expect(response.json()).toEqual({
      stationId: 'ld-dasar-01',
      from: new Date(NOW - 86_400_000).toISOString(),
      to: new Date(NOW).toISOString(),
      every: null,
      readings: [sample],
    });
  });

  it('passes an explicit window (any offset) and interval', async () => {
    const query = { from: '2026-01-15T20:00:00+07:00', to: '2026-01-15T14:00:00Z', every: '5m' };
    const response = await readingsApp.inject({ method: 'GET', url: '/api/stations/ld-dasar-01/readings', query, headers: auth });
    expect(response.statusCode).toBe(200);
    expect(calls.at(-1)?.q).toEqual({ fromMs: Date.UTC(2026, 0, 15, 13), toMs: Date.UTC(2026, 0, 15, 14), every: '5m' });
    expect(response.json<{ every: string }>().every).toBe('5m');
  });
});

describe('system routes', () => {
  afterEach(() => {
    health = () => Promise.resolve({ status: 'ok', checks: { sqlite: { ok: true } } });
  });

  it.each([
    ['ok', 200],
    ['degraded', 200],
    ['down', 503],
  ] as const)('/health answers %s with %i, without auth', async (status, statusCode) => {
    const body: Health = { status, checks: { influxdb: { ok: status === 'ok', detail: 'ping' }, sqlite: { ok: true } } };
    health = () => Promise.resolve(body);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(statusCode);
    expect(HealthSchema.parse(response.json())).toEqual(body);
  });

  it('answers 500 with a generic message when something breaks, and logs the cause', async () => {
    health = () => Promise.reject(new Error('sqlite exploded at /secret/path'));
    const response = await app.inject({ method: 'GET', url: '/health' });
    expectError(response, 500, 'internal', /^internal error$/);
    expect(response.body).not.toContain('exploded');
    expect(logLines.join('')).toContain('sqlite exploded');
  });

  it('/metrics serves the Prometheus text of the registry', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('frostwatch_test_requests_total 3');
  });

  it('/docs/json describes the API from the contract schemas', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json<{ paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string }[] }>> }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/stations',
        '/api/stations/{id}',
        '/api/stations/{id}/token',
        '/api/stations/{id}/readings',
        '/health',
        '/metrics',
      ]),
    );
    expect(JSON.stringify(doc.paths['/api/stations']?.post?.requestBody)).toContain('elevationM');
    expect(doc.paths['/api/stations/{id}/readings']?.get?.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['id', 'from', 'to', 'every']),
    );
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('answers unknown routes with a 404 in the same shape (other GETs are the dashboard pages)', async () => {
    expectError(
      await app.inject({ method: 'GET', url: '/api/nope?x=1', headers: { authorization: `Bearer ${ADMIN}` } }),
      404,
      'not_found',
      'GET /api/nope',
    );
    expectError(await app.inject({ method: 'POST', url: '/nope' }), 404, 'not_found', 'POST /nope');
  });
});
