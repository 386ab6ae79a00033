import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, Role, StationCreate } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { type Alerting, startAlerting } from '../../server/alerting.js';
import { UserAuth } from '../../server/auth/sessions.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { StationActivity } from '../../server/ingest/activity.js';
import { StationRepository } from '../../server/registry/stations.js';

/**
 * The access-control matrix: every route the app registers under /api × {admin user, admin token, officer, viewer,
 * nobody}. A route missing from ROUTES fails the test, so a new route has to say who may call it.
 */
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const STATION = 'ld-matrix-01';
const ANY: readonly Role[] = ['admin', 'officer', 'viewer'];
const STAFF: readonly Role[] = ['admin', 'officer'];
const ADMIN: readonly Role[] = ['admin'];

type Sample = { url: string; payload?: unknown; headers?: Record<string, string> };
/** n makes every body unique, so an allowed write is not refused as a duplicate of the previous one. */
const ROUTES: Record<string, { roles: readonly Role[]; sample: (n: number) => Sample }> = {
  'GET /api/me': { roles: ANY, sample: () => ({ url: '/api/me' }) },
  'GET /api/ui-config': { roles: ANY, sample: () => ({ url: '/api/ui-config' }) },
  'DELETE /api/session': { roles: ANY, sample: () => ({ url: '/api/session' }) }, // signing out changes nobody's data
  'GET /api/users': { roles: ADMIN, sample: () => ({ url: '/api/users' }) },
  'POST /api/users': { roles: ADMIN, sample: (n) => ({ url: '/api/users', payload: { username: `matrix-${n}`, name: 'M', role: 'viewer', password: 'long-enough-password' } }) },
  'GET /api/stations': { roles: ANY, sample: () => ({ url: '/api/stations' }) },
  'POST /api/stations': { roles: ADMIN, sample: (n) => ({ url: '/api/stations', payload: station(`ld-m-${n}`) }) },
  'GET /api/stations/{id}': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}` }) },
  'POST /api/stations/{id}/token': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/token` }) },
  'GET /api/stations/{id}/readings': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}/readings` }) },
  'PUT /api/stations/{id}/rules': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/rules`, payload: { leafOffsetC: 3.5 } }) },
  'POST /api/stations/{id}/model': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/model`, payload: {} }) },
  'GET /api/farmers': { roles: ANY, sample: () => ({ url: '/api/farmers' }) },
  'POST /api/farmers': { roles: STAFF, sample: (n) => ({ url: '/api/farmers', payload: { name: 'Nông dân', phone: phone(n), stationIds: [STATION] } }) },
  'GET /api/farmers/{id}': { roles: ANY, sample: () => ({ url: '/api/farmers/1' }) },
  'DELETE /api/farmers/{id}': { roles: STAFF, sample: () => ({ url: '/api/farmers/999999' }) },
  'POST /api/farmers/import': {
    roles: STAFF,
    sample: (n) => ({ url: '/api/farmers/import', payload: `name,phone,language,commune,station_ids,diacritics\nA,${phone(n + 500)},vi,,${STATION},1\n`, headers: { 'content-type': 'text/csv' } }),
  },
  'GET /api/communes': { roles: ANY, sample: () => ({ url: '/api/communes' }) },
  'PUT /api/communes/{commune}/station': { roles: STAFF, sample: () => ({ url: `/api/communes/${encodeURIComponent('Lát')}/station`, payload: { stationId: STATION } }) },
  'GET /api/officers': { roles: ANY, sample: () => ({ url: '/api/officers' }) },
  'POST /api/officers': { roles: STAFF, sample: (n) => ({ url: '/api/officers', payload: { name: 'Cán bộ', phone: phone(n + 900) } }) },
  'GET /api/alerts': { roles: ANY, sample: () => ({ url: '/api/alerts' }) },
  'GET /api/alerts/unreached': { roles: ANY, sample: () => ({ url: '/api/alerts/unreached' }) },
  'GET /api/alerts/{id}': { roles: ANY, sample: () => ({ url: '/api/alerts/999999' }) },
  'POST /api/alerts/{id}/ack': { roles: STAFF, sample: () => ({ url: '/api/alerts/999999/ack' }) },
};

function station(id: string): StationCreate {
  return { id, name: id, commune: 'Lát', lat: 12.03, lon: 108.4, elevationM: 1_500, crop: 'arabica' } as StationCreate;
}

function phone(n: number): string {
  return `09123${String(n).padStart(5, '0')}`;
}

type Caller = 'admin' | 'admin-token' | 'officer' | 'viewer' | 'nobody';
const CALLERS: readonly Caller[] = ['admin', 'admin-token', 'officer', 'viewer', 'nobody'];

const logger = pino({ level: 'silent' });
const clock: Clock = { now: () => NOW, speed: 1 };
let dir: string;
let db: Db;
let alerting: Alerting;
let app: FastifyInstance;
const headersOf: Partial<Record<Caller, Record<string, string>>> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-access-'));
  db = openDatabase(join(dir, 'frostwatch.db'), logger);
  const stations = new StationRepository(db, clock);
  await stations.create(station(STATION));
  const activity = new StationActivity();
  const settings = { TZ_NAME: 'Asia/Ho_Chi_Minh', SMS_SEGMENTS_PER_S: 1, SMS_SEGMENT_COST_USD: 0.08, VOICE_ACK_TIMEOUT_S: 600 };
  alerting = startAlerting({ db, stations, activity, settings, publicUrl: 'http://127.0.0.1:1', clock, logger, metrics: new Registry(), query: async () => [] });
  const auth = new UserAuth({ db, clock, logger });
  app = await buildApp({
    logger, clock, stations, readings: { query: async () => [] }, activity, health: async () => ({ status: 'ok', checks: {} }),
    metrics: new Registry(), adminToken: ADMIN_TOKEN, auth,
    alerting: {
      people: alerting.people, alerts: alerting.alerts, deliveries: alerting.deliveries,
      twilio: { notifier: alerting.notifier, authToken: null, publicUrl: 'http://127.0.0.1:1' },
      // No InfluxDB here: the fit finds no station data to use. What is under test is who may ask.
      fitModel: async () => null,
      setRuleOverrides: (stationId, overrides) => (stations.get(stationId) ? overrides : null),
    },
  });
  headersOf['admin-token'] = { authorization: `Bearer ${ADMIN_TOKEN}` };
  headersOf.nobody = {};
  for (const role of ANY) {
    await auth.users.create({ username: `${role}-user`, name: role, role, password: `${role}-password-long` });
    const response = await app.inject({ method: 'POST', url: '/api/session', payload: { username: `${role}-user`, password: `${role}-password-long` } });
    const cookie = response.cookies.find((c) => c.name === 'fw_session');
    if (!cookie) throw new Error(`no session for ${role}`);
    headersOf[role] = { cookie: `fw_session=${cookie.value}`, 'x-requested-with': 'frostwatch' };
  }
});

afterAll(async () => {
  await app.close();
  await alerting.notifier.close();
  alerting.engine.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function routesOfApp(): string[] {
  const doc = app.swagger() as { paths?: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths ?? {}).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
}

function roleOf(caller: Caller): Role | null {
  if (caller === 'nobody') return null;
  return caller === 'admin-token' ? 'admin' : caller;
}

describe('access control', () => {
  it('knows every /api route the app registers (sign-in and the Twilio callbacks authenticate otherwise)', () => {
    const api = routesOfApp().filter((route) => / \/api\//.test(route) && !/ \/api\/twilio\//.test(route) && route !== 'POST /api/session');
    expect(api.sort()).toEqual(Object.keys(ROUTES).sort());
  });

  let n = 0;
  const cases = Object.keys(ROUTES).flatMap((route) => CALLERS.map((caller) => [route, caller] as const));
  it.each(cases)('%s as %s', async (route, caller) => {
    const entry = ROUTES[route];
    if (!entry) throw new Error(`no expectation for ${route}`);
    const [method] = route.split(' ') as ['GET' | 'POST' | 'PUT' | 'DELETE'];
    const request: Sample = entry.sample(++n);
    // DELETE /api/session would end the session the following cases use; sign-out is tested in auth-session.test.ts.
    const headers = { ...headersOf[caller], ...request.headers };
    const role = roleOf(caller);
    if (route === 'DELETE /api/session' && caller !== 'nobody' && caller !== 'admin-token') delete headers.cookie;
    const response = await app.inject({ method, url: request.url, headers, ...(request.payload === undefined ? {} : { payload: request.payload as string }) });
    if (role === null || (route === 'DELETE /api/session' && caller !== 'admin-token')) {
      expect(response.statusCode).toBe(401);
    } else if (entry.roles.includes(role)) {
      expect(response.statusCode, response.body).toBeLessThan(500);
      expect([401, 403], response.body).not.toContain(response.statusCode);
    } else {
      expect(response.statusCode, response.body).toBe(403);
    }
  });

  it('lets a viewer change nothing: every write route answers a viewer 403', () => {
    const writes = Object.entries(ROUTES).filter(([route]) => !route.startsWith('GET ') && route !== 'DELETE /api/session');
    expect(writes.length).toBeGreaterThan(10);
    for (const [route, { roles }] of writes) expect(roles, route).not.toContain('viewer');
  });
});
