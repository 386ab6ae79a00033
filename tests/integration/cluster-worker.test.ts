import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading, StationId } from '../../contracts/index.js';
import { JetStreamReadingsSink, ensureReadingsStream, stationPartition } from '../../server/cluster/readings-log.js';
import { openPostgres, type PgDb } from '../../server/registry/pg/pg-db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { type NatsCluster, startNatsCluster } from '../../testkit/nats-cluster.js';
import { type TestPostgres, startPostgres } from '../../testkit/postgres.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { MEMBER_CLASS } from '../../server/cluster/leases.js';
import { clusterEnv, leaseOwners, until } from '../helpers/cluster.js';
import { registerStation } from '../helpers/register-station.js';
import { type FrostwatchProcess, runFrostwatch, waitForHttp } from '../helpers/system.js';
import { findFreePort } from '../../server/influx/free-port.js';
import { connectStation } from '../helpers/mqtt.js';
import { configTopic } from '../../contracts/index.js';

/**
 * `frostwatch worker` as real processes (issue 18) against a 3-node NATS JetStream cluster, PostgreSQL and InfluxDB:
 * the partitions are divided among the workers, every reading appended to the log is stored once, every decision is
 * made once, and when a worker is SIGKILLed its partitions move to the other within seconds.
 */
const logger = pino({ level: 'silent' });
const PARTITIONS = 6;
const STATIONS = 24;
const MIN = 60_000;

let nats: NatsCluster;
let postgres: TestPostgres;
let influx: TestInfluxd;
let dataDir: string;
let db: PgDb;
let nc: NatsConnection;
let sink: JetStreamReadingsSink;
const workers: FrostwatchProcess[] = [];
const ids: StationId[] = Array.from({ length: STATIONS }, (_, i) => `cw-${String(i).padStart(2, '0')}` as StationId);

beforeAll(async () => {
  [nats, postgres, influx] = await Promise.all([
    startNatsCluster({ nodes: 3, partitions: PARTITIONS }),
    startPostgres({ database: 'frostwatch_cluster' }),
    startTestInfluxd({ database: 'frostwatch_cluster' }),
  ]);
  dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-cluster-worker-'));
  db = openPostgres(postgres.url, logger, undefined, undefined, { keyDir: dataDir });
  const stations = new StationRepository(db, { now: () => Date.now(), speed: 1 });
  for (const id of ids) await registerStation(stations, id);
  nc = await connect({ servers: nats.urls });
  await ensureReadingsStream(nc, { partitions: PARTITIONS, replicas: 3 });
  sink = new JetStreamReadingsSink(nc);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
  // Each may be missing when beforeAll failed part-way.
  await (nc as NatsConnection | undefined)?.drain().catch(() => undefined);
  (db as PgDb | undefined)?.close();
  await Promise.all([
    (nats as NatsCluster | undefined)?.stop(),
    (postgres as TestPostgres | undefined)?.stop(),
    (influx as TestInfluxd | undefined)?.stop(),
  ]);
  if ((dataDir as string | undefined) !== undefined) await rm(dataDir, { recursive: true, force: true });
});

function startWorker(extra: Record<string, string> = {}): FrostwatchProcess {
  const worker = runFrostwatch(['worker'], {
    ...clusterEnv({ dataDir, postgres, nats, partitions: PARTITIONS, influx }),
    FORECAST_URL: 'off',
    LOG_LEVEL: 'info',
    ...extra,
  });
  workers.push(worker);
  return worker;
}

/** A cluster HTTP server (`frostwatch server` on DATABASE_URL, no broker), serving once this resolves. */
async function startClusterServer(extra: Record<string, string>): Promise<{ server: FrostwatchProcess; base: string; token: string }> {
  const port = await findFreePort();
  const token = 'cluster-admin-token-0123456789';
  const server = runFrostwatch(['server'], {
    DATA_DIR: dataDir,
    DATABASE_URL: postgres.url,
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.database,
    HTTP_PORT: String(port),
    ADMIN_TOKEN: token,
    FORECAST_URL: 'off',
    ...extra,
  });
  workers.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(base, server);
  return { server, base, token };
}

const owners = (): ReturnType<typeof leaseOwners> => leaseOwners(db);

async function storedPerStation(): Promise<Map<string, number>> {
  const series = await influx.conn.query(`SELECT COUNT("airTempC") FROM "readings" GROUP BY "station"`);
  return new Map(series.map((s) => [s.tags?.['station'] ?? '', Number(s.values[0]?.[1] ?? 0)]));
}

const lowBatteryAlerts = (): Map<string, number> =>
  new Map(
    db
      .query<{ station_id: string; n: number }>(
        `SELECT station_id, COUNT(*) AS n FROM alerts WHERE kind = 'low_battery' GROUP BY station_id`,
      )
      .map((row) => [row.station_id, row.n]),
  );

