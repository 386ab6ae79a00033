/**
 * Issue 15, measurement 4: the memory of a fleet whose rule windows are full — every station's last three hours of
 * readings in the rule engine, as by the small hours of a frost night — at one reading a minute (10,000 stations;
 * quick: 1,000) and at one every 10 s (the fastest cadence the contract allows; 1,000 stations, quick: 200, the
 * per-station figure projected to 10,000). Goal: ≤ 400 MB peak RSS for 10,000 stations at one reading a minute.
 *
 * A night takes hours, so it runs on a simulated clock: a child `frostwatch up --speed S --start 18:00` (its clock
 * and the stations' run S times faster than real time), and every station publishes live, one reading per interval
 * of simulated time, for 3 h 15 min of it: what a live night leaves in the windows, at S times the rate. The clients
 * and InfluxDB run in this process, so the child's RSS is the gateway + server + rule engine thread. After the night
 * the child is stopped, which saves every state: one is read back to report how many samples a window held.
 */
import Database from 'better-sqlite3';
import { type Reading, readingsTopic } from '../contracts/index.js';
import { dataPaths } from '../server/paths.js';
import { decodeState } from '../server/warnings/state-codec.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runIfMain } from './support/entry.js';
import { type BenchStation, connectAll, disconnectAll } from './support/stations.js';
import { countReadings, procSample, registerOffline, sleep, startChildUp, startInfluxd } from './support/system.js';
import { systemClock } from '../contracts/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WINDOW_MS = 3 * 3_600_000 + 15 * 60_000;
const GOAL_MB = 400;

interface NightRun {
  stations: number;
  intervalS: number;
  speed: number;
  idleMb: number;
  connectedMb: number;
  peakMb: number;
  endMb: number;
  readings: number;
  failed: number;
  stored: number;
  fillS: number;
  /** V8 heaps at the end, MB: the main thread's and the rule engine thread's (from the child's /metrics). */
  heap: { mainUsed: number; mainTotal: number; engineUsed: number; engineTotal: number; engineArrays: number };
  /** Samples in one station's saved window, read back after the stop. */
  windowSamples: number;
}

export const bench: Bench = {
  id: 'night-windows',
  title: 'Full rule windows: memory by dawn at one reading a minute and at 10 s',
  run: async ({ quick, progress }: BenchOptions): Promise<BenchRow[]> => {
    // Speeds chosen so that the fleet publishes ~3,000 readings a second at most: within what ingest takes here.
    const minute = await nightRun(quick ? 1_000 : 10_000, 60, quick ? 120 : 20, progress);
    const fast = await nightRun(quick ? 200 : 1_000, 10, quick ? 120 : 30, progress);
    const perStationKb = (r: NightRun): number => ((r.endMb - r.connectedMb) * 1_024) / r.stations;
    const note = (r: NightRun): string =>
      `${r.stations.toLocaleString()} stations, one reading every ${r.intervalS} s of a clock ${r.speed}× real time for 3 h 15 min of it (${r.fillS.toFixed(0)} s): ${r.readings.toLocaleString()} acknowledged, ${r.failed} failed, ${r.stored.toLocaleString()} stored; a saved window holds ${r.windowSamples} samples`;
    // 10,000 stations connected (measured, or scaled from the quick run), plus 10,000 full windows at each cadence.
    const connected10k = minute.idleMb + ((minute.connectedMb - minute.idleMb) * 10_000) / minute.stations;
    const projectedAt = (r: NightRun): number => connected10k + (perStationKb(r) * 10_000) / 1_024;
    const projected = minute.stations === 10_000 ? minute.peakMb : projectedAt(minute);
    return [
      {
        group: 8,
        name: `peak RSS, ${minute.stations.toLocaleString()} stations with full windows, one reading a minute`,
        value: Math.round(minute.peakMb),
        unit: 'MB',
        goal: `≤ ${GOAL_MB} MB for 10,000`,
        ratio: round2(projected / GOAL_MB),
        note: note(minute),
      },
      { group: 8, name: 'RSS with full windows, after the fill', value: Math.round(minute.endMb), unit: 'MB' },
      { group: 8, name: 'RSS connected, before the windows fill', value: Math.round(minute.connectedMb), unit: 'MB' },
      { group: 8, name: 'RSS before any connection', value: Math.round(minute.idleMb), unit: 'MB' },
      { group: 8, name: 'full window, one reading a minute, per station', value: round1(perStationKb(minute)), unit: 'KB' },
      {
        group: 8,
        name: 'V8 heap in use with full windows: rule engine thread',
        value: Math.round(minute.heap.engineUsed),
        unit: 'MB',
        note: `of ${Math.round(minute.heap.engineTotal)} MB reserved; windows' array buffers ${Math.round(minute.heap.engineArrays)} MB; the main thread's heap ${Math.round(minute.heap.mainUsed)} MB in use of ${Math.round(minute.heap.mainTotal)} MB`,
      },
      {
        group: 8,
        name: `peak RSS, ${fast.stations.toLocaleString()} stations with full windows at 10 s`,
        value: Math.round(fast.peakMb),
        unit: 'MB',
        note: note(fast),
      },
      {
        group: 8,
        name: 'full window at 10 s, per station',
        value: round1(perStationKb(fast)),
        unit: 'KB',
        note: `projected to 10,000 stations at 10 s: ~${Math.round(projectedAt(fast))} MB (10,000 connected + 10,000 such windows)`,
      },
    ];
  },
};

