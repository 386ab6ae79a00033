import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock, Reading } from '../../contracts/index.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import type { Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { AlertStore } from '../../server/warnings/alert-store.js';
import { FrostEngine } from '../../server/warnings/frost-engine.js';
import { OutboxPlanner } from '../../server/warnings/planner.js';
import { StationSettingsStore } from '../../server/warnings/station-settings.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { registerStation } from '../helpers/register-station.js';
import { openTestRegistry } from '../helpers/registry-db.js';

/**
 * Two engines deciding for one station — what a cluster's lease prevents, and what the guard on the saved state
 * (migration 11, station_rule_state.reading_at) holds against anyway: a state that has not seen the newest reading
 * never overwrites one that has, and decisions made from it roll back. Runs on SQLite and on PostgreSQL.
 */
const logger = pino({ level: 'silent' });
const NOON = Date.UTC(2026, 0, 15, 5, 0, 0);
const STATION = 'ld-guard-01';
const MIN = 60_000;

let dir: string;
let registry: Awaited<ReturnType<typeof openTestRegistry>>;
const engines: FrostEngine[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-guard-'));
  registry = await openTestRegistry(dir, logger);
  await registerStation(new StationRepository(registry.db, clockAt(NOON)), STATION);
});

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  await registry.close();
  await rm(dir, { recursive: true, force: true });
});

function clockAt(ms: number): Clock {
  return { now: () => ms, speed: 1 };
}

/** An engine on a connection of its own, as another process would have. */
function engineOn(db: Db): FrostEngine {
  const clock = clockAt(NOON + 30 * MIN);
  const engine = new FrostEngine({
    db,
    stations: new StationRepository(db, clock),
    settings: new StationSettingsStore(db),
    alerts: new AlertStore(db),
    planner: new OutboxPlanner(new PeopleRepository(db, clock), new OutboxRepository(db, clock), { timeZone: 'Asia/Ho_Chi_Minh' }),
    clock,
    timers: new ManualTimers(),
    logger,
    timeZone: 'Asia/Ho_Chi_Minh',
  });
  engines.push(engine);
  return engine;
}

const reading = (minute: number, batteryV = 3.9): Reading => ({ ts: NOON + minute * MIN, airTempC: 20, rhPct: 60, batteryV });

function saved(db: Db): { reading_at: number | null } | undefined {
  return db.prepare<[string], { reading_at: number | null }>('SELECT reading_at FROM station_rule_state WHERE station_id = ?').get(STATION);
}

const lowBatteryAlerts = (db: Db): number =>
  db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM alerts WHERE station_id = ? AND kind = 'low_battery'`).get(STATION)?.n ??
  -1;

describe('the saved rule state only moves forward', () => {
  it('refuses a save from an engine that has not seen the newest reading, and that engine reloads', () => {
    const a = engineOn(registry.open());
    const b = engineOn(registry.open());
    b.onReadings(STATION, [reading(1)]); // b takes the station on at minute 1 …
    a.onReadings(STATION, [reading(1), reading(2), reading(3)]); // … a, elsewhere, goes on to minute 3
    a.flush();
    expect(saved(registry.db)?.reading_at).toBe(NOON + 3 * MIN);

    b.flush(); // b's older view
    expect(saved(registry.db)?.reading_at).toBe(NOON + 3 * MIN);
    // b let go of its view: the next evaluation starts from what a saved.
    b.onReadings(STATION, [reading(4)]);
    expect(b.stateOf(STATION)?.newestTs).toBe(NOON + 4 * MIN);
    expect(b.stateOf(STATION)?.window.length).toBe(4);
  });

  it('rolls back the decisions of an older view, and decides from the newer state', () => {
    const a = engineOn(registry.open());
    const b = engineOn(registry.open());
    b.onReadings(STATION, [reading(1)]);
    a.onReadings(STATION, [reading(1), reading(2), reading(3)]);
    a.flush();

    // b, still at minute 1, is handed minute 2 again (a redelivery) with the battery low: low_battery would open, but
    // its view ends at minute 2 while the saved state has seen minute 3.
    b.onReadings(STATION, [reading(2, 3.2)]);
    expect(lowBatteryAlerts(registry.db)).toBe(0);
    expect(saved(registry.db)?.reading_at).toBe(NOON + 3 * MIN);

    // b reloaded a's state: the next low reading decides, once, and a redelivery of it decides nothing more.
    b.onReadings(STATION, [reading(4, 3.2)]);
    expect(lowBatteryAlerts(registry.db)).toBe(1);
    expect(saved(registry.db)?.reading_at).toBe(NOON + 4 * MIN);
    b.onReadings(STATION, [reading(4, 3.2)]);
    expect(lowBatteryAlerts(registry.db)).toBe(1);
  });
});