/** Minute `m` of every station, acknowledged by JetStream when this resolves; the battery falls at minute `lowFrom`. */
async function publishMinute(t0: number, m: number, lowFrom: number): Promise<void> {
  await Promise.all(
    ids.map((id) => {
      const reading: Reading = { ts: t0 + m * MIN, airTempC: 18 - m / 10, rhPct: 70, batteryV: m >= lowFrom ? 3.2 : 3.9 };
      return sink.acceptReadings(id, [reading]);
    }),
  );
}

describe('frostwatch worker', () => {
  it('divides the partitions, stores every reading once, decides once, and takes over a dead worker within seconds', async () => {
    const a = startWorker();
    const b = startWorker();
    // Both members, every partition held, and held by both: the second to join takes its share on its next balance.
    const divided = await until(
      'two workers holding every partition between them',
      owners,
      (o) => o.members === 2 && o.byPartition.size === PARTITIONS && new Set(o.byPartition.values()).size === 2,
    );
    const pids = new Set(divided.byPartition.values());
    expect(pids.size, 'both workers hold partitions').toBe(2);

    // Twenty minutes of readings before the kill, the battery low from minute 15; then twenty more.
    const t0 = Date.now() - 60 * MIN;
    for (let m = 0; m < 20; m++) await publishMinute(t0, m, 15);
    await until('the first twenty minutes stored', storedPerStation, (s) => ids.every((id) => s.get(id) === 20)).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- worker a\n${a.output().slice(-3_000)}\n--- worker b\n${b.output().slice(-3_000)}`);
    });

    const killedAt = Date.now();
    await a.kill('SIGKILL');
    const after = await until(
      'one worker holding every partition',
      owners,
      (o) => o.members === 1 && o.byPartition.size === PARTITIONS,
      10_000,
    );
    const movedInMs = Date.now() - killedAt;
    expect(movedInMs, 'ownership moved within 10 s').toBeLessThan(10_000);
    expect(new Set(after.byPartition.values()).size).toBe(1);

    for (let m = 20; m < 40; m++) await publishMinute(t0, m, 15);
    const stored = await until('all forty minutes stored', storedPerStation, (s) => ids.every((id) => s.get(id) === 40));
    expect([...stored.values()].reduce((x, y) => x + y, 0)).toBe(STATIONS * 40);

    // Every station's low battery decided once, whichever worker saw it, and none twice across the takeover.
    const alerts = await until('a low_battery alert for every station', lowBatteryAlerts, (m) => ids.every((id) => m.get(id) === 1));
    expect([...alerts.values()].every((n) => n === 1)).toBe(true);
    // Each station's state was saved by its partition's owner, up to its last reading.
    const saved = db.query<{ station_id: string; reading_at: number }>('SELECT station_id, reading_at FROM station_rule_state');
    await until(
      'every state saved up to minute 39',
      () => db.query<{ n: number }>('SELECT COUNT(*) AS n FROM station_rule_state WHERE reading_at = $1', [t0 + 39 * MIN])[0]?.n ?? 0,
      (n) => n === STATIONS,
    );
    expect(saved.length).toBe(STATIONS);
    expect(new Set(ids.map((id) => stationPartition(id, PARTITIONS))).size).toBeGreaterThan(1);
    expect(b.output()).toContain('partitions held');
  });

  it('ends a worker whose PostgreSQL session is cut, and another takes its partitions', async () => {
    const survivor = workers.find((worker) => worker.proc.exitCode === null && worker.proc.signalCode === null);
    expect(survivor).toBeDefined();
    const c = startWorker();
    await until('two workers sharing the partitions', owners, (o) => o.members === 2 && new Set(o.byPartition.values()).size === 2);
    // Cut the first worker's session (its leases and member lock go with it), as a network partition or a restart would.
    const [victim] = db.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND pid <> (
         SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 ORDER BY pid DESC LIMIT 1)
       LIMIT 1`,
      [MEMBER_CLASS],
    );
    expect(victim).toBeDefined();
    db.query('SELECT pg_terminate_backend($1)', [victim?.pid]);
    const exits = await Promise.race([
      survivor?.exited,
      c.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000)),
    ]);
    expect(exits, 'the worker that lost its session exits with 75 (EX_TEMPFAIL) for systemd to restart').toBe(75);
    const after = await until(
      'the other worker holding every partition',
      owners,
      (o) => o.members === 1 && o.byPartition.size === PARTITIONS,
      10_000,
    );
    expect(new Set(after.byPartition.values()).size).toBe(1);
    // What an operator sees: one worker alive, holding all six.
    const status = runFrostwatch(['cluster', 'status'], { DATA_DIR: dataDir, DATABASE_URL: postgres.url });
    expect(await status.exited).toBe(0);
    expect(status.output()).toContain('workers alive: 1');
    expect(status.output()).toMatch(/partitions 0,1,2,3,4,5/);
    expect(status.output()).toContain('partitions held: 6');
  });

  it("a cluster HTTP server shows the workers' decisions live (server-sent events through PostgreSQL NOTIFY)", async () => {
    // RULE_ENGINE: a cluster server decides for nobody, whatever this says.
    const { server, base, token } = await startClusterServer({ RULE_ENGINE: 'thread' });
    const headers = { authorization: `Bearer ${token}` };
    const health = (await (await fetch(`${base}/health`)).json()) as { checks: Record<string, { ok: boolean }> };
    expect(health.checks['broker']?.ok).toBe(true);

    // Listen before the decision, as an officer's open dashboard does.
    const stream = await fetch(`${base}/api/events`, { headers });
    const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = stream.body?.getReader();
    if (!reader) throw new Error('no event stream');
    let text = '';
    const heard = (async () => {
      const decoder = new TextDecoder();
      while (!text.includes('event: alert')) {
        const chunk = await reader.read();
        if (chunk.done) return;
        text += decoder.decode(chunk.value, { stream: true });
      }
    })();

    const id = 'cw-live' as StationId;
    await registerStation(new StationRepository(db, { now: () => Date.now(), speed: 1 }), id);
    await sink.acceptReadings(id, [{ ts: Date.now() - MIN, airTempC: 15, rhPct: 70, batteryV: 3.1 }]);
    await Promise.race([heard, new Promise((_, reject) => setTimeout(() => reject(new Error(`no alert event; heard:\n${text}`)), 20_000))]);
    await reader.cancel();
    expect(text).toContain('"stationId":"cw-live"');
    expect(text).toContain('"kind":"low_battery"');

    const alerts = (await (await fetch(`${base}/api/alerts?stationId=cw-live`, { headers })).json()) as Array<{ kind: string }>;
    expect(alerts.map((alert) => alert.kind)).toEqual(['low_battery']);
    await server.kill('SIGTERM');
  });

  it('runs a cluster server on the simulated time line SIM_CLOCK gives every process', async () => {
    const anchorWall = Date.now();
    const simStart = Date.parse('2025-01-15T16:00:00+07:00');
    const { server, base, token } = await startClusterServer({ SIM_CLOCK: `2025-01-15T16:00:00+07:00@${anchorWall}x600` });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/stations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        id: 'cw-clock',
        name: 'Trạm giờ',
        commune: 'Lát',
        lat: 12.02,
        lon: 108.42,
        elevationM: 1520,
        crop: 'arabica',
      }),
    });
    const requestedAt = Date.now();
    expect(created.status).toBe(201);
    const page = (await (await fetch(`${base}/api/audit?action=station.create`, { headers })).json()) as {
      entries: Array<{ at: string; target: string | null }>;
    };
    const entry = page.entries.find((e) => e.target === 'cw-clock');
    expect(entry).toBeDefined();
    // On the line through 16:00 (Lạc Dương) at the anchor, 600× faster than the wall clock since.
    const at = Date.parse(entry?.at ?? '');
    expect(at).toBeGreaterThanOrEqual(simStart);
    expect(at).toBeLessThanOrEqual(simStart + (requestedAt - anchorWall) * 600 + 1_000);
    expect(at).toBeGreaterThan(simStart + 60_000); // the server started seconds after the anchor: minutes on the line
    await server.kill('SIGTERM');
  });

  it('serves a station the sampling its worker decided, retained, from any gateway (a replicated config bucket)', async () => {
    // Workers on a fast time line tick every quarter second (their rule engine decides sampling at its minute tick).
    await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
    const line = `2025-01-15T16:00:00+07:00@${Date.now()}x600`;
    // The intervals a district sets (SAMPLING_FAST_S / SAMPLING_RELAXED_S) are the ones a station is sent.
    const worker = startWorker({ SIM_CLOCK: line, SAMPLING_FAST_S: '120', SAMPLING_RELAXED_S: '600' });
    const id = 'cw-config' as StationId;
    const token = await registerStation(new StationRepository(db, { now: () => Date.now(), speed: 1 }), id);
    const mqttPort = await findFreePort();
    const gateway = runFrostwatch(['gateway'], {
      DATA_DIR: dataDir,
      DATABASE_URL: postgres.url,
      NATS_URL: nats.urls.join(','),
      PARTITIONS: String(PARTITIONS),
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: '0',
      SIM_CLOCK: line,
    });
    workers.push(gateway);
    await until(
      'the gateway listening',
      () => gateway.output(),
      (text) => text.includes('frostwatch gateway: mqtt://'),
    );

    const station = await connectStation(`mqtt://127.0.0.1:${mqttPort}`, id, token);
    try {
      const config = new Promise<string>((resolve) => station.on('message', (_topic, payload) => resolve(payload.toString())));
      await station.subscribeAsync(configTopic(id), { qos: 1 });
      const got = await Promise.race([
        config,
        new Promise<string>((_, reject) =>
          setTimeout(() => reject(new Error(`no config; worker:\n${worker.output().slice(-2_000)}`)), 20_000),
        ),
      ]);
      const parsed = JSON.parse(got) as { intervalS: number };
      expect([120, 600]).toContain(parsed.intervalS);
    } finally {
      await station.endAsync();
    }
  });
});
