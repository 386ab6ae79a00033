/**
 * Issue 18, the sizing table of docs/scale-out.md: how many stations one NATS JetStream cluster, one `frostwatch
 * gateway` and one `frostwatch worker` carry, measured with real processes on loopback (`node dist/bench/cluster-sizing.js
 * [--quick]`, or `npm run bench -- --only cluster-sizing`).
 *
 * One setup for all three: a 3-node nats-server cluster (R3 readings stream, P = 12), PostgreSQL (initdb in a temp dir),
 * InfluxDB, and stations registered in PostgreSQL in one transaction. Then, one after the other:
 *
 * 1. NATS: readings appended through `JetStreamReadingsSink` (one message a reading, as a station sends) by many
 *    concurrent publishers over three connections, one to each node as gateways spread over them; PubAck'ed per second,
 *    and the CPU of each nats-server per reading.
 * 2. Gateway: a real `frostwatch gateway` (NATS_URL + DATABASE_URL) with thousands of MQTT stations connected, each
 *    publishing one reading at a time at QoS 1 and the next on its PUBACK (which the gateway sends once JetStream has
 *    acknowledged); PUBACKed per second, connections held, the gateway's CPU and memory.
 * 3. Worker: the stream purged and filled with readings (stations × minutes, minute by minute, one message each, so a
 *    batch of 500 holds 500 different stations as it does live), then 1 and then 2 `frostwatch worker` processes started
 *    and timed until every partition's consumer has nothing pending or unacknowledged; readings/s, and the CPU of the
 *    workers, PostgreSQL and influxd per reading.
 *
 * Everything shares this machine's cores: each throughput is the whole cluster's on this machine, and each CPU per
 * reading is what the sizing table projects from (a core of a component's own machine).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type Reading, type StationId, systemClock } from '../contracts/index.js';
import {
  JetStreamReadingsSink,
  READINGS_STREAM,
  consumerName,
  ensureReadingsStream,
  stationPartition,
} from '../server/cluster/readings-log.js';
import { type InfluxConnection, connectInflux } from '../server/influx/connect.js';
import { findFreePort } from '../server/influx/free-port.js';
import { openPostgres, type PgDb } from '../server/registry/pg/pg-db.js';
import { StationRepository } from '../server/registry/stations.js';
import { type NatsCluster, startNatsCluster } from '../testkit/nats-cluster.js';
import { type TestPostgres, startPostgres } from '../testkit/postgres.js';
import { type WatchedProcess, watchProcess } from '../testkit/process.js';
import { benchHeapPolicy } from './lib/heap.js';
import { sampleProcess } from './lib/process-sampler.js';
import { round } from './lib/stats.js';
import { runIfMain } from './support/entry.js';
import { type BenchStation, connectAll, disconnectAll, mildReading, publishReadings } from './support/stations.js';
import { type Influxd, BUCKET, pool, silent, sleep, startInfluxd, stationCreate, stationIdOf } from './support/system.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

const GROUP = 10;
const PARTITIONS = 12;
const CLI = join(import.meta.dirname, '..', 'cli', 'main.js');
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const MIN = 60_000;

/** A station at night samples once a minute (the frost engine's `fastIntervalS`, 60 s): readings/s → stations. */
export const NIGHT_READINGS_PER_S = 1 / 60;
/**
 * Capacity kept free beyond the nightly rate. With 3×, a third of a component carries the live night and two thirds
 * catch up: an outage of T minutes of every station it serves, resent one reading a message (the costliest form), is
 * caught up in T/2 minutes while the live night goes on. Batches of up to 100 readings a message cost each component
 * less per reading, so a real backfill drains faster. docs/scale-out.md ("Sizing") gives the reasoning.
 */
export const HEADROOM = 3;
export const stationsAt = (readingsPerS: number): number => readingsPerS / NIGHT_READINGS_PER_S / HEADROOM;

interface Sizes {
  natsSeconds: number;
  natsConcurrency: number;
  gatewayStations: number;
  gatewaySeconds: number;
  workerStations: number;
  workerMinutes: number;
}

const FULL: Sizes = {
  natsSeconds: 20,
  natsConcurrency: 1_000,
  gatewayStations: 4_000,
  gatewaySeconds: 20,
  workerStations: 6_000,
  workerMinutes: 6,
};
const QUICK: Sizes = {
  natsSeconds: 8,
  natsConcurrency: 500,
  gatewayStations: 1_000,
  gatewaySeconds: 8,
  workerStations: 6_000,
  workerMinutes: 2,
};
const WARMUP_MS = 2_000;

