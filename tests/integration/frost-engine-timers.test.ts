import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { AlertStore } from '../../server/warnings/alert-store.js';
import { FrostEngine } from '../../server/warnings/frost-engine.js';
import { OutboxPlanner } from '../../server/warnings/planner.js';
import { StationSettingsStore } from '../../server/warnings/station-settings.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { registerStation } from '../helpers/register-station.js';

const logger = pino({ level: 'silent' });
/** Noon in Lạc Dương (UTC+7) on a mild day: a reading decides nothing, so only the timers save state. */
const NOON = Date.UTC(2026, 0, 15, 5, 0, 0);
const STATION = 'ld-lat-01';

let dir: string;
let db: Db;
let engine: FrostEngine | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-engine-timers-'));
  db = openDatabase(join(dir, 'frostwatch.db'), logger);
});

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  db.close();
  await rm(dir, { recursive: true, force: true });
});

/** The engine's real collaborators on a real SQLite file, one registered station, and timers the test fires. */
async function startEngine(speed: number): Promise<{ engine: FrostEngine; timers: ManualTimers; ticks: string[]; changes: string[] }> {
  const clock: Clock = { now: () => NOON, speed };
  const stations = new StationRepository(db, clock);
  await registerStation(stations, STATION);
  const outbox = new OutboxRepository(db, clock);
  const timers = new ManualTimers();
  const started = new FrostEngine({
    db,
    stations,
    settings: new StationSettingsStore(db),
    alerts: new AlertStore(db),
    planner: new OutboxPlanner(new PeopleRepository(db, clock), outbox, { timeZone: 'Asia/Ho_Chi_Minh' }),
    clock,
    timers,
    logger,
    timeZone: 'Asia/Ho_Chi_Minh',
  });
  engine = started;
  // The timer calls the engine's tick(); each call is recorded. Listeners hear only of evaluations that changed a state.
  const ticks: string[] = [];
  const tick = started.tick.bind(started);
  started.tick = () => {
    ticks.push(STATION);
    tick();
  };
  const changes: string[] = [];
  started.onStationChanged((stationId) => changes.push(stationId));
  started.start();
  return { engine: started, timers, ticks, changes };
}

function savedAt(stationId: string): number | undefined {
  return db.prepare<[string], { updated_at: number }>('SELECT updated_at FROM station_rule_state WHERE station_id = ?').get(stationId)
    ?.updated_at;
}

describe('rule engine on injected timers', () => {
  it('ticks once a simulated minute of real time', async () => {
    const { timers, ticks, changes } = await startEngine(1);
    expect(timers.pending()).toEqual([
      { inMs: 1_000, everyMs: 1_000 }, // the state flush
      { inMs: 60_000, everyMs: 60_000 }, // the tick
    ]);
    await timers.advance(59_999);
    expect(ticks).toEqual([]);
    await timers.advance(1);
    expect(ticks).toEqual([STATION]);
    await timers.advance(60_000);
    expect(ticks).toEqual([STATION, STATION]);
    // A station with no readings: the ticks changed nothing, so nothing was announced or saved.
    expect(changes).toEqual([]);
    expect(savedAt(STATION)).toBeUndefined();
  });

  it('ticks at most every 250 ms of real time when the clock runs fast', async () => {
    // 600× (a demo night): a simulated minute is 100 ms, under the 250 ms floor.
    const { timers, ticks } = await startEngine(600);
    expect(timers.pending()).toContainEqual({ inMs: 250, everyMs: 250 });
    await timers.advance(249);
    expect(ticks).toEqual([]);
    await timers.advance(751);
    expect(ticks).toEqual([STATION, STATION, STATION, STATION]);
  });

  it('saves a state that changed without a decision when the flush timer fires, not before', async () => {
    const { engine: started, timers } = await startEngine(1);
    started.onReadings(STATION, [{ ts: NOON - 30_000, airTempC: 21.5, rhPct: 60 }]);
    expect(started.stateOf(STATION)).not.toBeNull();
    expect(savedAt(STATION)).toBeUndefined(); // write-behind: nothing committed for a reading that decides nothing

    await timers.advance(999);
    expect(savedAt(STATION)).toBeUndefined();
    await timers.advance(1);
    expect(savedAt(STATION)).toBe(NOON);
  });

  it('close() stops the tick and the flush, and saves what is still unsaved', async () => {
    const { engine: started, timers, ticks } = await startEngine(1);
    started.onReadings(STATION, [{ ts: NOON - 30_000, airTempC: 21.5 }]);
    await started.close();
    expect(timers.pending()).toEqual([]);
    expect(savedAt(STATION)).toBe(NOON);

    ticks.length = 0;
    await timers.advance(120_000);
    expect(ticks).toEqual([]);
  });
});
