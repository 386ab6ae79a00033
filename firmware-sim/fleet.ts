import type { Logger } from 'pino';
import type { Clock } from '../contracts/index.js';
import { createDevice, type DeviceOptions, type DeviceStats, type DeviceTuning, type SimDevice } from './device.js';
import type { SimDeviceSpec } from './layout.js';
import { planScenario, type ScenarioPlan } from './scenario.js';
import { realTimers, type SimTimers } from './timers.js';
import type { Scenario } from './weather.js';

export interface FleetOptions {
  /** e.g. `mqtt://127.0.0.1:1883`. */
  brokerUrl: string;
  /** CAs to trust for mqtts:// (see openLink). */
  ca?: string[] | undefined;
  stations: readonly SimDeviceSpec[];
  scenario: Scenario;
  seed: number;
  /** The shared simulated time line (`acceleratedClock(startMs, speed)`). */
  clock: Clock;
  logger: Logger;
  /** Called every `progressEveryMs` real milliseconds while running, and once at stop. */
  onProgress?: (stats: FleetStats) => void;
  progressEveryMs?: number;
  timers?: SimTimers;
  tuning?: Partial<DeviceTuning>;
  /** First sample (simulated); default `clock.now()` at `start()`. */
  startMs?: number;
  /** Each station's readings as their PUBACK arrives. */
  onAcked?: DeviceOptions['onAcked'];
}

/** The device counters the fleet adds up. */
type SummedCounters = Pick<DeviceStats, 'sampled' | 'published' | 'acked' | 'buffered' | 'dropped' | 'invalidSent' | 'reboots'>;

export interface FleetStats extends SummedCounters {
  simTimeMs: number;
  stations: number;
  connected: number;
  /** Coldest latest air temperature across the fleet, or null before the first sample. */
  coldest: { stationId: string; airTempC: number } | null;
  devices: DeviceStats[];
}

export interface Fleet {
  readonly plan: ScenarioPlan;
  readonly devices: readonly SimDevice[];
  start(): void;
  /** Stops every device (each one even if another fails); idempotent. */
  stop(): Promise<void>;
  stats(): FleetStats;
}

export function createFleet(options: FleetOptions): Fleet {
  const timers = options.timers ?? realTimers;
  const plan = planScenario(options.stations, { scenario: options.scenario, seed: options.seed });
  const devices = options.stations.map((station) =>
    createDevice({
      brokerUrl: options.brokerUrl,
      ca: options.ca,
      station,
      plan,
      clock: options.clock,
      logger: options.logger,
      timers,
      tuning: options.tuning,
      startMs: options.startMs,
      onAcked: options.onAcked,
    }),
  );
  let progressTimer: unknown = null;
  let stopping: Promise<void> | null = null;

  const stats = (): FleetStats =>
    summarize(
      options.clock.now(),
      devices.map((d) => d.stats()),
    );
  const report = (): void => {
    progressTimer = null;
    options.onProgress?.(stats());
    if (!stopping) progressTimer = timers.setTimeout(report, options.progressEveryMs ?? 1_000);
  };

  return {
    plan,
    devices,
    start() {
      if (stopping) throw new Error('fleet already stopped');
      options.logger.info(
        { stations: devices.length, scenario: options.scenario, seed: options.seed, faults: Object.fromEntries(plan.faults) },
        'fleet starting',
      );
      for (const device of devices) device.start();
      if (options.onProgress && progressTimer === null) report();
    },
    stop() {
      stopping ??= (async () => {
        timers.clearTimeout(progressTimer);
        const results = await Promise.allSettled(devices.map((d) => d.stop()));
        for (const r of results) if (r.status === 'rejected') options.logger.error({ err: r.reason }, 'device stop failed');
        options.onProgress?.(stats());
      })();
      return stopping;
    },
    stats,
  };
}

function summarize(simTimeMs: number, devices: DeviceStats[]): FleetStats {
  const sum = (pick: (d: DeviceStats) => number): number => devices.reduce((acc, d) => acc + pick(d), 0);
  let coldest: FleetStats['coldest'] = null;
  for (const d of devices) {
    if (d.lastAirTempC !== null && (coldest === null || d.lastAirTempC < coldest.airTempC))
      coldest = { stationId: d.stationId, airTempC: d.lastAirTempC };
  }
  return {
    simTimeMs,
    stations: devices.length,
    connected: devices.filter((d) => d.connected).length,
    sampled: sum((d) => d.sampled),
    published: sum((d) => d.published),
    acked: sum((d) => d.acked),
    buffered: sum((d) => d.buffered),
    dropped: sum((d) => d.dropped),
    invalidSent: sum((d) => d.invalidSent),
    reboots: sum((d) => d.reboots),
    coldest,
    devices,
  };
}
