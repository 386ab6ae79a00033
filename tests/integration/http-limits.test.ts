import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { DEFAULT_HTTP_RATE_LIMITS } from '../../server/http-limits.js';
import { FULL_APP_ADMIN_TOKEN, type FullApp, startFullApp } from '../helpers/full-app.js';

const clock: Clock = { now: () => Date.UTC(2026, 0, 15, 10, 0, 0), speed: 1 };
/** Small enough to reach in a test; the sign-in limit stays at its default (the helper signs three users in). */
const LIMITS = { requestsPerMin: 30, failedAuthMax: 5 };
const TILES = 'https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png';

/** Each test speaks from its own address, as separate clients would; inject sets the socket's remote address. */
const from = (address: string) => ({ remoteAddress: address });

function expectTooMany(response: LightMyRequestResponse, message: RegExp): void {
  expect(response.statusCode).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json<Record<string, unknown>>();
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe('too_many_requests');
  expect(body.message).toMatch(message);
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
}

/** Parses a Content-Security-Policy header into directive → sources. */
function csp(response: LightMyRequestResponse): Map<string, string[]> {
  const header = response.headers['content-security-policy'] ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe('HTTP rate limits', () => {
  let full: FullApp;
  let app: FastifyInstance;

  beforeAll(async () => {
    full = await startFullApp({ clock, rateLimits: LIMITS });
    app = full.app;
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before this was assigned.
    await (full as FullApp | undefined)?.close();
  });

  it('answers 429 with the JSON error body and Retry-After past the per-address limit; other addresses go on', async () => {
    for (let i = 0; i < LIMITS.requestsPerMin; i++) {
      const ok = await app.inject({ method: 'GET', url: '/health', ...from('10.1.0.1') });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe(String(LIMITS.requestsPerMin));
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(LIMITS.requestsPerMin - i - 1));
    }
    const refused = await app.inject({ method: 'GET', url: '/api/stations', headers: full.headers['admin-token'], ...from('10.1.0.1') });
    expectTooMany(refused, /^too many requests; try again in/);
    expect(refused.body).not.toMatch(/stack|at .*\.js/);
    expect(
      (await app.inject({ method: 'GET', url: '/api/stations', headers: full.headers['admin-token'], ...from('10.1.0.2') })).statusCode,
    ).toBe(200);
  });

  it('keeps serving Twilio callbacks from an address whose general budget is spent', async () => {
    for (let i = 0; i <= LIMITS.requestsPerMin; i++) await app.inject({ method: 'GET', url: '/health', ...from('10.1.0.3') });
    expect((await app.inject({ method: 'GET', url: '/health', ...from('10.1.0.3') })).statusCode).toBe(429);
    for (let i = 0; i < 50; i++) {
      const request = full.twilioRequest('/status', { MessageSid: `SM${String(i).padStart(32, '0')}`, MessageStatus: 'delivered' });
      const response = await app.inject({ method: 'POST', ...request, ...from('10.1.0.3') });
      expect(response.statusCode).toBe(204);
    }
    // An unsigned callback is still refused for its signature, not for the rate.
    const forged = full.twilioRequest('/status', { MessageSid: 'SMforged', MessageStatus: 'delivered' }, false);
    expect((await app.inject({ method: 'POST', ...forged, ...from('10.1.0.3') })).statusCode).toBe(403);
  });

  it('limits sign-in attempts per address, even with the right password, without touching the general budget', async () => {
    const signIn = () =>
      app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: 'officer-user', password: 'officer-password-long' },
        ...from('10.1.0.4'),
      });
    for (let i = 0; i < DEFAULT_HTTP_RATE_LIMITS.signInsPerMin; i++) expect((await signIn()).statusCode).toBe(200);
    expectTooMany(await signIn(), /^too many requests/);
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: full.headers.officer, ...from('10.1.0.4') })).statusCode).toBe(200);
  });

  it('refuses an address every /api request after failedAuthMax wrong tokens, the right token included', async () => {
    const stations = (authorization: string | undefined, address: string) =>
      app.inject({ method: 'GET', url: '/api/stations', headers: authorization ? { authorization } : {}, ...from(address) });
    for (let i = 0; i < LIMITS.failedAuthMax; i++)
      expect((await stations(`Bearer guess-${i}-0123456789abcdef`, '10.1.0.5')).statusCode).toBe(401);
    expectTooMany(await stations(`Bearer ${FULL_APP_ADMIN_TOKEN}`, '10.1.0.5'), /too many failed sign-ins or tokens from this address/);
    // Another address with the right token is served; requests that carry no credential at all are no guess.
    expect((await stations(`Bearer ${FULL_APP_ADMIN_TOKEN}`, '10.1.0.6')).statusCode).toBe(200);
    for (let i = 0; i < LIMITS.failedAuthMax * 2; i++) expect((await stations(undefined, '10.1.0.7')).statusCode).toBe(401);
    expect((await stations(`Bearer ${FULL_APP_ADMIN_TOKEN}`, '10.1.0.7')).statusCode).toBe(200);
  });

  it('counts wrong passwords at sign-in as failed credentials too', async () => {
    const signIn = (username: string, password: string) =>
      app.inject({ method: 'POST', url: '/api/session', payload: { username, password }, ...from('10.1.0.8') });
    // Spraying: one wrong password each for different usernames, so no per-username lockout is reached.
    for (let i = 0; i < LIMITS.failedAuthMax; i++) expect((await signIn(`user-${i}`, 'password-guess-123')).statusCode).toBe(401);
    expectTooMany(await signIn('viewer-user', 'viewer-password-long'), /too many failed/);
  });

  it("does not throttle this host's own tools (loopback) in the general bucket, but still limits their sign-ins", async () => {
    for (let i = 0; i < LIMITS.requestsPerMin * 2; i++)
      expect((await app.inject({ method: 'GET', url: '/health', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    const signIn = () =>
      app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: 'admin-user', password: 'admin-password-long' },
        remoteAddress: '::1',
      });
    for (let i = 0; i < DEFAULT_HTTP_RATE_LIMITS.signInsPerMin; i++) expect((await signIn()).statusCode).toBe(200);
    expect((await signIn()).statusCode).toBe(429);
  });

  it('counts what it refused in /metrics', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics', ...from('10.1.0.9') })).body;
    for (const bucket of ['general', 'signin', 'failed_auth'])
      expect(text).toMatch(new RegExp(`frostwatch_http_rate_limited_total\\{bucket="${bucket}"\\} [1-9]`));
  });
});

