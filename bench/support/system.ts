/**
 * Helpers shared by the issue-5 system benchmarks (alert latency, connections, backfill, footprint):
 * the system started in-process the way `frostwatch up` wires it, or as a child `frostwatch up`, stations
 * registered once, readings counted in InfluxDB, and a process's memory and CPU read from /proc.
 * Everything listens on 127.0.0.1 and is stopped by `close()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import { type Clock, type StationCreate, StationIdSchema, UpEnvSchema, loadEnv } from '../../contracts/index.js';
import type { Gateway, ServiceAccount } from '../../gateway/gateway.js';
import { UNLIMITED_FOR_BENCH } from '../../gateway/limits.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { benchHeapPolicy } from '../lib/heap.js';
import { type GatewayEdge, gatewayEdge } from '../../server/broker-edge.js';
import { connectInflux } from '../../server/influx/connect.js';
import { findFreePort, startManagedInfluxd, type ManagedInfluxd } from '../../server/influx/managed-influxd.js';
import { dataPaths } from '../../server/paths.js';
import { openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';

export const BUCKET = 'frostwatch';
export const silent: Logger = pino({ level: 'silent' });

export interface Influxd {
  influxd: ManagedInfluxd;
  dir: string;
  stop(): Promise<void>;
}

/** A throwaway managed influxd in its own temp dir. */
export async function startInfluxd(): Promise<Influxd> {
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-influx-'));
  const influxd = await startManagedInfluxd({ dataDir: join(dir, 'influxdb'), port: 0, logger: silent, installIfMissing: false });
  let stopped = false;
  return {
    influxd,
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await influxd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface InProcessSystem {
  runtime: AssembledServer<GatewayEdge>;
  gateway: Gateway;
  mqttUrl: string;
  httpUrl: string;
  influxUrl: string;
  dataDir: string;
  /** Gateway (no new publishes), then server (drains the spool), then the influxd this started and the data folder. Idempotent. */
  close(): Promise<void>;
}

export interface SystemOptions {
  clock: Clock;
  /** Extra environment (TWILIO_*, SMS_SEGMENTS_PER_S, ADMIN_TOKEN, …), parsed like `frostwatch up` parses its own. */
  env?: Record<string, string>;
  /** An InfluxDB the caller runs; absent → a throwaway managed influxd, stopped by close(). */
  influx?: { url: string; database: string };
  /** Also let this account subscribe to every reading, as `frostwatch server` would. */
  serviceAccount?: ServiceAccount;
}

/** The whole system in this process through the server's own assembly (server/assemble.ts), as `frostwatch up` runs it. */
export async function startInProcess(options: SystemOptions): Promise<InProcessSystem> {
  let owned: Influxd | null = null;
  let influx = options.influx;
  if (!influx) {
    owned = await startInfluxd();
    influx = { url: owned.influxd.url, database: BUCKET };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-data-'));
  const settings = loadEnv(UpEnvSchema, {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    INFLUX_URL: influx.url,
    INFLUX_BUCKET: influx.database,
    ...options.env,
  });
  let runtime: AssembledServer<GatewayEdge>;
  try {
    runtime = await assembleServer({
      settings,
      influxUrl: influx.url,
      logger: silent,
      clock: options.clock,
      edge: gatewayEdge({
        trafficLimits: UNLIMITED_FOR_BENCH,
        listen: { host: '127.0.0.1', mqttPort: 0, wsPort: 0 },
        ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
      }),
    });
    await runtime.listen();
  } catch (error) {
    await owned?.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const ports = runtime.edge?.ports;
  if (!runtime.edge || !ports) throw new Error('the gateway did not bind its ports');
  let closing: Promise<void> | null = null;
  return {
    runtime,
    gateway: runtime.edge.gateway,
    mqttUrl: `mqtt://127.0.0.1:${ports.mqttPort}`,
    httpUrl: runtime.url,
    influxUrl: influx.url,
    dataDir,
    close: () =>
      (closing ??= (async () => {
        // Each step runs even if an earlier one failed: a leaked influxd would outlive the benchmark.
        try {
          await runtime.close();
        } finally {
          await owned?.stop();
          await rm(dataDir, { recursive: true, force: true });
        }
      })()),
  };
}

export function stationCreate(id: string, i: number): StationCreate {
  return {
    id: StationIdSchema.parse(id),
    name: `Bench ${i}`,
    commune: 'Lát',
    lat: 12.0 + (i % 100) * 0.001,
    lon: 108.4 + Math.floor(i / 100) * 0.001,
    elevationM: 1_500,
    crop: 'arabica',
  };
}

export const stationIdOf = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(5, '0')}`;

/** Register `count` stations (scrypt each, `parallel` at a time); returns id → token. */
export async function registerStations(
  stations: StationRepository,
  prefix: string,
  count: number,
  parallel = 8,
): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      const id = stationIdOf(prefix, i);
      const created = await stations.create(stationCreate(id, i));
      if (!created.ok) throw new Error(`station ${id} exists`);
      tokens.set(id, created.token);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return tokens;
}

/** Register stations straight into DATA_DIR's registry before a child `frostwatch up` opens it. */
export async function registerOffline(dataDir: string, clock: Clock, prefix: string, count: number): Promise<Map<string, string>> {
  const db = openDatabase(dataPaths(dataDir).registry, silent);
  try {
    return await registerStations(new StationRepository(db, clock), prefix, count);
  } finally {
    db.close();
  }
}

/** How many readings InfluxDB holds (all stations). */
export async function countReadings(influxUrl: string): Promise<number> {
  const conn = await connectInflux({ url: influxUrl, bucket: BUCKET, logger: silent });
  try {
    const series = await conn.query('SELECT count("airTempC") FROM "readings"');
    const value = series[0]?.values[0]?.[1];
    return typeof value === 'number' ? value : 0;
  } finally {
    await conn.close();
  }
}

export interface ProcSample {
  rssMb: number;
  /** utime + stime, seconds. */
  cpuS: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

export async function procSample(pid: number): Promise<ProcSample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: rssKb / 1024, cpuS: ticks / CLOCK_TICKS };
}

export interface ChildSystem {
  child: ChildProcess;
  pid: number;
  mqttUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/** `node dist/cli/main.js up` on DATA_DIR, storing into an InfluxDB this process runs (so its memory is not counted). */
export async function startChildUp(
  dataDir: string,
  influxUrl: string,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** More arguments of `up`, e.g. `--speed 20 --start …` for a simulated clock. */
  upArgs: string[] = [],
): Promise<ChildSystem> {
  const [mqttPort, wsPort, httpPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
  const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    INFLUX_URL: influxUrl,
    MQTT_PORT: String(mqttPort),
    MQTT_WS_PORT: String(wsPort),
    HTTP_PORT: String(httpPort),
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    // As the shipped start sets it (scripts/up, npm start, the systemd unit of docs/operations.md "Memory").
    MALLOC_MMAP_THRESHOLD_: '1048576',
    HEAP_POLICY: benchHeapPolicy(),
    // No forecast from the internet while measuring (issue 16's schedules are not what a bench measures).
    FORECAST_URL: 'off',
    // `RULE_ENGINE=inline npm run bench -- --only footprint` measures a child with the engine on its ingest thread.
    ...(process.env['RULE_ENGINE'] === undefined ? {} : { RULE_ENGINE: process.env['RULE_ENGINE'] }),
    ...extraEnv,
  };
  const child = spawn(process.execPath, [...nodeArgs, main, 'up', ...upArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4_000)));
  child.stderr.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`frostwatch up exited ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${httpUrl}/health`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`frostwatch up did not answer in 60 s:\n${output}`);
    }
    await sleep(200);
  }
  let stopping: Promise<void> | null = null;
  return {
    child,
    pid: child.pid ?? 0,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    httpUrl,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      })()),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Run `fn` over `items`, `parallel` at a time. */
export async function pool<T>(items: readonly T[], parallel: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next;
      next += 1;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}
