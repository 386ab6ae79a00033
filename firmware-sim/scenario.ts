import type { Reading } from '../contracts/index.js';
import { nightOf } from '../contracts/solar.js';
import type { SimStationSpec } from './layout.js';
import { drawFor, hashKey } from './random.js';
import { sampleWeather, type SimWorld } from './weather.js';

/**
 * What a scenario does beyond the weather: which stations lose their network and when, which
 * sensors are broken and how, plus the device-level values (battery, signal, clock) — all pure.
 */
export type SensorFault = 'stuck' | 'spikes' | 'invalid-payloads';

export interface ScenarioPlan {
  world: SimWorld;
  faults: ReadonlyMap<string, SensorFault>;
  /** Hours after sunset at which a listed station's network drops, every night, for OUTAGE_HOURS. */
  outageStartH: ReadonlyMap<string, number>;
}

export const OUTAGE_HOURS = 2;
const HOUR_MS = 3_600_000;
const FAULT_ORDER: readonly SensorFault[] = ['stuck', 'spikes', 'invalid-payloads'];
/** A spiking sensor (loose contact, EMI) jumps on ~3 % of samples; a buggy firmware garbles ~5 %. */
const SPIKE_PROBABILITY = 0.03;
const INVALID_PROBABILITY = 0.05;

export function planScenario(stations: readonly Pick<SimStationSpec, 'id'>[], world: SimWorld): ScenarioPlan {
  // A seeded shuffle picks the victims, so a different seed breaks different stations.
  const shuffled = [...stations].sort((a, b) => hashKey([world.seed, 'victim', a.id]) - hashKey([world.seed, 'victim', b.id]));
  const faults = new Map<string, SensorFault>();
  const outageStartH = new Map<string, number>();
  if (world.scenario === 'faulty-sensor') {
    FAULT_ORDER.forEach((fault, i) => {
      const station = shuffled[i];
      if (station) faults.set(station.id, fault);
    });
  }
  if (world.scenario === 'outage') {
    const count = Math.max(1, Math.ceil(stations.length / 3));
    for (const station of shuffled.slice(0, count)) {
      // Outages start 3–6 h after sunset: the cold part of the night, when the data matters most.
      outageStartH.set(station.id, drawFor(world.seed, 'outage', station.id).between(3, 6));
    }
  }
  return { world, faults, outageStartH };
}

/** True while the scenario has cut this station's network. */
export function isNetworkDown(stationId: string, plan: ScenarioPlan, tMs: number, site: Pick<SimStationSpec, 'lat' | 'lon'>): boolean {
  const startH = plan.outageStartH.get(stationId);
  if (startH === undefined) return false;
  const { sunsetMs } = nightOf(site.lat, site.lon, tMs);
  const fromMs = sunsetMs + startH * HOUR_MS;
  return tMs >= fromMs && tMs < fromMs + OUTAGE_HOURS * HOUR_MS;
}

export interface DeviceProfile {
  /** Error of the station's clock at boot, ms. */
  clockOffsetMs: number;
  /** Crystal error, parts per million (ESP32 RTC crystals: tens of ppm). */
  driftPpm: number;
  fw: string;
}

export function deviceProfile(stationId: string, seed: number): DeviceProfile {
  const draw = drawFor(seed, 'device', stationId);
  return {
    clockOffsetMs: Math.round(draw.between(-8_000, 8_000)),
    driftPpm: draw.between(-20, 20),
    fw: 'frostwatch-sim/1.4.2',
  };
}

/** The station's own timestamp for a sample taken at true time `tMs`; `t0Ms` is when its clock was set. */
export function stationTs(profile: DeviceProfile, tMs: number, t0Ms: number): number {
  return Math.round(tMs + profile.clockOffsetMs + (tMs - t0Ms) * profile.driftPpm * 1e-6);
}

/** Solar-charged Li-ion cell: drains through the night, charges back by late morning. */
export function batteryV(station: Pick<SimStationSpec, 'lat' | 'lon' | 'batteryHealth'>, tMs: number): number {
  const full = 4.15;
  const drainPerH = 0.018 / station.batteryHealth;
  const night = nightOf(station.lat, station.lon, tMs);
  if (tMs >= night.sunsetMs) return full - drainPerH * ((tMs - night.sunsetMs) / HOUR_MS);
  const lastNight = nightOf(station.lat, station.lon, tMs - 12 * HOUR_MS);
  const dawnV = full - drainPerH * ((lastNight.sunriseMs - lastNight.sunsetMs) / HOUR_MS);
  const sunH = Math.max(0, (tMs - lastNight.sunriseMs) / HOUR_MS);
  return Math.min(full, dawnV + 0.06 * sunH);
}

export type StationSample = { kind: 'reading'; reading: Reading } | { kind: 'invalid'; payload: string };

/** What the station publishes for the sample at true time `tMs`, stamped `ts` (its clock) and `seq`. */
export function sampleStation(station: SimStationSpec, plan: ScenarioPlan, tMs: number, stamp: { ts: number; seq: number }): StationSample {
  const { seed } = plan.world;
  const draw = drawFor(seed, 'telemetry', station.id, Math.floor(tMs / 1_000));
  // The dew point the weather was built from is truth, not something a station sends.
  const { airTempC, rhPct, windMs, leafTempC } = sampleWeather(station, tMs, plan.world);
  const reading: Reading = {
    ts: stamp.ts,
    airTempC,
    rhPct,
    windMs,
    leafTempC,
    batteryV: Math.round((batteryV(station, tMs) + 0.005 * draw.normal()) * 1_000) / 1_000,
    rssiDbm: Math.min(-40, Math.max(-120, Math.round(station.rssiBaseDbm + 3 * draw.normal()))),
    seq: stamp.seq,
  };
  const fault = plan.faults.get(station.id);
  if (fault === 'stuck') {
    // The sensor froze at the value it read at this night's sunset.
    const stuckAt = sampleWeather(station, nightOf(station.lat, station.lon, tMs).sunsetMs, plan.world);
    return { kind: 'reading', reading: { ...reading, airTempC: stuckAt.airTempC } };
  }
  if (fault === 'spikes' && draw.chance(SPIKE_PROBABILITY)) {
    const jumpC = draw.between(8, 20) * (draw.chance(0.5) ? 1 : -1);
    return { kind: 'reading', reading: { ...reading, airTempC: Math.round((reading.airTempC + jumpC) * 100) / 100 } };
  }
  if (fault === 'invalid-payloads' && draw.chance(INVALID_PROBABILITY)) {
    return { kind: 'invalid', payload: invalidPayload(draw.uniform(), reading) };
  }
  return { kind: 'reading', reading };
}

/** Garbage real firmware has been seen to send: truncated JSON, strings for numbers, seconds for ms. */
function invalidPayload(u: number, reading: Reading): string {
  const json = JSON.stringify(reading);
  if (u < 0.25) return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
  if (u < 0.5) return JSON.stringify({ ...reading, airTempC: 'nan' });
  if (u < 0.75) return JSON.stringify({ ...reading, ts: Math.floor(reading.ts / 1_000) });
  return JSON.stringify({ ...reading, airTempC: 850 });
}