export const bench: Bench = {
  id: 'cluster-sizing',
  title: 'Cluster sizing: NATS JetStream appends, a gateway, workers (issue 18)',
  run: async ({ quick, progress }: BenchOptions): Promise<BenchRow[]> => {
    const chosen = quick ? QUICK : FULL;
    // 6,000 stations: 500 a partition, so every batch holds 500 different stations, as a live night does (each costs the
    // worker its state's round trips). Before ea82449 this stalled: the batch held the event loop, the other partitions'
    // fetches missed their heartbeats and gave back what they had (BENCHMARKS.md). SIZING_WORKER_STATIONS overrides it.
    const workerStations = Number(process.env['SIZING_WORKER_STATIONS'] ?? chosen.workerStations);
    const sizes: Sizes = {
      ...chosen,
      workerStations,
      workerMinutes: Math.ceil((chosen.workerStations * chosen.workerMinutes) / workerStations),
    };
    const stationCount = Math.max(sizes.gatewayStations, sizes.workerStations);
    progress('starting 3 nats-server nodes, PostgreSQL and InfluxDB');
    const started = await Promise.allSettled([
      startNatsCluster({ nodes: 3, partitions: PARTITIONS }),
      startPostgres({ database: 'frostwatch_sizing' }),
      startInfluxd(),
    ]);
    const [natsR, pgR, influxR] = started;
    const nats = natsR.status === 'fulfilled' ? natsR.value : null;
    const pg = pgR.status === 'fulfilled' ? pgR.value : null;
    const influxd = influxR.status === 'fulfilled' ? influxR.value : null;
    const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-sizing-'));
    const env: Env = { nats, pg, influxd, dataDir, db: null, influx: null, conns: [], children: [] };
    try {
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed || !nats || !pg || !influxd) throw failed?.reason ?? new Error('setup failed');
      const ready: Ready = { nats, pg, influxd, dataDir, env };
      env.db = openPostgres(pg.url, silent, undefined, undefined, { keyDir: dataDir, applicationName: 'bench' });
      env.influx = await connectInflux({ url: influxd.influxd.url, bucket: BUCKET, logger: silent, timeoutMs: 60_000 });
      progress(`registering ${stationCount.toLocaleString('en-US')} stations in PostgreSQL`);
      const tokens = registerAll(env.db, stationCount);
      env.conns = await Promise.all(nats.urls.map((url, i) => connect({ servers: url, name: `bench ${i}` })));
      const [first] = env.conns;
      if (!first) throw new Error('no NATS connection');
      await ensureReadingsStream(first, { partitions: PARTITIONS, replicas: 3 });
      const ids = [...tokens.keys()] as StationId[];

      // SIZING_DEBUG=workers: the workers' measurement alone (printed, no rows), for looking into the worker.
      const workersOnly = process.env['SIZING_DEBUG'] === 'workers';
      const appendRun = workersOnly ? null : await natsAppend(ready, ids, sizes, progress);
      const gatewayRun = workersOnly ? null : await gatewayLoad(ready, tokens, sizes, progress);
      const one = await workerDrain(ready, ids.slice(0, sizes.workerStations), sizes.workerMinutes, 1, 0, progress);
      const two = await workerDrain(ready, ids.slice(0, sizes.workerStations), sizes.workerMinutes, 2, sizes.workerMinutes, progress);
      const versions = `nats-server ${await natsVersion()}, ${pg.version}`;
      if (!appendRun || !gatewayRun) {
        process.stderr.write(`\n${JSON.stringify({ one, two }, null, 2)}\n`);
        return [];
      }
      return rows(sizes, appendRun, gatewayRun, one, two, versions);
    } finally {
      await Promise.allSettled(env.children.map((child) => child.kill('SIGKILL')));
      await Promise.allSettled(env.conns.map((nc) => nc.close()));
      env.db?.close();
      await env.influx?.close().catch(() => undefined);
      await Promise.allSettled([nats?.stop(), pg?.stop(), influxd?.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};

interface Env {
  nats: NatsCluster | null;
  pg: TestPostgres | null;
  influxd: Influxd | null;
  dataDir: string;
  db: PgDb | null;
  influx: InfluxConnection | null;
  conns: NatsConnection[];
  children: WatchedProcess[];
}

interface Ready {
  nats: NatsCluster;
  pg: TestPostgres;
  influxd: Influxd;
  dataDir: string;
  env: Env;
}

function registerAll(db: PgDb, count: number): Map<string, string> {
  const stations = new StationRepository(db, systemClock);
  const result = stations.createMany(
    Array.from({ length: count }, (_, i) => ({ ok: true as const, station: stationCreate(stationIdOf('sz', i), i) })),
  );
  if (!result.ok) throw new Error(`registration refused: ${JSON.stringify(result.problems.slice(0, 3))}`);
  return new Map(result.created.map(({ station, token }) => [station.id, token]));
}

// ---------------------------------------------------------------------------------------------------------------------
// CPU of the processes on loopback, from /proc.

async function procEntries(): Promise<{ pid: number; ppid: number; cmdline: string }[]> {
  const out: { pid: number; ppid: number; cmdline: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      out.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The nats-server of each node (its config file is in the cluster's temp dir). */
async function natsPids(nats: NatsCluster): Promise<Map<string, number>> {
  const entries = await procEntries();
  const pids = new Map<string, number>();
  for (const name of ['n1', 'n2', 'n3']) {
    const found = entries.find((e) => e.cmdline.includes('nats-server') && e.cmdline.includes(join(nats.dir, `${name}.conf`)));
    if (found) pids.set(name, found.pid);
  }
  return pids;
}

/** The postmaster of this PostgreSQL and every process it forked (backends, writers, walwriter). */
async function postgresPids(pg: TestPostgres): Promise<number[]> {
  const entries = await procEntries();
  const root = entries.find((e) => e.cmdline.includes('postgres') && e.cmdline.includes(join(pg.dir, 'data')));
  if (!root) return [];
  const pids = [root.pid];
  for (let i = 0; i < pids.length; i++) for (const e of entries) if (e.ppid === pids[i]) pids.push(e.pid);
  return pids;
}

async function cpuOf(pids: Iterable<number>): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await sampleProcess(pid))?.cpuS ?? 0;
  return total;
}

const selfCpuS = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

// ---------------------------------------------------------------------------------------------------------------------
// 1. NATS JetStream appends.

interface AppendRun {
  perS: number;
  seconds: number;
  acked: number;
  failed: number;
  concurrency: number;
  /** µs of CPU per reading, each node; the stream leader's name. */
  nodeUs: Map<string, number>;
  leader: string;
  clientUs: number;
}

async function natsAppend(ready: Ready, ids: StationId[], sizes: Sizes, progress: (line: string) => void): Promise<AppendRun> {
  const sinks = ready.env.conns.map((nc) => new JetStreamReadingsSink(nc));
  const pids = await natsPids(ready.nats);
  const seq = new Map<StationId, number>();
  const base = Date.now() - 3 * 86_400_000;
  let acked = 0;
  let failed = 0;
  const stopAt = performance.now() + WARMUP_MS + sizes.natsSeconds * 1_000;
  const lanes = Array.from({ length: sizes.natsConcurrency }, async (_, lane) => {
    const sink = sinks[lane % sinks.length] as JetStreamReadingsSink;
    for (let round = 0; performance.now() < stopAt; round++) {
      const id = ids[(lane + round * sizes.natsConcurrency) % ids.length] as StationId;
      const k = seq.get(id) ?? 0;
      seq.set(id, k + 1);
      try {
        await sink.acceptReadings(id, [mildReading(base + k * 1_000, k)]);
        acked++;
      } catch {
        failed++;
      }
    }
  });
  await sleep(WARMUP_MS);
  const before = { at: performance.now(), acked, nodes: await perNodeCpu(pids), self: selfCpuS() };
  const ticker = setInterval(() => progress(`NATS appends: ${acked.toLocaleString('en-US')} PubAck'ed`), 1_000);
  await sleep(sizes.natsSeconds * 1_000);
  const after = { at: performance.now(), acked, nodes: await perNodeCpu(pids), self: selfCpuS() };
  clearInterval(ticker);
  await Promise.all(lanes);
  const n = after.acked - before.acked;
  const nodeUs = new Map([...after.nodes].map(([name, cpu]) => [name, ((cpu - (before.nodes.get(name) ?? 0)) / n) * 1e6]));
  const jsm = await jetstreamManager(ready.env.conns[0] as NatsConnection);
  const info = await jsm.streams.info(READINGS_STREAM);
  return {
    perS: n / ((after.at - before.at) / 1_000),
    seconds: (after.at - before.at) / 1_000,
    acked: n,
    failed,
    concurrency: sizes.natsConcurrency,
    nodeUs,
    leader: info.cluster?.leader ?? 'unknown',
    clientUs: ((after.self - before.self) / n) * 1e6,
  };
}

async function perNodeCpu(pids: Map<string, number>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, pid] of pids) out.set(name, (await sampleProcess(pid))?.cpuS ?? 0);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// 2. One `frostwatch gateway`.

interface GatewayRun {
  stations: number;
  connectS: number;
  perS: number;
  seconds: number;
  failed: number;
  gatewayCores: number;
  gatewayUs: number;
  natsUs: number;
  clientUs: number;
  idleRssMb: number;
  connectedRssMb: number;
  peakRssMb: number;
}

async function gatewayLoad(
  ready: Ready,
  tokens: ReadonlyMap<string, string>,
  sizes: Sizes,
  progress: (line: string) => void,
): Promise<GatewayRun> {
  const [mqttPort, wsPort] = [await findFreePort(), await findFreePort()];
  const gateway = watchProcess(
    spawn(process.execPath, [CLI, 'gateway'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? tmpdir(),
        DATA_DIR: ready.dataDir,
        DATABASE_URL: ready.pg.url,
        NATS_URL: ready.nats.urls.join(','),
        PARTITIONS: String(PARTITIONS),
        HOST: '127.0.0.1',
        MQTT_PORT: String(mqttPort),
        MQTT_WS_PORT: String(wsPort),
        // The defaults (2,000 connections, 20 publishes/s a station) are per-peer guards; measured here is the gateway.
        MQTT_MAX_CONNECTIONS: '100000',
        MQTT_MAX_PUBLISH_PER_S: '10000',
        ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
        HEAP_POLICY: benchHeapPolicy(),
        MALLOC_MMAP_THRESHOLD_: '1048576',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  ready.env.children.push(gateway);
  const pid = gateway.proc.pid ?? 0;
  const deadline = Date.now() + 60_000;
  while (!gateway.output().includes('frostwatch gateway:')) {
    if (gateway.proc.exitCode !== null || Date.now() > deadline) throw new Error(`frostwatch gateway did not start:\n${gateway.output()}`);
    await sleep(100);
  }
  await sleep(1_000);
  const idleRssMb = (await sampleProcess(pid))?.rssMiB ?? 0;
  const count = sizes.gatewayStations;
  const chosen = new Map([...tokens].slice(0, count));
  const t0 = performance.now();
  let stations: BenchStation[] = [];
  try {
    stations = await connectAll(
      `mqtt://127.0.0.1:${mqttPort}`,
      chosen,
      64,
      (n) => n % 250 === 0 && progress(`gateway: connected ${n}/${count}`),
    );
    const connectS = (performance.now() - t0) / 1_000;
    await sleep(1_000);
    const connectedRssMb = (await sampleProcess(pid))?.rssMiB ?? 0;
    const natsPidMap = await natsPids(ready.nats);
    const base = Date.now() - 2 * 86_400_000;
    let acked = 0;
    let failed = 0;
    let peakRssMb = connectedRssMb;
    const stopAt = performance.now() + WARMUP_MS + sizes.gatewaySeconds * 1_000;
    const loops = stations.map(async (station, i) => {
      for (let k = 0; performance.now() < stopAt; k++) {
        try {
          await publishReadings(station, mildReading(base + k * 1_000, i + k));
          acked++;
        } catch {
          failed++;
          await sleep(100);
        }
      }
    });
    await sleep(WARMUP_MS);
    const snap = async () => ({
      at: performance.now(),
      acked,
      gw: (await sampleProcess(pid))?.cpuS ?? 0,
      nats: await cpuOf(natsPidMap.values()),
      self: selfCpuS(),
    });
    const before = await snap();
    const ticker = setInterval(() => {
      void sampleProcess(pid).then((s) => (peakRssMb = Math.max(peakRssMb, s?.rssMiB ?? 0)));
      progress(`gateway: ${acked.toLocaleString('en-US')} PUBACKed from ${count} stations`);
    }, 500);
    await sleep(sizes.gatewaySeconds * 1_000);
    const after = await snap();
    clearInterval(ticker);
    await Promise.all(loops);
    const n = after.acked - before.acked;
    const seconds = (after.at - before.at) / 1_000;
    return {
      stations: count,
      connectS,
      perS: n / seconds,
      seconds,
      failed,
      gatewayCores: (after.gw - before.gw) / seconds,
      gatewayUs: ((after.gw - before.gw) / n) * 1e6,
      natsUs: ((after.nats - before.nats) / n) * 1e6,
      clientUs: ((after.self - before.self) / n) * 1e6,
      idleRssMb,
      connectedRssMb,
      peakRssMb,
    };
  } finally {
    await disconnectAll(stations);
    await gateway.kill('SIGTERM');
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// 3. Workers draining a filled log.

interface WorkerRun {
  workers: number;
  readings: number;
  stations: number;
  fillPerS: number;
  /** From the first worker's spawn to every consumer drained. */
  wallS: number;
  /** Between 20 % and 80 % of the readings acknowledged: the rate without process start and partition sharing. */
  steadyPerS: number;
  workerUs: number;
  postgresUs: number;
  influxUs: number;
  natsUs: number;
  stored: number;
}

async function workerDrain(
  ready: Ready,
  ids: StationId[],
  minutes: number,
  workers: number,
  firstMinute: number,
  progress: (line: string) => void,
): Promise<WorkerRun> {
  const nc = ready.env.conns[0] as NatsConnection;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge(READINGS_STREAM);
  for (let p = 0; p < PARTITIONS; p++) {
    await jsm.consumers.delete(READINGS_STREAM, consumerName(p)).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError)) throw err;
    });
  }
  // Minute by minute, every station once a minute, as a live night (or a whole fleet's backfill) arrives.
  const t0 = Date.now() - 40 * MIN;
  const items: { id: StationId; reading: Reading }[] = [];
  for (let m = firstMinute; m < firstMinute + minutes; m++)
    for (const [i, id] of ids.entries()) items.push({ id, reading: mildReading(t0 + m * MIN, i + m) });
  const expected = new Array<number>(PARTITIONS).fill(0);
  for (const { id } of items) expected[stationPartition(id, PARTITIONS)] = (expected[stationPartition(id, PARTITIONS)] ?? 0) + 1;
  const sinks = ready.env.conns.map((c) => new JetStreamReadingsSink(c));
  const fillStart = performance.now();
  let filled = 0;
  await pool(items, 1_000, async ({ id, reading }, i) => {
    await (sinks[i % sinks.length] as JetStreamReadingsSink).acceptReadings(id, [reading]);
    if (++filled % 5_000 === 0) progress(`workers ×${workers}: filling the log ${filled}/${items.length}`);
  });
  const fillPerS = items.length / ((performance.now() - fillStart) / 1_000);
  const influx = ready.env.influx as InfluxConnection;
  const storedBefore = await countReadings(influx);

  const started = performance.now();
  const procs = Array.from({ length: workers }, () => startWorker(ready));
  ready.env.children.push(...procs);
  const total = items.length;
  // Per partition the last answer: a consumer not created yet has acknowledged nothing, and an info request that times
  // out while the cluster is busy keeps the previous figure instead of failing the run.
  const ackedByPartition = new Array<number>(PARTITIONS).fill(0);
  const ackedNow = async (): Promise<number> => {
    await Promise.all(
      Array.from({ length: PARTITIONS }, async (_, p) => {
        try {
          const info = await jsm.consumers.info(READINGS_STREAM, consumerName(p));
          ackedByPartition[p] = (expected[p] ?? 0) - info.num_pending - info.num_ack_pending;
        } catch {
          // not there yet, or no answer this time
        }
      }),
    );
    return ackedByPartition.reduce((x, y) => x + y, 0);
  };
  type Snap = { at: number; acked: number; worker: number; pg: number; influx: number; nats: number };
  const snap = async (acked: number): Promise<Snap> => ({
    at: performance.now(),
    acked,
    worker: await cpuOf(procs.map((w) => w.proc.pid ?? 0)),
    pg: await cpuOf(await postgresPids(ready.pg)),
    influx: await cpuOf([ready.influxd.influxd.pid]),
    nats: await cpuOf((await natsPids(ready.nats)).values()),
  });
  let from: Snap | null = null;
  let to: Snap | null = null;
  const deadline = Date.now() + 600_000;
  for (;;) {
    const acked = await ackedNow();
    if (from === null && acked >= 0.2 * total) from = await snap(acked);
    if (to === null && acked >= 0.8 * total) to = await snap(acked);
    progress(`workers ×${workers}: ${acked.toLocaleString('en-US')}/${total.toLocaleString('en-US')} acknowledged`);
    if (acked >= total) break;
    for (const w of procs)
      if (w.proc.exitCode !== null) throw new Error(`a worker exited (${w.proc.exitCode}):\n${w.output().slice(-3_000)}`);
    if (Date.now() > deadline || (process.env['SIZING_DEBUG'] === 'workers' && Date.now() > deadline - 540_000)) {
      await Promise.all(procs.map((w) => w.kill('SIGTERM')));
      throw new Error(
        `workers ×${workers}: ${acked}/${total} after 10 minutes\n${procs.map((w) => w.output().slice(-4_000)).join('\n---\n')}`,
      );
    }
    await sleep(250);
  }
  const wallS = (performance.now() - started) / 1_000;
  const stored = (await countReadings(influx)) - storedBefore;
  await Promise.all(procs.map((w) => w.kill('SIGTERM')));
  if (!from || !to || to.acked === from.acked) throw new Error('drained too fast to measure a steady rate');
  const n = to.acked - from.acked;
  const us = (key: 'worker' | 'pg' | 'influx' | 'nats'): number => ((to[key] - from[key]) / n) * 1e6;
  return {
    workers,
    readings: total,
    stations: ids.length,
    fillPerS,
    wallS,
    steadyPerS: n / ((to.at - from.at) / 1_000),
    workerUs: us('worker'),
    postgresUs: us('pg'),
    influxUs: us('influx'),
    natsUs: us('nats'),
    stored,
  };
}

function startWorker(ready: Ready): WatchedProcess {
  return watchProcess(
    spawn(process.execPath, [...(process.env['SIZING_WORKER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), CLI, 'worker'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? tmpdir(),
        DATA_DIR: ready.dataDir,
        DATABASE_URL: ready.pg.url,
        NATS_URL: ready.nats.urls.join(','),
        PARTITIONS: String(PARTITIONS),
        INFLUX_URL: ready.influxd.influxd.url,
        INFLUX_BUCKET: BUCKET,
        ADMIN_TOKEN,
        // No forecast from the internet, no held or scheduled calls: the worker's readings path alone.
        FORECAST_URL: 'off',
        QUIET_HOURS: 'off',
        SURVEY_CALLS: 'off',
        LOG_LEVEL: process.env['SIZING_WORKER_LOG'] ?? 'warn',
        HEAP_POLICY: benchHeapPolicy(),
        MALLOC_MMAP_THRESHOLD_: '1048576',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

async function countReadings(influx: InfluxConnection): Promise<number> {
  const series = await influx.query('SELECT count("airTempC") FROM "readings"');
  const value = series[0]?.values[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

/** The first nats-server found where testkit/nats-cluster.ts looks for it, as `--version` prints it. */
function natsVersion(): Promise<string> {
  const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((path) => existsSync(path));
  return new Promise((resolve) => {
    if (binary === undefined) {
      resolve('unknown');
      return;
    }
    execFile(binary, ['--version'], { timeout: 5_000 }, (_err, stdout) => {
      resolve(stdout.trim().replace(/^nats-server:\s*/, '') || 'unknown');
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------------

function rows(sizes: Sizes, a: AppendRun, g: GatewayRun, one: WorkerRun, two: WorkerRun, versions: string): BenchRow[] {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const nodes = [...a.nodeUs].map(([name, us]) => `${name}${name === a.leader ? ' (stream leader)' : ''} ${round(us)} µs`).join(', ');
  const natsAll = [...a.nodeUs.values()].reduce((x, y) => x + y, 0);
  const leaderUs = a.nodeUs.get(a.leader) ?? Math.max(...a.nodeUs.values());
  const row = (name: string, value: number, unit: string, note = '', extra: Partial<BenchRow> = {}): BenchRow => ({
    group: GROUP,
    name,
    value: round(value),
    unit,
    note,
    ...extra,
  });
  const perCore = (us: number): number => 1e6 / us;
  const worker = (w: WorkerRun): string =>
    `${fmt(w.readings)} readings (${fmt(w.stations)} stations × ${w.readings / w.stations} minutes, one message each) in the log before the start; ` +
    `drained in ${round(w.wallS)} s from spawn; ${fmt(w.stored)} stored in InfluxDB; CPU per reading: worker${w.workers > 1 ? 's' : ''} ${round(w.workerUs)} µs, ` +
    `PostgreSQL ${round(w.postgresUs)} µs, influxd ${round(w.influxUs)} µs, NATS ${round(w.natsUs)} µs`;
  return [
    row(
      'NATS JetStream: readings appended, PubAck’ed',
      a.perS,
      'readings/s',
      `3 nodes, R3 file stream, P = ${PARTITIONS}; ${a.concurrency} concurrent publishers of one reading each through JetStreamReadingsSink over 3 connections (one a node), ${round(a.seconds)} s after ${WARMUP_MS / 1_000} s of warm-up; ${fmt(a.acked)} acked, ${a.failed} failed; ${versions}`,
    ),
    row('NATS JetStream: CPU per reading, all three nodes', natsAll, 'µs', `${nodes}; the publishing client ${round(a.clientUs)} µs`),
    row(
      'NATS JetStream: stations a cluster carries, as measured',
      stationsAt(a.perS),
      'stations',
      `the rate above at one reading a minute, ${HEADROOM}× headroom (the machine’s 2 cores shared by 3 nodes and the client)`,
    ),
    row(
      'NATS JetStream: stations a cluster carries, stream leader on a core of its own',
      stationsAt(perCore(leaderUs)),
      'stations',
      `1 s ÷ the leader’s ${round(leaderUs)} µs a reading, at one reading a minute, ${HEADROOM}× headroom; one stream has one leader`,
    ),
    row(
      'gateway: readings PUBACKed (after JetStream’s ack)',
      g.perS,
      'readings/s',
      `frostwatch gateway, NATS_URL + DATABASE_URL; ${fmt(g.stations)} MQTT stations each publishing one reading at QoS 1 and the next on its PUBACK, ${round(g.seconds)} s after warm-up; ${g.failed} failed; gateway at ${round(g.gatewayCores * 100)} % of a core; CPU per reading: NATS ${round(g.natsUs)} µs, the stations (mqtt.js, this process) ${round(g.clientUs)} µs`,
    ),
    row('gateway: CPU per reading', g.gatewayUs, 'µs', 'the gateway process, all threads'),
    row(
      'gateway: connections held',
      g.stations,
      'connections',
      `connected in ${round(g.connectS)} s (64 handshakes at a time, the limit per address); RSS ${round(g.idleRssMb)} MB before, ${round(g.connectedRssMb)} MB connected, ${round(g.peakRssMb)} MB peak under load`,
    ),
    row(
      'gateway: memory per connection',
      ((g.connectedRssMb - g.idleRssMb) * 1024) / g.stations,
      'KB',
      'RSS connected minus before, over the connections',
    ),
    row(
      'gateway: stations one gateway core carries',
      stationsAt(perCore(g.gatewayUs)),
      'stations',
      `1 s ÷ ${round(g.gatewayUs)} µs a reading, at one reading a minute, ${HEADROOM}× headroom; measured rate as is: ${fmt(stationsAt(g.perS))}`,
    ),
    row('worker ×1: readings drained', one.steadyPerS, 'readings/s', worker(one)),
    row(
      'worker ×2: readings drained',
      two.steadyPerS,
      'readings/s',
      `${worker(two)}; both workers, PostgreSQL, influxd and 3 NATS nodes share the 2 cores`,
      {
        goal: 'worker ×1, same run',
        ratio: Math.round((two.steadyPerS / one.steadyPerS) * 100) / 100,
      },
    ),
    row(
      'worker: stations one worker carries, as measured',
      stationsAt(one.steadyPerS),
      'stations',
      `one worker’s rate at one reading a minute, ${HEADROOM}× headroom`,
    ),
    row(
      'worker: stations one worker core carries',
      stationsAt(perCore(one.workerUs)),
      'stations',
      `1 s ÷ ${round(one.workerUs)} µs a reading (worker process alone; PostgreSQL ${round(one.postgresUs)} µs and influxd ${round(one.influxUs)} µs more elsewhere), ${HEADROOM}× headroom`,
    ),
    row(`worker: log filled (setup, ${sizes.workerMinutes} minutes)`, one.fillPerS, 'readings/s', 'JetStreamReadingsSink, 1,000 in flight'),
  ];
}

await runIfMain(import.meta.url, bench);
