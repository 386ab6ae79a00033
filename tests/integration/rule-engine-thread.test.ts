/**
 * The rule engine on its worker thread (RULE_ENGINE=thread, what `frostwatch up` and `frostwatch server` run) against
 * the same engine on the ingest thread: the same night's readings give the same alerts and the same messages. The
 * main thread's views, alert events and health follow the worker, and the states it saves at close are there after a
 * restart on the same DATA_DIR. Real SQLite files, real InfluxDB, the server as assembleServer builds it (no broker:
 * the test hands readings to the engine as the ingest does once they are durable).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarmerCreateSchema, type Reading, StationCreateSchema, UpEnvSchema, acceleratedClock, loadEnv } from '../../contracts/index.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';

const MIN = 60_000;
/** 23:00 in Lạc Dương (UTC+7), mid-January: the clock of both servers runs from here, at real speed. */
const NIGHT = Date.UTC(2026, 0, 14, 16, 0);
const STATIONS = ['ld-thread-cold', 'ld-thread-mild'];

/** Six hours of minute readings up to the clock's start: the cold station falls to −2.6 °C, the mild one to 5.3 °C. */
function night(stationId: string): Reading[] {
  const readings: Reading[] = [];
  for (let t = NIGHT - 6 * 60 * MIN; t <= NIGHT; t += MIN) {
    const h = (t - (NIGHT - 6 * 60 * MIN)) / (60 * MIN);
    const airTempC = stationId === 'ld-thread-cold' ? 10 - 2.1 * h : 11 - 0.95 * h;
    readings.push({ ts: t, airTempC: Math.round(airTempC * 100) / 100, rhPct: 92, windMs: 0.3, batteryV: 3.9 });
  }
  return readings;
}

interface Run {
  server: AssembledServer;
  dir: string;
}

let influx: TestInfluxd;
const runs: Run[] = [];

async function start(engine: 'thread' | 'inline', dir?: string): Promise<Run> {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), `frostwatch-engine-${engine}-`)));
  const server = await assembleServer({
    settings: loadEnv(UpEnvSchema, {
      DATA_DIR: dataDir,
      HTTP_PORT: '0',
      INFLUX_BUCKET: influx.database,
      PUBLIC_URL: 'http://127.0.0.1:9',
      RULE_ENGINE: engine,
    }),
    influxUrl: influx.url,
    logger: pino({ level: 'silent' }),
    clock: acceleratedClock(NIGHT, 1),
  });
  const run = { server, dir: dataDir };
  runs.push(run);
  if (dir === undefined) {
    for (const id of STATIONS)
      await server.stations.create(
        StationCreateSchema.parse({ id, name: id, commune: 'Lát', lat: 12.03, lon: 108.4, elevationM: 1_520, crop: 'young' }),
      );
    server.warnings.people.createFarmer(FarmerCreateSchema.parse({ name: 'Nguyễn Văn Hà', phone: '0912345678', stationIds: STATIONS }));
  }
  return run;
}

/** Every reading handed over one at a time, as the ingest does; then wait until the engine has evaluated them all. */
async function feed(run: Run): Promise<void> {
  const { engine } = run.server.warnings;
  for (const id of STATIONS) for (const reading of night(id)) engine.onReadings(id, [reading]);
  for (const id of STATIONS) await engine.inspect(id); // answered after everything handed over before it
}

/** What farmers were sent and what the alert history says, without ids and the milliseconds of when it was recorded. */
function outcome(run: Run): { messages: unknown[]; alerts: unknown[] } {
  const messages = run.server.db.prepare('SELECT recipient_kind, channel, phone, language, body FROM outbox ORDER BY id').all();
  const alerts = run.server.warnings.alerts
    .list({ limit: 100 })
    .map((a) => ({ stationId: a.stationId, kind: a.kind, level: a.level, status: a.status, openedAt: a.openedAt }));
  return { messages, alerts };
}

beforeAll(async () => {
  influx = await startTestInfluxd({ database: 'frostwatch_engine_thread' });
}, 120_000);

afterAll(async () => {
  for (const run of runs) {
    await run.server.close();
    await rm(run.dir, { recursive: true, force: true });
  }
  await (influx as TestInfluxd | undefined)?.stop();
});

describe('the rule engine on a worker thread', () => {
  let threaded: Run;
  const alertEvents: number[] = [];
  const viewEvents: string[] = [];

  it('decides what the in-process engine decides, message for message', async () => {
    const inline = await start('inline');
    threaded = await start('thread');
    threaded.server.warnings.alerts.onChange((id) => alertEvents.push(id));
    threaded.server.warnings.engine.onStationChanged((id) => viewEvents.push(id));
    await feed(inline);
    await feed(threaded);

    const expected = outcome(inline);
    // The night is a frost night for the cold station: a level was reached and farmers were written to.
    expect(expected.alerts).toEqual(expect.arrayContaining([expect.objectContaining({ stationId: 'ld-thread-cold', kind: 'frost' })]));
    expect(expected.messages.length).toBeGreaterThan(0);
    expect(outcome(threaded)).toEqual(expected);
    expect((await threaded.server.warnings.engine.inspect('ld-thread-cold'))?.level).toBe(
      (await inline.server.warnings.engine.inspect('ld-thread-cold'))?.level,
    );
  });

  it('keeps the main thread’s view, alert events and health in step with the worker', async () => {
    const { engine, alerts } = threaded.server.warnings;
    const state = await engine.inspect('ld-thread-cold');
    const view = engine.viewOf('ld-thread-cold');
    expect(view).toMatchObject({ level: state?.level, notifiedLevel: state?.notifiedLevel, lastInputs: state?.lastInputs });
    expect(view?.newest?.ts).toBe(NIGHT);
    expect(viewEvents).toEqual(expect.arrayContaining(STATIONS));
    // Every alert the worker opened was announced on this thread, for the dashboard's event stream.
    await eventually(() => {
      for (const alert of alerts.list({ limit: 100 })) expect(alertEvents).toContain(alert.id);
    });
    const health = await threaded.server.health();
    expect(health.checks['ruleEngine']).toEqual({ ok: true, detail: 'worker thread, 0 readings queued' });
    const res = await threaded.server.app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toMatchObject({ checks: { ruleEngine: { ok: true } } });
  });

  it('saves every state at close, and a restart on the same DATA_DIR resumes from it', async () => {
    const before = await threaded.server.warnings.engine.inspect('ld-thread-mild');
    expect(before?.window.length).toBeGreaterThan(0);
    await threaded.server.close();
    runs.splice(runs.indexOf(threaded), 1);
    const again = await start('thread', threaded.dir);
    // A tick (or a reading) brings a station back from SQLite; the one-minute tick is too slow for a test: a reading.
    const next: Reading = { ts: NIGHT + MIN, airTempC: 5.2, rhPct: 92, windMs: 0.3, batteryV: 3.9 };
    again.server.warnings.engine.onReadings('ld-thread-mild', [next]);
    const after = await again.server.warnings.engine.inspect('ld-thread-mild');
    // The window resumed where it was saved: the saved samples, the new one after them (the oldest may have aged out).
    const saved = before?.window.map((s) => s.ts) ?? [];
    const resumed = after?.window.map((s) => s.ts) ?? [];
    expect(resumed.length).toBeGreaterThanOrEqual(saved.length);
    expect(resumed).toEqual([...saved.slice(saved.length - resumed.length + 1), next.ts]);
    expect(after?.level).toBe(before?.level);
  });
});
