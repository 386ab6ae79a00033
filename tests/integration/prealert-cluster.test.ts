import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, FarmerCreateSchema, OfficerCreateSchema } from '../../contracts/index.js';
import { ForecastService } from '../../server/forecast/service.js';
import { ForecastStore } from '../../server/forecast/store.js';
import { OutboxRepository, type OutboxRow } from '../../server/notify/outbox.js';
import type { Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { onlyListing } from '../../server/warnings/warnings.js';
import { type OpenMeteoServer, startOpenMeteoServer } from '../../testkit/open-meteo-server.js';
import { stationBody } from '../helpers/full-app.js';
import { openTestRegistry } from '../helpers/registry-db.js';

/**
 * Issue 18: the afternoon pre-alert on a cluster. Each worker fetches and decides for its own stations, each on its own
 * connection to the one registry (SQLite here, PostgreSQL in the vitest project `postgres`); a district's officers get
 * one summary of all of it — from whichever worker decides last — not one partial summary per worker. A worker that
 * never decides holds the summary back until 16:30 at most; a station taken over is decided by its new owner.
 */
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** 2026-12-20 00:00 in Lạc Dương (UTC+7). */
const DAY0 = Date.UTC(2026, 11, 19, 17, 0, 0);
const at = (day: number, hour: number, minute = 0): number => DAY0 + day * 24 * HOUR + hour * HOUR + minute * MINUTE;
let now = at(0, 14);
const clock: Clock = { now: () => now, speed: 1 };
const logger = pino({ level: 'silent' });

let dir: string;
let registry: Awaited<ReturnType<typeof openTestRegistry>>;
let forecast: OpenMeteoServer;
let outbox: OutboxRepository;
/** Which worker owns which station: changed by hand as a partition's move would. */
const owner = new Map<string, 'a' | 'b'>([
  ['ld-cl-01', 'a'],
  ['ld-cl-02', 'a'],
  ['ld-cl-03', 'b'],
]);
const workers: Record<'a' | 'b', ForecastService> = {} as Record<'a' | 'b', ForecastService>;

function worker(name: 'a' | 'b', db: Db): ForecastService {
  const stations = new StationRepository(db, clock);
  const rows = new OutboxRepository(db, clock);
  return new ForecastService({
    store: new ForecastStore(db),
    stations: onlyListing(stations, (id) => owner.get(id) === name),
    allStations: stations,
    people: new PeopleRepository(db, clock),
    baseUrl: forecast.url,
    enqueue: (insert) => rows.enqueue(insert),
    clock,
    logger,
    timeZone: 'Asia/Ho_Chi_Minh',
    messages: {},
    stopHint: 'officer',
    observedMin: () => Promise.resolve(null),
    frostAlertOpen: () => false,
    expirePreAlerts: () => 0,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-prealert-cluster-'));
  forecast = await startOpenMeteoServer();
  registry = await openTestRegistry(dir, logger);
  const stations = new StationRepository(registry.db, clock);
  await stations.create(stationBody('ld-cl-01', { name: 'Đạ Sar 01', commune: 'Đạ Sar', lat: 12.03, lon: 108.4 }));
  await stations.create(stationBody('ld-cl-02', { name: 'Đạ Sar 02', commune: 'Đạ Sar', lat: 12.05, lon: 108.42 }));
  await stations.create(stationBody('ld-cl-03', { name: 'Lát 01', commune: 'Lát', lat: 12.1, lon: 108.5 }));
  const people = new PeopleRepository(registry.db, clock);
  for (const [i, stationIds] of [['ld-cl-01'], ['ld-cl-02'], ['ld-cl-03'], ['ld-cl-03']].entries()) {
    const created = people.createFarmer(FarmerCreateSchema.parse({ name: `Nông hộ ${i + 1}`, phone: `+849120000${10 + i}`, stationIds }));
    if (!created.ok) throw new Error(created.message);
  }
  people.createOfficer(OfficerCreateSchema.parse({ name: 'Cán bộ', phone: '+84904555666' }));
  outbox = new OutboxRepository(registry.db, clock);
  // Each worker on its own connection, as separate processes are.
  workers.a = worker('a', registry.open());
  workers.b = worker('b', registry.open());
}, 120_000);

afterAll(async () => {
  await registry.close();
  await forecast.close();
  await rm(dir, { recursive: true, force: true });
});

const rowsOf = (day: number): OutboxRow[] => outbox.recent(1_000).filter((r) => r.createdAt >= at(day, 0) && r.createdAt < at(day + 1, 0));
const farmerPreAlerts = (day: number): OutboxRow[] => rowsOf(day).filter((r) => r.purpose === 'prealert');
const summaries = (day: number): OutboxRow[] =>
  rowsOf(day).filter((r) => r.recipientKind === 'officer' && r.dedupeKey.startsWith('prealert:'));
const unavailable = (day: number): OutboxRow[] => rowsOf(day).filter((r) => r.dedupeKey.startsWith('forecast-unavailable:'));

async function tick(name: 'a' | 'b', ms: number): Promise<void> {
  now = ms;
  await workers[name].tick();
}

describe('the afternoon pre-alert on a cluster of workers', () => {
  it("sends the district's officers one summary of every worker's pre-alerts, once the last worker has decided", async () => {
    await tick('a', at(0, 15));
    // Worker a's farmers are told; the officers wait for the district's third station.
    expect(
      farmerPreAlerts(0)
        .map((r) => r.phone)
        .sort(),
    ).toEqual(['+84912000010', '+84912000011']);
    expect(summaries(0)).toEqual([]);
    await tick('b', at(0, 15, 1));
    expect(farmerPreAlerts(0)).toHaveLength(4);
    const [summary, ...more] = summaries(0);
    expect(more).toEqual([]);
    expect(summary?.body).toMatch(/^frostwatch: báo trước sương muối đã gửi 4 nông dân\. /);
    expect(summary?.body).toContain('Đạ Sar');
    expect(summary?.body).toContain('Lát');
    // Later looks by either worker add nothing.
    await tick('a', at(0, 15, 30));
    await tick('b', at(0, 16, 40));
    expect(farmerPreAlerts(0)).toHaveLength(4);
    expect(summaries(0)).toHaveLength(1);
    expect(unavailable(0)).toEqual([]);
  });

  it('with a worker that never decides, the summary waits until 16:30 and names its stations as without a forecast', async () => {
    await tick('a', at(1, 15));
    await tick('a', at(1, 16, 29));
    expect(summaries(1)).toEqual([]);
    await tick('a', at(1, 16, 31));
    const [summary, ...more] = summaries(1);
    expect(more).toEqual([]);
    // Tomorrow night for the two Đạ Sar farms (tonight was pre-alerted yesterday, a day ahead).
    expect(summary?.body).toMatch(/^frostwatch: báo trước sương muối đã gửi 2 nông dân\. /);
    expect(summary?.body).not.toContain('Lát');
    expect(unavailable(1).map((r) => r.body)).toEqual([expect.stringMatching(/1 trạm/)]);
    // The late worker, back at 16:45, decides its station and tells its farmers; the summary is not sent again.
    await tick('b', at(1, 16, 45));
    expect(farmerPreAlerts(1)).toHaveLength(4);
    expect(summaries(1)).toHaveLength(1);
  });

  it('a station taken over from a worker that died before deciding is decided by its new owner, and completes the summary', async () => {
    await tick('a', at(2, 15));
    expect(summaries(2)).toEqual([]);
    owner.set('ld-cl-03', 'a'); // b died; its partition moved to a
    await tick('a', at(2, 15, 20));
    expect(farmerPreAlerts(2)).toHaveLength(4);
    const [summary, ...more] = summaries(2);
    expect(more).toEqual([]);
    expect(summary?.body).toMatch(/^frostwatch: báo trước sương muối đã gửi 4 nông dân\. /);
    expect(unavailable(2)).toEqual([]);
  });
});
