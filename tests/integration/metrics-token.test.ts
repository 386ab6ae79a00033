import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { textLogger } from '../helpers/mqtt.js';

/**
 * METRICS_TOKEN (issue 17): with it, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`; without it, it
 * is open as before. The HTTP app over a real SQLite registry, driven with `inject`; the token reaching it from the
 * environment through assembleServer is tested on a running `frostwatch up` in prometheus-rules.test.ts.
 */

const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
const ADMIN = 'admin-token-for-metrics-test-0123';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const { logger, lines } = textLogger();

let dir: string;
let db: Db;
let guarded: FastifyInstance;
let open: FastifyInstance;

async function makeApp(metricsToken: string | null): Promise<FastifyInstance> {
  const metrics = new Registry();
  new Counter({ name: 'frostwatch_test_scrapes_total', help: 'a counter for the test', registers: [metrics] }).inc(2);
  return buildApp({
    logger,
    clock,
    stations: new StationRepository(db, clock),
    readings: { query: () => Promise.resolve([]) },
    activity: { get: () => ({ lastSeenAt: null, online: null }) },
    health: () => Promise.resolve({ status: 'ok', checks: { sqlite: { ok: true } } }),
    metrics,
    metricsToken,
    adminToken: ADMIN,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-metrics-token-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), logger);
  guarded = await makeApp(METRICS_TOKEN);
  open = await makeApp(null);
});

afterAll(async () => {
  await guarded.close();
  await open.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
  // Neither the right token nor a wrong one is ever written to the log.
  const log = lines.join('');
  expect(log).not.toContain(METRICS_TOKEN);
  expect(log).not.toContain('wrong-token');
});

const scrape = (app: FastifyInstance, authorization?: string) =>
  app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });

describe('/metrics with METRICS_TOKEN set', () => {
  it('answers 401 with WWW-Authenticate: Bearer and a JSON error, and no metrics, without a token', async () => {
    const res = await scrape(guarded);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toEqual({ error: 'unauthorized', message: '/metrics needs Authorization: Bearer <METRICS_TOKEN>' });
    expect(res.body).not.toContain('frostwatch_test_scrapes_total');
  });

  it.each([
    ['a wrong token of the same length', `Bearer ${'wrong-token-'.padEnd(METRICS_TOKEN.length, 'x')}`],
    ['a wrong, shorter token', 'Bearer wrong-token'],
    ['the token with one character more', `Bearer ${METRICS_TOKEN}x`],
    ['the admin token', `Bearer ${ADMIN}`],
    ['the token under another scheme', `Basic ${METRICS_TOKEN}`],
    ['an empty bearer', 'Bearer '],
  ])('answers 401 to %s', async (_name, authorization) => {
    const res = await scrape(guarded, authorization);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json()).toEqual({ error: 'unauthorized', message: 'wrong metrics token (or not a Bearer token)' });
    expect(res.body).not.toContain('frostwatch_test_scrapes_total');
  });

  it('answers 200 with the Prometheus text to the right token (any case of "Bearer")', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const res = await scrape(guarded, `${scheme} ${METRICS_TOKEN}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.body).toMatch(/^frostwatch_test_scrapes_total 2$/m);
    }
  });

  it('leaves /health and /ready open', async () => {
    expect((await guarded.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await guarded.inject({ method: 'GET', url: '/ready' })).statusCode).not.toBe(401);
  });
});

describe('/metrics with METRICS_TOKEN unset', () => {
  it('is open, with or without an Authorization header', async () => {
    for (const authorization of [undefined, 'Bearer anything-at-all-0123456789']) {
      const res = await scrape(open, authorization);
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^frostwatch_test_scrapes_total 2$/m);
    }
  });
});