describe('HTTP security headers, and the app behind a proxy', () => {
  let full: FullApp;
  let tiles: FastifyInstance;
  let proxied: FastifyInstance;

  beforeAll(async () => {
    full = await startFullApp({ clock });
    // The same parts with a tile server and the default limits, as `frostwatch up` with MAP_TILE_URL set.
    tiles = await buildApp({
      logger: full.logger,
      clock,
      stations: full.stations,
      activity: full.activity,
      metrics: new Registry(),
      adminToken: FULL_APP_ADMIN_TOKEN,
      readings: { query: () => Promise.resolve([]) },
      health: () => Promise.resolve({ status: 'ok', checks: {} }),
      tileUrl: TILES,
    });
    proxied = await buildApp({
      logger: full.logger,
      clock,
      stations: full.stations,
      activity: full.activity,
      metrics: new Registry(),
      adminToken: FULL_APP_ADMIN_TOKEN,
      readings: { query: () => Promise.resolve([]) },
      health: () => Promise.resolve({ status: 'ok', checks: {} }),
      trustedProxies: '10.9.0.1',
      rateLimits: { requestsPerMin: 5 },
    });
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before these were assigned.
    await (proxied as FastifyInstance | undefined)?.close();
    await (tiles as FastifyInstance | undefined)?.close();
    await (full as FullApp | undefined)?.close();
  });

  it('sends the dashboard a CSP of its own origin, data: images and no inline script', async () => {
    const response = await full.app.inject({ method: 'GET', url: '/' });
    const policy = csp(response);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('script-src-attr')).toEqual(["'none'"]);
    expect(policy.get('style-src')).toEqual(["'self'"]);
    expect(policy.get('img-src')).toEqual(["'self'", 'data:']);
    expect(policy.get('connect-src')).toEqual(["'self'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    // Over plain http on a LAN this would send every asset to an https:// that is not there.
    expect(policy.has('upgrade-insecure-requests')).toBe(false);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('lets the map tiles of MAP_TILE_URL in as images, with a {s} subdomain as a wildcard', async () => {
    const response = await tiles.inject({ method: 'GET', url: '/', ...from('10.2.0.1') });
    expect(csp(response).get('img-src')).toEqual(["'self'", 'data:', 'https://*.tile.openstreetmap.org']);
    expect(response.headers['x-ratelimit-limit']).toBe(String(DEFAULT_HTTP_RATE_LIMITS.requestsPerMin));
  });

  it('gives /docs (swagger-ui) its own CSP with inline styles, and the API the strict one', async () => {
    const docs = await full.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(csp(docs).get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp(docs).get('script-src')).toEqual(["'self'"]);
    const api = await full.app.inject({ method: 'GET', url: '/api/stations', headers: full.headers['admin-token'] });
    expect(csp(api).get('default-src')).toEqual(["'self'"]);
    expect(api.headers['x-content-type-options']).toBe('nosniff');
  });

  it('keeps error bodies as {error, message} with the headers on', async () => {
    const response = await full.app.inject({ method: 'GET', url: '/api/nothing-here', headers: full.headers['admin-token'] });
    expect(response.statusCode).toBe(404);
    expect(Object.keys(response.json<object>()).sort()).toEqual(['error', 'message']);
    expect(csp(response).get('default-src')).toEqual(["'self'"]);
  });

  it('counts the client behind a trusted proxy by X-Forwarded-For, and ignores the header from anyone else', async () => {
    const health = (remoteAddress: string, client: string) =>
      proxied.inject({ method: 'GET', url: '/health', remoteAddress, headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 5; i++) expect((await health('10.9.0.1', '203.0.113.7')).statusCode).toBe(200);
    expect((await health('10.9.0.1', '203.0.113.7')).statusCode).toBe(429);
    // Another client through the same proxy has its own budget.
    expect((await health('10.9.0.1', '203.0.113.8')).statusCode).toBe(200);
    // A direct client cannot escape its budget by inventing forwarded addresses.
    for (let i = 0; i < 5; i++) expect((await health('198.51.100.1', `203.0.113.${100 + i}`)).statusCode).toBe(200);
    expect((await health('198.51.100.1', '203.0.113.200')).statusCode).toBe(429);
  });
});