async function nightRun(stations: number, intervalS: number, speed: number, progress: (line: string) => void): Promise<NightRun> {
  const label = `${stations.toLocaleString()} stations at ${intervalS} s`;
  const influx = await startInfluxd();
  const dataDir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-night-'));
  let clients: BenchStation[] = [];
  let child: Awaited<ReturnType<typeof startChildUp>> | null = null;
  const timers: NodeJS.Timeout[] = [];
  try {
    progress(`${label}: registering`);
    const tokens = await registerOffline(dataDir, systemClock, 'night', stations);
    // 18:00 in Lạc Dương today: an evening and a night follow. The child's clock starts when it starts; this process
    // counts from just before, so its readings run a moment (≤ a few simulated minutes at most) ahead, as accepted.
    const startMs = localEvening(Date.now());
    const realStart = Date.now();
    const simNow = (): number => startMs + (Date.now() - realStart) * speed;
    child = await startChildUp(
      dataDir,
      influx.influxd.url,
      { MQTT_MAX_CONNECTIONS: String(stations * 2) },
      [],
      ['--speed', String(speed), '--start', new Date(startMs).toISOString()],
    );
    const pid = child.pid;
    await sleep(2_000);
    const idleMb = (await procSample(pid)).rssMb;
    let peakMb = idleMb;
    const sampler = setInterval(() => {
      void procSample(pid).then(
        (s) => (peakMb = Math.max(peakMb, s.rssMb)),
        () => undefined,
      );
    }, 500);
    try {
      clients = await connectAll(child.mqttUrl, tokens, 64, (n) => n % 1_000 === 0 && progress(`${label}: connected ${n}`));
      await sleep(2_000);
      const connectedMb = (await procSample(pid)).rssMb;
      const t0 = performance.now();
      const nightStart = simNow();
      const realIntervalMs = (intervalS * 1_000) / speed;
      let published = 0;
      let failed = 0;
      // Station i publishes at i/N of the interval, then every interval: an even spread, as a real fleet's clocks give.
      clients.forEach((station, i) => {
        let k = 0;
        const send = (): void => {
          const reading: Reading = { ts: Math.round(simNow()), airTempC: mild(i, (k += 1)), rhPct: 70, windMs: 1.2, batteryV: 4 };
          station.client.publishAsync(readingsTopic(station.id), JSON.stringify(reading), { qos: 1 }).then(
            () => (published += 1),
            () => (failed += 1),
          );
        };
        timers.push(
          setTimeout(
            () => {
              send();
              timers.push(setInterval(send, realIntervalMs));
            },
            (i / clients.length) * realIntervalMs,
          ),
        );
      });
      while (simNow() - nightStart < WINDOW_MS) {
        await sleep(2_000);
        const simMin = (simNow() - nightStart) / 60_000;
        progress(`${label}: ${simMin.toFixed(0)} of ${WINDOW_MS / 60_000} simulated minutes, ${published.toLocaleString()} acknowledged`);
      }
      for (const t of timers) clearTimeout(t);
      const readings = published;
      let stored = 0;
      const deadline = performance.now() + 5 * 60_000;
      while ((stored = await countReadings(influx.influxd.url)) < readings && performance.now() < deadline) await sleep(1_000);
      await untilEngineCaughtUp(child.httpUrl, progress);
      const fillS = (performance.now() - t0) / 1_000;
      const endMb = (await procSample(pid)).rssMb;
      const heap = await heapFigures(child.httpUrl);
      await disconnectAll(clients);
      clients = [];
      await child.stop(); // saves every rule state
      return {
        stations,
        intervalS,
        speed,
        idleMb,
        connectedMb,
        peakMb,
        endMb,
        readings,
        failed,
        stored,
        fillS,
        heap,
        windowSamples: savedWindow(dataDir),
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    for (const t of timers) clearTimeout(t);
    await disconnectAll(clients);
    await child?.stop();
    await influx.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** 18:00 today in Lạc Dương (UTC+7, no daylight saving). */
function localEvening(nowMs: number): number {
  const day = Math.floor((nowMs + 7 * 3_600_000) / 86_400_000) * 86_400_000;
  return day + 18 * 3_600_000 - 7 * 3_600_000;
}

/** The V8 heap figures of the child's main thread (prom-client's defaults) and of its rule engine thread, in MB. */
async function heapFigures(httpUrl: string): Promise<NightRun['heap']> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const mb = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN) / 1_048_576;
  return {
    mainUsed: mb(/^frostwatch_process_nodejs_heap_size_used_bytes (\S+)/m),
    mainTotal: mb(/^frostwatch_process_nodejs_heap_size_total_bytes (\S+)/m),
    engineUsed: mb(/^frostwatch_rule_engine_heap_bytes\{kind="used"\} (\S+)/m),
    engineTotal: mb(/^frostwatch_rule_engine_heap_bytes\{kind="total"\} (\S+)/m),
    engineArrays: mb(/^frostwatch_rule_engine_heap_bytes\{kind="array_buffers"\} (\S+)/m),
  };
}

/** Wait until the rule engine's thread has evaluated everything handed to it (`/health` → checks.ruleEngine). */
async function untilEngineCaughtUp(httpUrl: string, progress: (line: string) => void): Promise<void> {
  const deadline = performance.now() + 10 * 60_000;
  while (performance.now() < deadline) {
    const health = (await (await fetch(`${httpUrl}/health`)).json()) as { checks?: Record<string, { detail?: string }> };
    const detail = health.checks?.['ruleEngine']?.detail ?? '';
    if (/\b0 readings queued/.test(detail) || detail.startsWith('in-process')) return;
    progress(`rule engine: ${detail}`);
    await sleep(500);
  }
  throw new Error('the rule engine did not catch up within 10 minutes');
}

/** Samples in the window of the first station's saved rule state. */
function savedWindow(dataDir: string): number {
  const db = new Database(dataPaths(dataDir).registry, { readonly: true });
  try {
    const row = db.prepare<[], { state: string }>('SELECT state FROM station_rule_state ORDER BY station_id LIMIT 1').get();
    return row ? decodeState(row.state).window.length : 0;
  } finally {
    db.close();
  }
}

/** A mild night with some variety, so no two windows are the same and nothing moves the frost ladder. */
const mild = (i: number, k: number): number => Math.round((14 + ((i * 7) % 20) / 10 + Math.sin(k / 30)) * 100) / 100;
const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

await runIfMain(import.meta.url, bench);
