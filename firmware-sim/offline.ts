import type { StationId } from '../contracts/index.js';
import type { SimStationSpec } from './layout.js';
import { deviceProfile, isNetworkDown, planScenario, sampleStation, stationTs, type StationSample } from './scenario.js';
import type { Scenario } from './weather.js';

/**
 * A scenario without MQTT: exactly the samples the fleet's devices would take (same seed, same
 * start, same interval), for tests and for replaying a night into the rules.
 */
export interface OfflineOptions {
  stations: readonly SimStationSpec[];
  scenario: Scenario;
  seed: number;
  /** True simulated time of the first sample; also when the station clocks were set. */
  fromMs: number;
  /** Exclusive end. */
  toMs: number;
  intervalS?: number;
}

export interface SimRecord {
  stationId: StationId;
  /** True simulated time of the sample (the reading's `ts` is the station's drifting clock). */
  tMs: number;
  /** False while the scenario has cut this station's network (the device would buffer it). */
  networkUp: boolean;
  sample: StationSample;
}

export function* generateReadings(options: OfflineOptions): Generator<SimRecord> {
  const intervalMs = (options.intervalS ?? 60) * 1_000;
  if (!(intervalMs > 0)) throw new RangeError(`intervalS must be positive, got ${options.intervalS}`);
  const plan = planScenario(options.stations, { scenario: options.scenario, seed: options.seed });
  const profiles = options.stations.map((s) => deviceProfile(s.id, options.seed));
  for (let k = 0, tMs = options.fromMs; tMs < options.toMs; k++, tMs += intervalMs) {
    for (const [i, station] of options.stations.entries()) {
      const profile = profiles[i];
      if (!profile) continue;
      const stamp = { ts: stationTs(profile, tMs, options.fromMs), seq: k };
      yield {
        stationId: station.id,
        tMs,
        networkUp: !isNetworkDown(station.id, plan, tMs, station),
        sample: sampleStation(station, plan, tMs, stamp),
      };
    }
  }
}

export function runScenarioOffline(options: OfflineOptions): SimRecord[] {
  return [...generateReadings(options)];
}
