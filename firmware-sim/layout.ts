import type { StationCreate, StationId } from '../contracts/index.js';
import { StationIdSchema } from '../contracts/index.js';
import { drawFor } from './random.js';

/** One simulated station: what the registry knows plus the hidden microclimate the simulator plays. */
export interface SimStationSpec extends StationCreate {
  /** Extra night-time cooling of a frost hollow on a clear calm night, °C (0 or −1…−3). */
  hollowOffsetC: number;
  /** Typical 3G/4G signal at the site, dBm. */
  rssiBaseDbm: number;
  /** 1 = new battery; lower drains faster at night. */
  batteryHealth: number;
}

/** A station the fleet can connect: its spec plus the MQTT password issued at registration. */
export interface SimDeviceSpec extends SimStationSpec {
  token: string;
}

interface Commune {
  name: string;
  lat: number;
  lon: number;
}

/**
 * Communes of Lạc Dương district, placed inside the coffee belt the simulator covers
 * (≈ 11.95–12.05 N, 108.35–108.50 E); coordinates are approximate centres of their coffee areas.
 */
const COMMUNES: readonly Commune[] = [
  { name: 'Thị trấn Lạc Dương', lat: 11.995, lon: 108.425 },
  { name: 'Lát', lat: 12.03, lon: 108.4 },
  { name: 'Đạ Sar', lat: 11.985, lon: 108.48 },
  { name: 'Đạ Nhim', lat: 12.04, lon: 108.37 },
  { name: 'Đạ Chais', lat: 12.02, lon: 108.465 },
  { name: "Đưng K'Nớ", lat: 12.038, lon: 108.36 },
];

/** Coffee here grows at 1,400–1,650 m (brief); the frost model's reference is 1,500 m. */
const ELEVATION_MIN_M = 1_400;
const ELEVATION_MAX_M = 1_650;

/**
 * The first three stations have fixed roles so every fleet, however small, shows the frost pattern:
 * a cold hollow high up, a warm ridge, a second hollow. The rest are drawn from the seed.
 */
const ROLES: readonly Pick<SimStationSpec, 'elevationM' | 'hollowOffsetC'>[] = [
  { elevationM: 1_620, hollowOffsetC: -3 },
  { elevationM: 1_420, hollowOffsetC: 0 },
  { elevationM: 1_560, hollowOffsetC: -2.5 },
];

export function stationIdOf(index: number): StationId {
  return StationIdSchema.parse(`sim-${String(index + 1).padStart(2, '0')}`);
}

/** Deterministic station specs `sim-01`…: same (n, seed) → same fleet. */
export function fleetLayout(n: number, seed: number): SimStationSpec[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`station count must be a non-negative integer, got ${n}`);
  return Array.from({ length: n }, (_, index) => stationSpec(index, seed));
}

function stationSpec(index: number, seed: number): SimStationSpec {
  const draw = drawFor(seed, 'layout', index);
  const commune = COMMUNES[index % COMMUNES.length] as Commune;
  const role = ROLES[index];
  const hollowOffsetC = role?.hollowOffsetC ?? (draw.chance(1 / 3) ? -round1(draw.between(1, 3)) : 0);
  const elevationM = role?.elevationM ?? Math.round(draw.between(ELEVATION_MIN_M, ELEVATION_MAX_M));
  const k = Math.floor(index / COMMUNES.length) + 1;
  return {
    id: stationIdOf(index),
    name: `${commune.name} ${k}${hollowOffsetC < 0 ? ' (thung lũng)' : ''}`,
    commune: commune.name,
    lat: round4(commune.lat + draw.between(-0.008, 0.008)),
    lon: round4(commune.lon + draw.between(-0.008, 0.008)),
    elevationM,
    crop: draw.chance(0.15) ? 'young' : 'arabica',
    hollowOffsetC,
    rssiBaseDbm: Math.round(draw.between(-100, -65)),
    batteryHealth: round2(draw.between(0.75, 1)),
  };
}

/** The registration body for `POST /api/stations`. */
export function toStationCreate(spec: SimStationSpec): StationCreate {
  const { id, name, commune, lat, lon, elevationM, crop } = spec;
  return { id, name, commune, lat, lon, elevationM, crop };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
