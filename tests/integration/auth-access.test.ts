import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, Role } from '../../contracts/index.js';
import { type Caller, CALLERS, type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';

/**
 * The access-control matrix: EVERY route the app registers (seen through Fastify's onRoute, hidden ones included) ×
 * {admin user, admin token, officer, viewer, nobody}. A route missing from ROUTES fails the test, so a new route
 * has to say who may call it. Twilio callbacks authenticate by signature instead of a role.
 */
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const STATION = 'ld-matrix-01';
const ANY: readonly Role[] = ['admin', 'officer', 'viewer'];
const STAFF: readonly Role[] = ['admin', 'officer'];
const ADMIN: readonly Role[] = ['admin'];

type Sample = { url: string; payload?: unknown; headers?: Record<string, string> };
/** `public`: no credentials needed (health, metrics, docs, the dashboard's files); `twilio`: a valid X-Twilio-Signature. */
type Access = { roles: readonly Role[] } | { public: true } | { twilio: true };
/** n makes every body unique, so an allowed write is not refused as a duplicate of the previous one. */
type Entry = Access & { sample: (n: number) => Sample };
const PUBLIC = { public: true } as const;

const ROUTES: Record<string, Entry> = {
  'GET /health': { ...PUBLIC, sample: () => ({ url: '/health' }) },
  'GET /ready': { ...PUBLIC, sample: () => ({ url: '/ready' }) },
  'GET /metrics': { ...PUBLIC, sample: () => ({ url: '/metrics' }) },
  'GET /': { ...PUBLIC, sample: () => ({ url: '/' }) },
  'GET /*': { ...PUBLIC, sample: () => ({ url: '/station/ld-matrix-01' }) },
  'GET /docs': { ...PUBLIC, sample: () => ({ url: '/docs' }) },
  'GET /docs/json': { ...PUBLIC, sample: () => ({ url: '/docs/json' }) },
  'GET /docs/yaml': { ...PUBLIC, sample: () => ({ url: '/docs/yaml' }) },
  'GET /docs/static/*': { ...PUBLIC, sample: () => ({ url: '/docs/static/index.html' }) },
  'GET /docs/static/index.html': { ...PUBLIC, sample: () => ({ url: '/docs/static/index.html' }) },
  'GET /docs/static/swagger-initializer.js': { ...PUBLIC, sample: () => ({ url: '/docs/static/swagger-initializer.js' }) },
  'POST /api/session': {
    ...PUBLIC,
    sample: () => ({ url: '/api/session', payload: { username: 'viewer-user', password: 'viewer-password-long' } }),
  },
  'POST /api/twilio/status': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/status', payload: { MessageSid: 'SM-unknown', MessageStatus: 'delivered' } }),
  },
  'POST /api/twilio/voice/:rowId': { twilio: true, sample: () => ({ url: '/api/twilio/voice/999999', payload: {} }) },
  'POST /api/twilio/voice/:rowId/keypress': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/voice/999999/keypress', payload: { Digits: '1' } }),
  },
  'GET /api/me': { roles: ANY, sample: () => ({ url: '/api/me' }) },
  'GET /api/ui-config': { roles: ANY, sample: () => ({ url: '/api/ui-config' }) },
  'DELETE /api/session': { roles: ANY, sample: () => ({ url: '/api/session' }) }, // signing out changes nobody's data
  'GET /api/users': { roles: ADMIN, sample: () => ({ url: '/api/users' }) },
  'POST /api/users': {
    roles: ADMIN,
    sample: (n) => ({
      url: '/api/users',
      payload: { username: `matrix-${n}`, name: 'M', role: 'viewer', password: 'long-enough-password' },
    }),
  },
  'GET /api/audit': { roles: ADMIN, sample: () => ({ url: '/api/audit' }) },
  // Issue 18: districts. Any role reads (a district user: their own); admins add one.
  'GET /api/districts': { roles: ANY, sample: () => ({ url: '/api/districts' }) },
  'POST /api/districts': {
    roles: ADMIN,
    sample: (n) => ({ url: '/api/districts', payload: { id: `matrix-d-${n}`, name: `Matrix ${n}` } }),
  },
  'GET /api/stations': { roles: ANY, sample: () => ({ url: '/api/stations' }) },
  'POST /api/stations': { roles: ADMIN, sample: (n) => ({ url: '/api/stations', payload: stationBody(`ld-m-${n}`) }) },
  'POST /api/stations/import': {
    roles: ADMIN,
    sample: (n) => ({ url: '/api/stations/import', payload: { stations: [stationBody(`ld-mi-${n}-a`), stationBody(`ld-mi-${n}-b`)] } }),
  },
  'GET /api/stations/:id': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}` }) },
  'POST /api/stations/:id/token': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/token` }) },
  'DELETE /api/stations/:id/token': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/token` }) },
  'GET /api/stations/:id/readings': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}/readings` }) },
  'PUT /api/stations/:id/rules': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/rules`, payload: { leafOffsetC: 3.5 } }) },
  'POST /api/stations/:id/model': { roles: ADMIN, sample: () => ({ url: `/api/stations/${STATION}/model`, payload: {} }) },
  'GET /api/integrations': { roles: ADMIN, sample: () => ({ url: '/api/integrations' }) },
  'POST /api/integrations': {
    roles: ADMIN,
    sample: (n) => ({ url: '/api/integrations', payload: { kind: 'chirpstack', name: `matrix-${n}` } }),
  },
  'DELETE /api/integrations/:username': {
    roles: ADMIN,
    sample: () => ({ url: `/api/integrations/${encodeURIComponent('chirpstack:nobody')}` }),
  },
  'GET /api/farmers': { roles: ANY, sample: () => ({ url: '/api/farmers' }) },
  'POST /api/farmers': {
    roles: STAFF,
    sample: (n) => ({ url: '/api/farmers', payload: { name: 'Nông dân', phone: phone(n), stationIds: [STATION] } }),
  },
  'GET /api/farmers/:id': { roles: ANY, sample: () => ({ url: '/api/farmers/1' }) },
  'DELETE /api/farmers/:id': { roles: STAFF, sample: () => ({ url: '/api/farmers/999999' }) },
  'POST /api/farmers/import': {
    roles: STAFF,
    sample: (n) => ({
      url: '/api/farmers/import',
      payload: `name,phone,language,commune,station_ids,diacritics\nA,${phone(n + 500)},vi,,${STATION},1\n`,
      headers: { 'content-type': 'text/csv' },
    }),
  },
  'GET /api/communes': { roles: ANY, sample: () => ({ url: '/api/communes' }) },
  'PUT /api/communes/:commune/station': {
    roles: STAFF,
    sample: () => ({ url: `/api/communes/${encodeURIComponent('Lát')}/station`, payload: { stationId: STATION } }),
  },
  'GET /api/officers': { roles: ANY, sample: () => ({ url: '/api/officers' }) },
  'POST /api/officers': { roles: STAFF, sample: (n) => ({ url: '/api/officers', payload: { name: 'Cán bộ', phone: phone(n + 900) } }) },
  'GET /api/alerts': { roles: ANY, sample: () => ({ url: '/api/alerts' }) },
  'GET /api/alerts/unreached': { roles: ANY, sample: () => ({ url: '/api/alerts/unreached' }) },
  'GET /api/alerts/:id': { roles: ANY, sample: () => ({ url: '/api/alerts/999999' }) },
  'POST /api/alerts/:id/ack': { roles: STAFF, sample: () => ({ url: '/api/alerts/999999/ack' }) },
  'GET /api/overview': { roles: ANY, sample: () => ({ url: '/api/overview' }) },
  'GET /api/events': { roles: ANY, sample: () => ({ url: '/api/events' }) },
  'GET /api/stations/:id/chart': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}/chart?range=24h` }) },
  'GET /api/reports/night': { roles: ANY, sample: () => ({ url: '/api/reports/night?date=2026-01-14' }) },
  'GET /api/reports/season': { roles: ANY, sample: () => ({ url: '/api/reports/season?from=2025-12-01&to=2026-01-15&format=csv' }) },
  // Issue 16: the forecast, surveys, the season score, farmers' opt-out.
  'GET /api/forecast': { roles: ANY, sample: () => ({ url: '/api/forecast' }) },
  'GET /api/stations/:id/forecast': { roles: ANY, sample: () => ({ url: `/api/stations/${STATION}/forecast` }) },
  'POST /api/surveys': {
    roles: STAFF,
    sample: () => ({ url: '/api/surveys', payload: { night: '2026-01-14', commune: 'Lát', damage: 'leaf_burn' } }),
  },
  'GET /api/surveys': { roles: ANY, sample: () => ({ url: '/api/surveys?from=2026-01-01&to=2026-01-15' }) },
  'GET /api/reports/score': { roles: ANY, sample: () => ({ url: '/api/reports/score?from=2025-12-01&to=2026-01-15&format=csv' }) },
  'PUT /api/farmers/:id/opt-out': { roles: STAFF, sample: () => ({ url: '/api/farmers/999999/opt-out', payload: { optedOut: true } }) },
  'GET /api/opt-outs': { roles: ANY, sample: () => ({ url: '/api/opt-outs' }) },
  'POST /api/twilio/sms': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/sms', payload: { From: '+84900000000', Body: 'STOP' } }),
  },
  'POST /api/twilio/voice/:rowId/survey': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/voice/999999/survey', payload: { Digits: '1' } }),
  },
  'POST /api/twilio/voice/:rowId/choice': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/voice/999999/choice', payload: { Digits: '0' } }),
  },
  'POST /api/twilio/voice/:rowId/stop': {
    twilio: true,
    sample: () => ({ url: '/api/twilio/voice/999999/stop', payload: { Digits: '9' } }),
  },
};

