/**
 * A fleet of bench stations connected to a child `frostwatch up`, each publishing one reading every
 * `intervalMs` (spread evenly), while the child's resident memory and CPU are sampled from /proc.
 * The clients live in this process, so the child's figures are the gateway + server alone (InfluxDB is
 * also run from this process, outside the child).
 */
import { systemClock } from '../../contracts/index.js';
import { type BenchStation, connectAll, disconnectAll, mildReading, publishReadings } from './stations.js';
import { type ProcSample, countReadings, procSample, registerOffline, sleep, startChildUp, startInfluxd } from './system.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FleetLoadOptions {
  stations: number;
  intervalMs: number;
  durationMs: number;
  progress: (line: string) => void;
  /** Also connect the same stations to a bare Aedes in its own process and report its memory. */
  bareAedesCeiling?: boolean;
  /** Extra node flags for the child, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /**
   * Afterwards restart the system (SIGTERM, a new `frostwatch up` on the same DATA_DIR) and reconnect every station
   * at once, as a fleet does after a restart or an outage: the new process has verified no token yet.
   */
  reconnectAfterRestart?: boolean;
}

/** The same stations connected to a bare Aedes in a process of its own, each publishing one reading: its RSS. */
export async function bareAedesMemory(
  tokens: ReadonlyMap<string, string>,
  progress: (line: string) => void,
): Promise<{ idleMb: number; peakMb: number }> {
  const script = fileURLToPath(new URL('./bare-aedes-child.js', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stations: BenchStation[] = [];
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const port = Number(/listening (\d+)/.exec(line.toString())?.[1]);
    if (!port) throw new Error(`bare aedes child did not start: ${line.toString()}`);
    const pid = child.pid as number;
    await sleep(1_000);
    const idle = await procSample(pid);
    stations = await connectAll(
      `mqtt://127.0.0.1:${port}`,
      tokens,
      64,
      (n) => n % 1_000 === 0 && progress(`bare Aedes: connected ${n}/${tokens.size}`),
    );
    let peakMb = (await procSample(pid)).rssMb;
    await Promise.all(stations.map((s, i) => publishReadings(s, mildReading(Date.now(), i))));
    for (let k = 0; k < 10; k += 1) {
      await sleep(1_000);
      peakMb = Math.max(peakMb, (await procSample(pid)).rssMb);
    }
    return { idleMb: idle.rssMb, peakMb };
  } finally {
    await disconnectAll(stations);
    child.kill('SIGTERM');
  }
}

export interface FleetLoadResult {
  registerS: number;
  connectS: number;
  /** After start-up, before any station connected. */
  idle: ProcSample;
  /** While every station connected and logged in for the first time (sampled every 250 ms), and right after. */
  connectPhase: { cpuS: number; peakRssMb: number; endRssMb: number };
  /** Peak RSS over the publishing window (sampled every 2 s), after all logins. */
  peakRssMb: number;
  endRssMb: number;
  /** Child CPU over the publishing window, % of one core. */
  cpuPct: number;
  /** The system's main thread at the end of the publishing window, from its /metrics (MB): its V8 heap and external memory. */
  mainHeap: { usedMb: number; totalMb: number; externalMb: number } | null;
  published: number;
  failed: number;
  stored: number;
  /** The same stations on a bare Aedes: the broker's own memory, the ceiling of what a gateway can save. */
  bareAedes?: { idleMb: number; peakMb: number };
  /** After a restart, every station reconnecting at once (`reconnectAfterRestart`): until the last is in, and peak RSS meanwhile. */
  reconnect?: { seconds: number; peakRssMb: number; cpuS: number };
}

export async function runFleetLoad(options: FleetLoadOptions): Promise<FleetLoadResult> {
  const { progress } = options;
  const influx = await startInfluxd();
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-fleet-'));
  let stations: BenchStation[] = [];
  let child: Awaited<ReturnType<typeof startChildUp>> | null = null;
  try {
    progress(`registering ${options.stations} stations`);
    const t0 = performance.now();
    const tokens = await registerOffline(dataDir, systemClock, 'fleet', options.stations);
    const registerS = (performance.now() - t0) / 1_000;
    // Connections over the default limit are the point of this bench.
    child = await startChildUp(dataDir, influx.influxd.url, { MQTT_MAX_CONNECTIONS: String(options.stations * 2) }, options.nodeArgs ?? []);
    await sleep(2_000);
    const idle = await procSample(child.pid);
    const t1 = performance.now();
    const connecting = watchRss(child.pid);
    try {
      stations = await connectAll(child.mqttUrl, tokens, 64, (n) => n % 250 === 0 && progress(`connected ${n}/${options.stations}`));
    } finally {
      connecting.stop();
    }
    const connectS = (performance.now() - t1) / 1_000;
    const connected = await procSample(child.pid);
    const connectPhase = {
      cpuS: connected.cpuS - idle.cpuS,
      peakRssMb: Math.max(connecting.peakRssMb(), connected.rssMb),
      endRssMb: connected.rssMb,
    };
    const load = await publishFor(stations, options, child.pid);
    const mainHeap = await heapOf(child.httpUrl);
    await sleep(3_000);
    const stored = await countReadings(influx.influxd.url);
    let reconnect: FleetLoadResult['reconnect'];
    if (options.reconnectAfterRestart) {
      progress('restarting the system');
      await child.stop();
      await disconnectAll(stations); // their sockets are closed already; this drops the clients
      stations = [];
      child = await startChildUp(
        dataDir,
        influx.influxd.url,
        { MQTT_MAX_CONNECTIONS: String(options.stations * 2) },
        options.nodeArgs ?? [],
      );
      const pid = child.pid;
      const before = await procSample(pid);
      let peakRssMb = before.rssMb;
      const sampler = setInterval(() => {
        void procSample(pid).then(
          (s) => (peakRssMb = Math.max(peakRssMb, s.rssMb)),
          () => undefined,
        );
      }, 250);
      const t2 = performance.now();
      try {
        // All at once, as far as one address may: the gateway holds at most 64 unfinished handshakes per remote
        // address (gateway/limits.ts) and every bench station comes from 127.0.0.1; a real fleet's many addresses
        // may have 256 in flight.
        stations = await connectAll(child.mqttUrl, tokens, 64, (n) => n % 1_000 === 0 && progress(`reconnected ${n}/${options.stations}`));
      } finally {
        clearInterval(sampler);
      }
      const seconds = (performance.now() - t2) / 1_000;
      reconnect = { seconds, peakRssMb, cpuS: (await procSample(pid)).cpuS - before.cpuS };
    }
    await disconnectAll(stations);
    stations = [];
    const bareAedes = options.bareAedesCeiling ? await bareAedesMemory(tokens, progress) : undefined;
    return {
      registerS,
      connectS,
      idle,
      connectPhase,
      ...load,
      mainHeap,
      stored,
      ...(bareAedes ? { bareAedes } : {}),
      ...(reconnect ? { reconnect } : {}),
    };
  } finally {
    await disconnectAll(stations);
    await child?.stop();
    await influx.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Samples a process's RSS every 250 ms until stopped. */
function watchRss(pid: number): { peakRssMb(): number; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    void procSample(pid).then(
      (s) => (peak = Math.max(peak, s.rssMb)),
      () => undefined,
    );
  }, 250);
  return { peakRssMb: () => peak, stop: () => clearInterval(timer) };
}

/** The main thread's V8 heap and external memory as the system's own /metrics reports them (prom-client's defaults). */
async function heapOf(httpUrl: string): Promise<FleetLoadResult['mainHeap']> {
  const text = await fetch(`${httpUrl}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const mb = (name: string): number => Number(new RegExp(`^frostwatch_process_nodejs_${name} (\\S+)`, 'm').exec(text)?.[1]) / 1024 ** 2;
  const heap = { usedMb: mb('heap_size_used_bytes'), totalMb: mb('heap_size_total_bytes'), externalMb: mb('external_memory_bytes') };
  return Object.values(heap).every(Number.isFinite) ? heap : null;
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
    setTimeout(
      () => {
        const send = (): void =>
          void publishReadings(s, mildReading(Date.now(), i)).then(
            () => (published += 1),
            () => (failed += 1),
          );
        send();
        timers[i] = setInterval(send, options.intervalMs);
      },
      (i / stations.length) * options.intervalMs,
    ),
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
