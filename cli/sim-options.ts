import type { Command } from 'commander';
import { type Clock, type HeldClock, heldAcceleratedClock, systemClock } from '../contracts/index.js';
import {
  SCENARIOS,
  type Scenario,
  type SimDeviceSpec,
  type SimStationSpec,
  createFleet,
  fleetLayout,
  renderProgress,
} from '../firmware-sim/index.js';
import type { Logger } from 'pino';
import { fail } from './output.js';

export interface SimOptions {
  scenario: Scenario;
  speed: number;
  seed: number;
  start?: string;
}

/** The options `up --sim` and `sim` share. */
export function addSimOptions(command: Command): Command {
  return command
    .option('--scenario <name>', `weather and faults: ${SCENARIOS.join(' | ')}`, 'frost-night')
    .option('--speed <x>', 'simulated seconds per real second (1 = real time)', Number, 1)
    .option('--seed <n>', 'seed for repeatable weather and faults', Number, 1)
    .option('--start <iso>', 'simulated start time, once the system is up (default: now at --speed 1, else 16:00 today, local time)');
}

export function checkSimOptions(opts: SimOptions): SimOptions {
  if (!SCENARIOS.includes(opts.scenario)) fail(`--scenario: one of ${SCENARIOS.join(', ')} (got "${opts.scenario}")`);
  if (!(opts.speed > 0) || opts.speed > 100_000) fail(`--speed: a number above 0 and at most 100000 (got "${opts.speed}")`);
  if (!Number.isInteger(opts.seed)) fail(`--seed: an integer (got "${opts.seed}")`);
  if (opts.start !== undefined && Number.isNaN(Date.parse(opts.start))) fail(`--start: an ISO 8601 time (got "${opts.start}")`);
  return opts;
}

/**
 * The time line the whole system shares. At real speed it is the wall clock. Faster, it starts at
 * --start (default 16:00 today in the farms' zone, so an evening and a night follow), and the server
 * uses the same clock so the readings are "now" to it and no reading is refused as from the future.
 * It stands at --start until `release()`: the caller releases it once the system is up.
 */
export function simClock(opts: SimOptions, timeZone: string, now: number = Date.now()): HeldClock {
  if (opts.start === undefined && opts.speed === 1)
    return { ...systemClock, release: () => undefined, isHeld: () => false, released: Promise.resolve() };
  const startMs = opts.start !== undefined ? Date.parse(opts.start) : localHourToday(16, timeZone, now);
  return heldAcceleratedClock(startMs, opts.speed);
}

function localHourToday(hour: number, timeZone: string, now: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
    .formatToParts(new Date(now))
    .reduce<Record<string, number>>((acc, p) => (p.type === 'literal' ? acc : { ...acc, [p.type]: Number(p.value) }), {});
  const asUtc = Date.UTC(
    parts['year'] ?? 1970,
    (parts['month'] ?? 1) - 1,
    parts['day'] ?? 1,
    parts['hour'] ?? 0,
    parts['minute'] ?? 0,
    parts['second'] ?? 0,
  );
  const offsetMs = asUtc - Math.floor(now / 1000) * 1000;
  return Date.UTC(parts['year'] ?? 1970, (parts['month'] ?? 1) - 1, parts['day'] ?? 1, hour) - offsetMs;
}

export interface RunningFleet {
  stop(): Promise<void>;
}

/**
 * Start a simulated fleet. `credentials` registers (or re-keys) each station and returns its token.
 * Progress: one line, redrawn in place on a terminal, every 10 s otherwise.
 */
export async function startFleet(args: {
  count: number;
  opts: SimOptions;
  brokerUrl: string;
  ca?: string[] | undefined;
  clock: Clock;
  timeZone: string;
  logger: Logger;
  credentials: (spec: SimStationSpec) => Promise<string>;
}): Promise<RunningFleet> {
  const specs = fleetLayout(args.count, args.opts.seed);
  const stations: SimDeviceSpec[] = [];
  for (const spec of specs) stations.push({ ...spec, token: await args.credentials(spec) });
  // Undefined, not false, when stderr is a pipe or a file (Node types it boolean).
  const tty = (process.stderr.isTTY as boolean | undefined) === true;
  const fleet = createFleet({
    brokerUrl: args.brokerUrl,
    ca: args.ca,
    stations,
    scenario: args.opts.scenario,
    seed: args.opts.seed,
    clock: args.clock,
    logger: args.logger,
    progressEveryMs: tty ? 1_000 : 10_000,
    onProgress: (stats) =>
      process.stderr.write(tty ? `\r\x1b[2K${renderProgress(stats, args.timeZone)}` : `${renderProgress(stats, args.timeZone)}\n`),
  });
  fleet.start();
  return {
    stop: async () => {
      await fleet.stop();
      if (tty) process.stderr.write('\n');
    },
  };
}
