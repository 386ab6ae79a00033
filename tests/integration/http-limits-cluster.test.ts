import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { DEFAULT_HTTP_RATE_LIMITS } from '../../server/http-limits.js';
import { type TestPostgres, startPostgres } from '../../testkit/postgres.js';
import { FULL_APP_ADMIN_TOKEN, type FullApp, startFullApp } from '../helpers/full-app.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';

/**
 * Two HTTP servers of a cluster on one PostgreSQL registry (issue 18): an address's requests are counted together
 * (server/http-limits-pg.ts), so spreading them over the servers behind a load balancer gains it nothing; sessions are
 * shared too — signed in on one, known on the other.
 */
const clock: Clock = { now: () => Date.UTC(2026, 0, 15, 10, 0, 0), speed: 1 };
const LIMITS = { requestsPerMin: 30, failedAuthMax: 6 };
const from = (address: string) => ({ remoteAddress: address });

let postgres: TestPostgres;
let influx: TestInfluxd;
let a: FullApp;
let b: FullApp;

beforeAll(async () => {
  [postgres, influx] = await Promise.all([
    startPostgres({ database: 'frostwatch_limits' }),
    startTestInfluxd({ database: 'frostwatch_limits' }),
  ]);
  a = await startFullApp({ clock, rateLimits: LIMITS, databaseUrl: postgres.url, influx });
  b = await startFullApp({ clock, rateLimits: LIMITS, databaseUrl: postgres.url, influx });
}, 120_000);

afterAll(async () => {
  await (a as FullApp | undefined)?.close();
  await (b as FullApp | undefined)?.close();
  await Promise.all([(influx as TestInfluxd | undefined)?.stop(), (postgres as TestPostgres | undefined)?.stop()]);
});

describe('HTTP rate limits across a cluster', () => {
  it('counts one address across both servers: half the budget on each, then 429 on either', async () => {
    const health = (app: FullApp) => app.app.inject({ method: 'GET', url: '/health', ...from('10.2.0.1') });
    for (let i = 0; i < LIMITS.requestsPerMin / 2; i++) {
      expect((await health(a)).statusCode).toBe(200);
      expect((await health(b)).statusCode).toBe(200);
    }
    expect((await health(a)).statusCode).toBe(429);
    expect((await health(b)).statusCode).toBe(429);
    // Another address has its own budget.
    expect((await a.app.inject({ method: 'GET', url: '/health', ...from('10.2.0.2') })).statusCode).toBe(200);
  });

  it('counts sign-ins and failed tokens across both servers', async () => {
    const signIn = (app: FullApp) =>
      app.app.inject({
        method: 'POST',
        url: '/api/session',
        payload: { username: 'officer-user', password: 'officer-password-long' },
        ...from('10.2.0.3'),
      });
    for (let i = 0; i < DEFAULT_HTTP_RATE_LIMITS.signInsPerMin / 2; i++) {
      expect((await signIn(a)).statusCode).toBe(200);
      expect((await signIn(b)).statusCode).toBe(200);
    }
    expect((await signIn(b)).statusCode).toBe(429);

    const stations = (app: FullApp, token: string) =>
      app.app.inject({ method: 'GET', url: '/api/stations', headers: { authorization: `Bearer ${token}` }, ...from('10.2.0.4') });
    for (let i = 0; i < LIMITS.failedAuthMax / 2; i++) {
      expect((await stations(a, `guess-a-${i}-0123456789abcdef`)).statusCode).toBe(401);
      expect((await stations(b, `guess-b-${i}-0123456789abcdef`)).statusCode).toBe(401);
    }
    expect((await stations(a, FULL_APP_ADMIN_TOKEN)).statusCode).toBe(429);
  });

  it('shares sessions: a cookie from one server is signed in on the other', async () => {
    const me = await b.app.inject({ method: 'GET', url: '/api/me', headers: a.headers.officer, ...from('10.2.0.5') });
    expect(me.statusCode).toBe(200);
    expect(me.json<{ role: string }>().role).toBe('officer');
  });
});
