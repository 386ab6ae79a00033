/**
 * A fleet of bench stations connected to a child `frostwatch up`, each publishing one reading every
 * `intervalMs` (spread evenly), while the child's resident memory and CPU are sampled from /proc.
 * The clients live in this process, so the child's figures are the gateway + server alone (InfluxDB is
 * also run from this process, outside the child).
 */
import { systemClock } from '../../contracts/index.js';
import { type BenchStation, connectAll, disconnectAll, mildReading, publishReadings } from './stations.js';
import { type ProcSample, countReadings, procSample, registerOffline, sleep, startChildUp, startInfluxd } from './system.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FleetLoadOptions {
  stations: number;
  intervalMs: number;
  durationMs: number;
  progress(line: string): void;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export interface FleetLoadResult {
  registerS: number;
  connectS: number;
  /** After start-up, before any station connected. */
  idle: ProcSample;
  peakRssMb: number;
  endRssMb: number;
  /** Child CPU over the publishing window, % of one core. */
  cpuPct: number;
  published: number;
  failed: number;
  stored: number;
}

export async function runFleetLoad(options: FleetLoadOptions): Promise<FleetLoadResult> {
  const { progress } = options;
  const influx = await startInfluxd();
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-fleet-'));
  let stations: BenchStation[] = [];
  let child: Awaited<ReturnType<typeof startChildUp>> | null = null;
  try {
    progress(`registering ${options.stations} stations (scrypt each)`);
    const t0 = performance.now();
    const tokens = await registerOffline(dataDir, systemClock, 'fleet', options.stations);
    const registerS = (performance.now() - t0) / 1_000;
    // Connections over the default limit are the point of this bench.
    child = await startChildUp(dataDir, influx.influxd.url, { MQTT_MAX_CONNECTIONS: String(options.stations * 2) }, options.nodeArgs ?? []);
    await sleep(2_000);
    const idle = await procSample(child.pid);
    const t1 = performance.now();
    stations = await connectAll(child.mqttUrl, tokens, 64, (n) => n % 250 === 0 && progress(`connected ${n}/${options.stations}`));
    const connectS = (performance.now() - t1) / 1_000;
    const load = await publishFor(stations, options, child.pid);
    await sleep(3_000);
    const stored = await countReadings(influx.influxd.url);
    return { registerS, connectS, idle, ...load, stored };
  } finally {
    await disconnectAll(stations);
    await child?.stop();
    await influx.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function publishFor(
  stations: BenchStation[],
  options: FleetLoadOptions,
  pid: number,
): Promise<{ peakRssMb: number; endRssMb: number; cpuPct: number; published: number; failed: number }> {
  let published = 0;
  let failed = 0;
  const start = performance.now();
  const cpu0 = await procSample(pid);
  // Station i publishes at start + i/N of the interval, then every interval: an even spread.
  const timers = stations.map((s, i) =>
    setTimeout(() => {
      const send = (): void =>
        void publishReadings(s, mildReading(Date.now(), i)).then(
          () => (published += 1),
          () => (failed += 1),
        );
      send();
      timers[i] = setInterval(send, options.intervalMs);
    }, (i / stations.length) * options.intervalMs),
  );
  let peakRssMb = 0;
  let last = cpu0;
  try {
    while (performance.now() - start < options.durationMs) {
      await sleep(2_000);
      last = await procSample(pid);
      peakRssMb = Math.max(peakRssMb, last.rssMb);
      const elapsedS = (performance.now() - start) / 1_000;
      options.progress(`${elapsedS.toFixed(0)} s: rss ${last.rssMb.toFixed(0)} MB, ${published} readings acknowledged, ${failed} failed`);
    }
  } finally {
    for (const t of timers) clearTimeout(t);
  }
  const wallS = (performance.now() - start) / 1_000;
  return { peakRssMb, endRssMb: last.rssMb, cpuPct: ((last.cpuS - cpu0.cpuS) / wallS) * 100, published, failed };
}
