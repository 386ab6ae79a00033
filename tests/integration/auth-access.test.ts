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