function phone(n: number): string {
  return `09123${String(n).padStart(5, '0')}`;
}

const clock: Clock = { now: () => NOW, speed: 1 };
let fx: FullApp;
let baseUrl: string;

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.stations.create(stationBody(STATION));
  // The event stream never ends on its own: it is asked for over a real socket, not inject.
  baseUrl = await fx.app.listen({ port: 0, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before this was assigned.
  await (fx as FullApp | undefined)?.close();
});

function roleOf(caller: Caller): Role | null {
  if (caller === 'nobody') return null;
  return caller === 'admin-token' ? 'admin' : caller;
}

/** Status and body of a request; for the event stream only the head is read, then the socket is dropped. */
async function call(
  method: string,
  url: string,
  headers: Record<string, string>,
  payload: unknown,
): Promise<{ statusCode: number; body: string }> {
  if (url === '/api/events') return streamHead(url, headers);
  const response = await fx.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
  return { statusCode: response.statusCode, body: response.body };
}

function streamHead(path: string, headers: Record<string, string>): Promise<{ statusCode: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { headers }, (res) => {
      const statusCode = res.statusCode ?? 0;
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve({ statusCode, body: chunk.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('access control', () => {
  it('has a decision for every route the app registers', () => {
    expect([...fx.routes.keys()].sort()).toEqual(Object.keys(ROUTES).sort());
  });

  let n = 0;
  const cases = Object.keys(ROUTES).flatMap((route) => CALLERS.map((caller) => [route, caller] as const));
  it.each(cases)('%s as %s', async (route, caller) => {
    const entry = ROUTES[route];
    if (!entry) throw new Error(`no expectation for ${route}`);
    const [method] = route.split(' ') as [string];
    const request: Sample = entry.sample(++n);
    const headers: Record<string, string> = { ...fx.headers[caller], ...request.headers };
    const role = roleOf(caller);
    if ('twilio' in entry) {
      // A role is worth nothing here: an unsigned callback is refused whoever sends it.
      const signed = fx.twilioRequest(request.url.replace('/api/twilio', ''), request.payload as Record<string, string>, false);
      const response = await call(method, signed.url, { ...headers, ...signed.headers }, signed.payload);
      expect(response.statusCode, response.body).toBe(403);
      return;
    }
    // DELETE /api/session would end the session the following cases use; sign-out is tested in auth-session.test.ts.
    if (route === 'DELETE /api/session' && role !== null && caller !== 'admin-token') delete headers.cookie;
    const response = await call(method, request.url, headers, request.payload);
    expect(response.statusCode, response.body).toBeLessThan(500);
    if ('public' in entry) {
      expect([401, 403], response.body).not.toContain(response.statusCode);
    } else if (role === null || (route === 'DELETE /api/session' && caller !== 'admin-token')) {
      expect(response.statusCode, response.body).toBe(401);
    } else if (entry.roles.includes(role)) {
      expect([401, 403], response.body).not.toContain(response.statusCode);
    } else {
      expect(response.statusCode, response.body).toBe(403);
    }
  });

  it.each(
    Object.entries(ROUTES)
      .filter(([, entry]) => 'twilio' in entry)
      .map(([route]) => route),
  )('%s answers a signed callback', async (route) => {
    const request = ROUTES[route]!.sample(0);
    const signed = fx.twilioRequest(request.url.replace('/api/twilio', ''), request.payload as Record<string, string>);
    const response = await fx.app.inject({ method: 'POST', url: signed.url, headers: signed.headers, payload: signed.payload });
    expect(response.statusCode, response.body).toBeLessThan(500);
    expect([401, 403], response.body).not.toContain(response.statusCode);
  });

  it('lets a viewer change nothing: every write route answers a viewer 403', () => {
    const writes = Object.entries(ROUTES).filter(
      ([route, entry]) => !route.startsWith('GET ') && route !== 'DELETE /api/session' && 'roles' in entry,
    );
    expect(writes.length).toBeGreaterThan(10);
    for (const [route, entry] of writes) expect('roles' in entry ? entry.roles : [], route).not.toContain('viewer');
  });

  it('leaves public only what must be: health, readiness, metrics, API docs, the dashboard files and sign-in', () => {
    const open = Object.entries(ROUTES)
      .filter(([, entry]) => 'public' in entry)
      .map(([route]) => route);
    for (const route of open) expect(route).toMatch(/^GET \/(health|ready|metrics|docs.*|\*?)$|^POST \/api\/session$/);
  });
});

/**
 * Districts (issue 18, part 4): the `officer` and `viewer` callers above were created without a district, so they are
 * bound to the default one (lac-duong), where STATION is. A second district, Đức Trọng, gets a station, a farmer, an
 * officer, an alert, a commune and a survey of its own. EVERY route says what a district user gets: their own
 * district's resources, never the other's — 404 for a single resource (so ids do not leak), left out of lists, writes
 * refused — while a province-wide officer (districtId null) and admins see both.
 */
describe('districts', () => {
  const OTHER = 'duc-trong';
  const STATION_B = 'dt-matrix-01';
  const COMMUNE_B = 'Hiệp Thạnh';
  let province: Record<string, string>;
  let own: { farmer: number; officer: number; alert: number };
  let other: { farmer: number; officer: number; alert: number };
  let m = 0;

  const as = (caller: 'officer' | 'viewer' | 'province' | 'admin', method: string, url: string, payload?: unknown) =>
    fx.app.inject({
      method: method as 'GET',
      url,
      headers: caller === 'province' ? province : fx.headers[caller],
      ...(payload === undefined ? {} : { payload: payload as string }),
    });
  /** GET `url` as a district user and as a province officer: the district user's answer has `mine` and not `theirs`. */
  async function listed<T>(url: string, key: (row: T) => unknown, mine: unknown, theirs: unknown, rows = (b: unknown) => b as T[]) {
    for (const caller of ['officer', 'viewer'] as const) {
      const response = await as(caller, 'GET', url);
      expect(response.statusCode, response.body).toBe(200);
      const keys = rows(response.json()).map(key);
      expect(keys, `${caller} ${url}`).toContain(mine);
      expect(keys, `${caller} ${url}`).not.toContain(theirs);
    }
    const all = rows((await as('province', 'GET', url)).json()).map(key);
    expect(all, `province ${url}`).toEqual(expect.arrayContaining([mine, theirs]));
  }
  /** A single resource: 200 in the user's district, 404 in the other (as if it did not exist); a province officer sees both. */
  async function single(method: string, mineUrl: string, theirsUrl: string, payload?: unknown) {
    for (const caller of method === 'GET' ? (['officer', 'viewer'] as const) : (['officer'] as const)) {
      const mine = await as(caller, method, mineUrl, payload);
      expect(mine.statusCode, `${caller} ${mineUrl}: ${mine.body}`).toBeLessThan(300);
      const theirs = await as(caller, method, theirsUrl, payload);
      expect(theirs.statusCode, `${caller} ${theirsUrl}: ${theirs.body}`).toBe(404);
    }
    const seen = await as('province', method, theirsUrl, payload);
    expect(seen.statusCode, `province ${theirsUrl}: ${seen.body}`).toBeLessThan(300);
  }
  const refused = async (url: string, payload: unknown, statusCode: number, method = 'POST') => {
    const response = await as('officer', method, url, payload);
    expect(response.statusCode, response.body).toBe(statusCode);
  };
  /** Routes with nothing of a district in them, or for admins only (who see every district): what the matrix above checks. */
  const NOT_DISTRICT = async () => {};

  const CHECKS: Record<string, () => Promise<void>> = {
    'GET /api/me': async () => {
      expect(json(await as('officer', 'GET', '/api/me'))).toMatchObject({ districtId: 'lac-duong', districtName: 'Lạc Dương' });
      expect(json(await as('province', 'GET', '/api/me'))).toMatchObject({ districtId: null, districtName: null });
      expect(json(await as('admin', 'GET', '/api/me'))).toMatchObject({ districtId: null });
    },
    'GET /api/districts': () => listed<{ id: string }>('/api/districts', (d) => d.id, 'lac-duong', OTHER),
    'POST /api/districts': async () => {
      await refused('/api/districts', { id: 'lam-ha', name: 'Lâm Hà' }, 403);
      const created = await as('admin', 'POST', '/api/districts', { id: 'lam-ha', name: 'Lâm Hà' });
      expect(created.statusCode, created.body).toBe(201);
      expect((await as('admin', 'POST', '/api/districts', { id: 'lam-ha', name: 'Lâm Hà 2' })).statusCode).toBe(409);
    },
    'GET /api/stations': () => listed<{ id: string }>('/api/stations', (r) => r.id, STATION, STATION_B),
    'GET /api/stations/:id': () => single('GET', `/api/stations/${STATION}`, `/api/stations/${STATION_B}`),
    'POST /api/stations': async () => {
      const created = await as('admin', 'POST', '/api/stations', stationBody(`dt-m-${++m}`, { districtId: OTHER }));
      expect(created.statusCode, created.body).toBe(201);
      expect(json<{ districtId: string }>(await as('admin', 'GET', `/api/stations/dt-m-${m}`)).districtId).toBe(OTHER);
      const nowhere = await as('admin', 'POST', '/api/stations', stationBody(`dt-m-${++m}`, { districtId: 'nowhere' }));
      expect(nowhere.statusCode, nowhere.body).toBe(400);
      await refused('/api/stations', stationBody(`dt-m-${++m}`), 403);
    },
    'POST /api/stations/import': async () => {
      const body = { stations: [stationBody(`dt-mi-${++m}`, { districtId: OTHER }), stationBody(`dt-mi-${m}-b`)] };
      expect((await as('admin', 'POST', '/api/stations/import', body)).statusCode).toBe(201);
      expect(json<{ districtId: string }>(await as('admin', 'GET', `/api/stations/dt-mi-${m}`)).districtId).toBe(OTHER);
      expect(json<{ districtId: string }>(await as('admin', 'GET', `/api/stations/dt-mi-${m}-b`)).districtId).toBe('lac-duong');
      const bad = await as('admin', 'POST', '/api/stations/import', {
        stations: [stationBody(`dt-mi-${++m}`, { districtId: 'nowhere' })],
      });
      expect(bad.statusCode, bad.body).toBe(400);
      expect(bad.body).toMatch(/unknown district nowhere/);
    },
    'POST /api/stations/:id/token': NOT_DISTRICT,
    'DELETE /api/stations/:id/token': NOT_DISTRICT,
    'PUT /api/stations/:id/rules': NOT_DISTRICT,
    'POST /api/stations/:id/model': NOT_DISTRICT,
    'GET /api/stations/:id/readings': () => single('GET', `/api/stations/${STATION}/readings`, `/api/stations/${STATION_B}/readings`),
    'GET /api/stations/:id/chart': () =>
      single('GET', `/api/stations/${STATION}/chart?range=24h`, `/api/stations/${STATION_B}/chart?range=24h`),
    'GET /api/stations/:id/forecast': () => single('GET', `/api/stations/${STATION}/forecast`, `/api/stations/${STATION_B}/forecast`),
    'GET /api/farmers': () => listed<{ id: number }>('/api/farmers', (r) => r.id, own.farmer, other.farmer),
    'GET /api/farmers/:id': () => single('GET', `/api/farmers/${own.farmer}`, `/api/farmers/${other.farmer}`),
    'POST /api/farmers': async () => {
      const created = await as('officer', 'POST', '/api/farmers', { name: 'A', phone: phone(7001), stationIds: [STATION] });
      expect(created.statusCode, created.body).toBe(201);
      expect(json<{ districtId: string }>(created).districtId).toBe('lac-duong');
      // Another district's station is answered as an unknown one; naming the other district is refused.
      await refused('/api/farmers', { name: 'B', phone: phone(7002), stationIds: [STATION_B] }, 400);
      await refused('/api/farmers', { name: 'B', phone: phone(7003), stationIds: [STATION_B], districtId: OTHER }, 403);
      const byProvince = await as('province', 'POST', '/api/farmers', { name: 'B', phone: phone(7004), stationIds: [STATION_B] });
      expect(json<{ districtId: string }>(byProvince).districtId).toBe(OTHER);
    },
    'DELETE /api/farmers/:id': async () => {
      const doomed = await as('province', 'POST', '/api/farmers', { name: 'B', phone: phone(7005), stationIds: [STATION_B] });
      const id = json<{ id: number }>(doomed).id;
      await refused(`/api/farmers/${id}`, undefined, 404, 'DELETE');
      expect((await as('province', 'GET', `/api/farmers/${id}`)).statusCode).toBe(200);
      const mine = await as('officer', 'POST', '/api/farmers', { name: 'A', phone: phone(7006), stationIds: [STATION] });
      expect((await as('officer', 'DELETE', `/api/farmers/${json<{ id: number }>(mine).id}`)).statusCode).toBe(204);
      expect((await as('province', 'DELETE', `/api/farmers/${id}`)).statusCode).toBe(204);
    },
    'POST /api/farmers/import': async () => {
      const csv = `name,phone,language,commune,station_ids,diacritics\nA,${phone(7101)},vi,,${STATION},1\nB,${phone(7102)},vi,,${STATION_B},1\nC,${phone(9000)},vi,,${STATION},1\n`;
      const response = await fx.app.inject({
        method: 'POST',
        url: '/api/farmers/import',
        headers: { ...fx.headers.officer, 'content-type': 'text/csv' },
        payload: csv,
      });
      expect(response.statusCode, response.body).toBe(200);
      const report = json<{ rows: { row: number; ok: boolean; error?: string }[] }>(response);
      expect(report.rows.map((r) => [r.row, r.ok])).toEqual([
        [2, true],
        [3, false],
        [4, false],
      ]);
      expect(report.rows[1]?.error).toBe(`unknown station ${STATION_B}`);
      expect(report.rows[2]?.error).toMatch(/another district/); // phone(9000): the other district's farmer
    },
    'PUT /api/farmers/:id/opt-out': () =>
      single('PUT', `/api/farmers/${own.farmer}/opt-out`, `/api/farmers/${other.farmer}/opt-out`, { optedOut: false }),
    'GET /api/opt-outs': async () => {
      await as('officer', 'PUT', `/api/farmers/${own.farmer}/opt-out`, { optedOut: true });
      await as('province', 'PUT', `/api/farmers/${other.farmer}/opt-out`, { optedOut: true });
      await listed<{ farmerId: number }>('/api/opt-outs', (r) => r.farmerId, own.farmer, other.farmer);
    },
    'GET /api/communes': () => listed<{ commune: string }>('/api/communes', (r) => r.commune, 'Lát', COMMUNE_B),
    'PUT /api/communes/:commune/station': async () => {
      const mine = await as('officer', 'PUT', `/api/communes/${encodeURIComponent('Lát')}/station`, { stationId: STATION });
      expect(mine.statusCode, mine.body).toBe(200);
      await refused(`/api/communes/${encodeURIComponent('Đạ Nhim')}/station`, { stationId: STATION_B }, 400, 'PUT');
      await refused(`/api/communes/${encodeURIComponent(COMMUNE_B)}/station`, { stationId: STATION }, 403, 'PUT');
      expect(json<{ commune: string; stationId: string }[]>(await as('admin', 'GET', '/api/communes'))).toContainEqual(
        expect.objectContaining({ commune: COMMUNE_B, stationId: STATION_B }),
      );
    },
    'GET /api/officers': () => listed<{ id: number }>('/api/officers', (r) => r.id, own.officer, other.officer),
    'POST /api/officers': async () => {
      const created = await as('officer', 'POST', '/api/officers', { name: 'C', phone: phone(7201) });
      expect(json<{ districtId: string }>(created).districtId).toBe('lac-duong');
      await refused('/api/officers', { name: 'C', phone: phone(7202), districtId: OTHER }, 403);
      const byAdmin = await as('admin', 'POST', '/api/officers', { name: 'C', phone: phone(7203), districtId: OTHER });
      expect(json<{ districtId: string }>(byAdmin).districtId).toBe(OTHER);
    },
    'GET /api/alerts': () => listed<{ id: number }>('/api/alerts', (r) => r.id, own.alert, other.alert),
    'GET /api/alerts/unreached': () => listed<{ stationId: string }>('/api/alerts/unreached', (r) => r.stationId, STATION, STATION_B),
    'GET /api/alerts/:id': () => single('GET', `/api/alerts/${own.alert}`, `/api/alerts/${other.alert}`),
    'POST /api/alerts/:id/ack': () => single('POST', `/api/alerts/${own.alert}/ack`, `/api/alerts/${other.alert}/ack`),
    'GET /api/overview': () => listed<{ id: string }>('/api/overview', (r) => r.id, STATION, STATION_B),
    'GET /api/events': async () => {
      // The officer's stream: an alert of the other district is not sent; the next one of their own is.
      const events = await eventStream(fx.headers.officer, () => {
        fx.openAlert(STATION_B, 'matrix events, other district', NOW);
        fx.openAlert(STATION, 'matrix events, own district', NOW);
      });
      expect(events).toContain(`"stationId":"${STATION}"`);
      expect(events).not.toContain(STATION_B);
    },
    'GET /api/reports/night': async () => {
      await listed<{ stationId: string }>('/api/reports/night?date=2026-01-14', (r) => r.stationId, STATION, STATION_B, rowsOf);
      const report = json<{ rows: { stationId: string; district: string }[] }>(
        await as('province', 'GET', '/api/reports/night?date=2026-01-14'),
      );
      expect(report.rows.find((r) => r.stationId === STATION_B)?.district).toBe('Đức Trọng');
    },
    'GET /api/reports/season': async () => {
      await listed<{ stationId: string }>(
        '/api/reports/season?from=2025-12-01&to=2026-01-15',
        (r) => r.stationId,
        STATION,
        STATION_B,
        rowsOf,
      );
      const csv = (await as('officer', 'GET', '/api/reports/season?from=2025-12-01&to=2026-01-15&format=csv')).body;
      const [header, first] = csv.split('\r\n');
      expect(header?.split(',')).toContain('district');
      expect(first).toContain('Lạc Dương');
      expect(csv).not.toContain(STATION_B);
    },
    'GET /api/forecast': async () => {
      // Tonight's pre-alerts, one in each district (FORECAST_URL is off here, so they are written as the service would).
      for (const stationId of [STATION, STATION_B])
        fx.db
          .prepare(
            `INSERT INTO prealerts (station_id, night, lead, decided_at, forecast_min_c, corrected_min_c, cloud_pct, wind_ms, dew_point_c)
             VALUES (?, '2026-01-15', 'tonight', ?, 1, 0.5, 5, 0.5, -1)`,
          )
          .run(stationId, NOW);
      await listed<{ commune: string }>(
        '/api/forecast',
        (p) => p.commune,
        'Lát',
        COMMUNE_B,
        (b) => (b as { prealerts: { commune: string }[] }).prealerts,
      );
    },
    'POST /api/surveys': async () => {
      const mine = await as('officer', 'POST', '/api/surveys', { night: '2026-01-13', commune: 'Lát', damage: 'none' });
      expect(mine.statusCode, mine.body).toBe(201);
      await refused('/api/surveys', { night: '2026-01-13', commune: COMMUNE_B, damage: 'none' }, 403);
      await refused('/api/surveys', { night: '2026-01-13', commune: 'Lát', damage: 'none', farmerId: other.farmer }, 400);
    },
    'GET /api/surveys': () => listed<{ commune: string }>('/api/surveys?from=2026-01-01&to=2026-01-15', (r) => r.commune, 'Lát', COMMUNE_B),
    'GET /api/reports/score': () =>
      listed<{ commune: string }>(
        '/api/reports/score?from=2026-01-01&to=2026-01-15',
        (r) => r.commune,
        'Lát',
        COMMUNE_B,
        (b) => (b as { communes: { commune: string }[] }).communes,
      ),
    'GET /api/users': NOT_DISTRICT,
    'GET /api/audit': NOT_DISTRICT,
    'GET /api/integrations': NOT_DISTRICT,
    'POST /api/integrations': NOT_DISTRICT,
    'DELETE /api/integrations/:username': NOT_DISTRICT,
    'POST /api/users': async () => {
      const create = (body: object) => as('admin', 'POST', '/api/users', { name: 'U', password: 'long-enough-password', ...body });
      expect(json(await create({ username: `d-officer-${++m}`, role: 'officer', districtId: OTHER }))).toMatchObject({
        districtId: OTHER,
        districtName: 'Đức Trọng',
      });
      expect(json(await create({ username: `d-viewer-${++m}`, role: 'viewer' }))).toMatchObject({ districtId: 'lac-duong' });
      expect(json(await create({ username: `d-admin-${++m}`, role: 'admin' }))).toMatchObject({ districtId: null });
      expect((await create({ username: `d-admin-${++m}`, role: 'admin', districtId: OTHER })).statusCode).toBe(400);
      expect((await create({ username: `d-officer-${++m}`, role: 'officer', districtId: 'nowhere' })).statusCode).toBe(400);
    },
  };

  beforeAll(async () => {
    const people = fx.warnings.people;
    expect((await as('admin', 'POST', '/api/districts', { id: OTHER, name: 'Đức Trọng' })).statusCode).toBe(201);
    await fx.stations.create(stationBody(STATION_B, { commune: COMMUNE_B, districtId: OTHER }));
    const created = await as('admin', 'POST', '/api/users', {
      username: 'province-officer',
      name: 'Province',
      role: 'officer',
      password: 'province-password-long',
      districtId: null,
    });
    expect(created.statusCode, created.body).toBe(201);
    const signIn = await fx.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { username: 'province-officer', password: 'province-password-long' },
    });
    const cookie = signIn.cookies.find((c) => c.name === 'fw_session');
    if (!cookie) throw new Error(`no session: ${signIn.body}`);
    province = { cookie: `fw_session=${cookie.value}`, 'x-requested-with': 'frostwatch' };
    const farmer = (p: string, stationId: string) => {
      const r = people.createFarmer({
        name: 'F',
        phone: p,
        language: 'vi',
        diacritics: true,
        stationIds: [stationId as never],
        contacts: [],
      });
      if (!r.ok) throw new Error(r.message);
      return r.farmer.id;
    };
    const officer = (p: string, districtId?: string) => {
      const r = people.createOfficer({ name: 'O', phone: p, language: 'vi', ...(districtId ? { districtId } : {}) });
      if (!r.ok) throw new Error(r.message);
      return r.officer.id;
    };
    own = {
      farmer: farmer(phone(8000), STATION),
      officer: officer(phone(8001)),
      alert: fx.openAlert(STATION, 'matrix own', NOW - 3_600_000),
    };
    other = {
      farmer: farmer(phone(9000), STATION_B),
      officer: officer(phone(9001), OTHER),
      alert: fx.openAlert(STATION_B, 'matrix other', NOW - 3_600_000),
    };
    const set = people.setCommuneStation(COMMUNE_B, STATION_B, 0);
    if (!set.ok) throw new Error(set.message);
    expect((await as('admin', 'POST', '/api/surveys', { night: '2026-01-14', commune: COMMUNE_B, damage: 'leaf_burn' })).statusCode).toBe(
      201,
    );
    expect((await as('admin', 'POST', '/api/surveys', { night: '2026-01-14', commune: 'Lát', damage: 'none' })).statusCode).toBe(201);
    // A failed SMS for each district's alert: both farmers unreached.
    for (const [alertId, farmerId] of [
      [own.alert, own.farmer],
      [other.alert, other.farmer],
    ] as const) {
      const event = fx.db.prepare<[number], { id: number }>('SELECT MAX(id) AS id FROM alert_events WHERE alert_id = ?').get(alertId);
      fx.db
        .prepare(
          `INSERT INTO outbox (dedupe_key, event_id, recipient_kind, recipient_id, channel, phone, language, body, encoding, segments,
                               cost_usd, status, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, 'farmer', ?, 'sms', '+84900000001', 'vi', 'x', 'GSM-7', 1, 0, 'failed', ?, ?, ?)`,
        )
        .run(`matrix-unreached-${alertId}`, event?.id ?? null, farmerId, NOW, NOW, NOW);
    }
  });

  it('has a district decision for every route the app registers', () => {
    expect(Object.keys(CHECKS).sort()).toEqual(
      Object.entries(ROUTES)
        .filter(([route, entry]) => 'roles' in entry && route !== 'GET /api/ui-config' && route !== 'DELETE /api/session')
        .map(([route]) => route)
        .sort(),
    );
  });

  it.each(Object.keys(CHECKS))('%s for a district officer, their own district and another', async (route) => {
    await CHECKS[route]!();
  });
});

function rowsOf(body: unknown): { stationId: string }[] {
  return (body as { rows: { stationId: string }[] }).rows;
}

/** Reads the event stream until `trigger`'s events have come through (a heartbeat would take 15 s), then closes it. */
function eventStream(headers: Record<string, string>, trigger: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpRequest(`${baseUrl}/api/events`, { headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text === '') setImmediate(trigger);
        text += chunk;
        if (text.includes('event: alert')) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** An inject answer's JSON body as `T` (light-my-request's own `json<T>()`). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body's shape
function json<T>(response: { json: () => unknown }): T {
  return response.json() as T;
}
