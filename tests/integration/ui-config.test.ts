import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIME_ZONE, UiConfigSchema, type Clock } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';

/** `/api/ui-config` tells the dashboard the farms' time zone (TZ_NAME), so no page hard-codes one. */
const ADMIN = 'ui-config-admin-token-0123456789';
const clock: Clock = { now: () => Date.parse('2025-01-15T12:00:00Z'), speed: 1 };
let dir: string;
let db: Db;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-ui-config-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), pino({ level: 'silent' }));
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

async function uiConfig(extra: { timeZone?: string; tileUrl?: string | null }): Promise<unknown> {
  const app = await buildApp({
    logger: pino({ level: 'silent' }),
    clock,
    stations: new StationRepository(db, clock),
    readings: { query: () => Promise.reject(new Error('not used')) },
    activity: { get: () => ({ lastSeenAt: null, online: null }) },
    health: () => Promise.resolve({ status: 'ok', checks: {} }),
    metrics: new Registry(),
    adminToken: ADMIN,
    ...extra,
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/api/ui-config', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.statusCode).toBe(200);
    return res.json();
  } finally {
    await app.close();
  }
}

describe('GET /api/ui-config', () => {
  it.each([
    {
      name: 'the configured zone',
      extra: { timeZone: 'Europe/Berlin', tileUrl: 'https://tiles.example/{z}/{x}/{y}.png' },
      zone: 'Europe/Berlin',
    },
    { name: "Lạc Dương's zone when none is configured", extra: {}, zone: DEFAULT_TIME_ZONE },
  ])('answers $name, in the contract the dashboard checks', async ({ extra, zone }) => {
    const body = UiConfigSchema.parse(await uiConfig(extra));
    expect(body.timeZone).toBe(zone);
    expect(body.tileUrl).toBe(extra.tileUrl ?? null);
    // The server's clock, so a simulated night's dates reach the dashboard (issue 16: "last night" on the survey page).
    expect(body.clock).toEqual({ nowMs: Date.parse('2025-01-15T12:00:00Z'), speed: 1 });
  });
});
