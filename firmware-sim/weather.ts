import { nightOf, sunTimes } from '../contracts/solar.js';
import type { SimStationSpec } from './layout.js';
import { drawFor, type Draw } from './random.js';

/**
 * Weather the simulated stations measure — pure: (station, time, scenario, seed) → values.
 * Shape of a radiative night after FAO FFST (Snyder & de Melo-Abreu 2005, ch. 5; docs/frost-model.md frost
 * science): a fast fall in the first 2 h after sunset, then T(i) = T₂ + b′·√(i−2) down to the
 * minimum Tp at sunrise. Numbers are for a reference site at 1,500 m; each station adds its
 * elevation lapse, frost-hollow offset and a small per-night microclimate jitter.
 */
export const SCENARIOS = ['frost-night', 'mild', 'outage', 'faulty-sensor'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface SimWorld {
  scenario: Scenario;
  seed: number;
}

export interface NightWeather {
  sky: 'clear' | 'cloudy' | 'windy';
  /** Mean 2 m wind through the night. */
  windMs: number;
  /** Mean afternoon wind of the day before the night. */
  dayWindMs: number;
  /** Afternoon maximum of the day that ends with this night's sunset. */
  dayMaxC: number;
  sunsetC: number;
  /** FFST T₂: air temperature 2 h after sunset. */
  t2C: number;
  /** FFST Tp: the minimum, reached at sunrise. */
  minC: number;
  /** Dew point 2 h after sunset (FFST Td₂). */
  dewPointC: number;
  /** 1 on a clear calm night, ~0.15 under cloud or wind: scales hollow, leaf and dew effects. */
  radiative: number;
}

export interface WeatherSample {
  airTempC: number;
  rhPct: number;
  windMs: number;
  leafTempC: number;
  /** The dew point the sample was built from (truth, not sent by stations). */
  dewPointC: number;
}

export type WeatherSite = Pick<SimStationSpec, 'id' | 'lat' | 'lon' | 'elevationM' | 'hollowOffsetC'>;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const REFERENCE_ELEVATION_M = 1_500;
/** ICAO standard atmosphere environmental lapse rate. */
const LAPSE_C_PER_KM = 6.5;
/** Dew point falls more slowly with height than air temperature (≈ 1.8–2 °C/km). */
const DEW_LAPSE_C_PER_KM = 2;
/** Dew and frost deposition dry the air on radiative nights: Td drifts down ~0.15 °C/h. */
const DEW_FALL_C_PER_H = 0.15;
/** Once saturated the air cools only slowly below the dew point: width of the soft floor, °C. */
const DEW_FLOOR_SOFTNESS_C = 0.6;

/** The regional weather of the night starting at `nightStartMs` (any instant of that UTC day gives the same night). */
export function nightWeather(scenario: Scenario, seed: number, nightStartMs: number): NightWeather {
  // outage and faulty-sensor nights have exactly the frost-night weather of the same seed.
  const kind = scenario === 'mild' ? 'mild' : 'frost-night';
  const draw = drawFor(seed, 'night', kind, Math.floor(nightStartMs / DAY_MS));
  return kind === 'mild' ? mildNight(draw) : frostNight(draw);
}

/**
 * Clear, calm night in the dry season: January maxima at 1,500 m are ~22–25 °C (Đà Lạt climate
 * normals), dry north-east monsoon air (Td ≈ −3.5…−1.5 °C), reference minimum ≈ +1 °C so that
 * hollows and high fields go below zero while ridges stay above.
 */
function frostNight(draw: Draw): NightWeather {
  const dayMaxC = draw.between(22, 25);
  const sunsetC = dayMaxC - draw.between(5.5, 7);
  return {
    sky: 'clear',
    windMs: draw.between(0.2, 0.8),
    dayWindMs: draw.between(1.5, 3.5),
    dayMaxC,
    sunsetC,
    t2C: sunsetC - draw.between(6, 7.5),
    minC: draw.between(0.8, 1.5),
    dewPointC: draw.between(-3.5, -1.5),
    radiative: 1,
  };
}

/** Cloud or wind stops the radiative cooling: a shallow curve, humid air, minimum ≥ 11 °C at 1,500 m. */
function mildNight(draw: Draw): NightWeather {
  const sky = draw.chance(0.5) ? 'cloudy' : 'windy';
  const dayMaxC = draw.between(20, 23);
  const sunsetC = dayMaxC - draw.between(2.5, 4);
  const minC = draw.between(11, 13);
  return {
    sky,
    windMs: sky === 'windy' ? draw.between(3, 5.5) : draw.between(1, 2),
    dayWindMs: draw.between(2, 5),
    dayMaxC,
    sunsetC,
    t2C: sunsetC - draw.between(1.5, 2.5),
    minC,
    dewPointC: minC - draw.between(0.5, 2),
    radiative: 0.15,
  };
}

interface MeanState {
  airC: number;
  dewC: number;
  windMs: number;
  /** Leaf minus air before noise. */
  leafDeltaC: number;
}

interface StationNight {
  weather: NightWeather;
  jitterC: number;
  leafOffsetC: number;
}

function stationNight(site: WeatherSite, world: SimWorld, sunsetMs: number): StationNight {
  const draw = drawFor(world.seed, 'station-night', site.id, Math.floor(sunsetMs / DAY_MS));
  return {
    weather: nightWeather(world.scenario, world.seed, sunsetMs),
    jitterC: draw.between(-0.3, 0.3),
    // Leaves of a clear calm night are 2–3 °C below the screen air (docs/frost-model.md).
    leafOffsetC: draw.between(2, 3),
  };
}

const lapseC = (elevationM: number, perKm: number): number => (-perKm * (elevationM - REFERENCE_ELEVATION_M)) / 1_000;

/** Above the dew point the air follows `rawC`; below, it settles just under the (falling) dew point. */
function dewFloor(rawC: number, dewC: number): number {
  const x = (rawC - dewC) / DEW_FLOOR_SOFTNESS_C;
  return x > 30 ? rawC : dewC + DEW_FLOOR_SOFTNESS_C * Math.log1p(Math.exp(x));
}

function nightMean(site: WeatherSite, world: SimWorld, night: { sunsetMs: number; sunriseMs: number }, tMs: number): MeanState {
  const { weather: w, jitterC, leafOffsetC } = stationNight(site, world, night.sunsetMs);
  const n = (night.sunriseMs - night.sunsetMs) / HOUR_MS;
  const i = Math.min(Math.max((tMs - night.sunsetMs) / HOUR_MS, 0), n);
  const bPrime = (w.minC - w.t2C) / Math.sqrt(n - 2);
  const base = i < 2 ? w.sunsetC - (w.sunsetC - w.t2C) * Math.sqrt(i / 2) : w.t2C + bPrime * Math.sqrt(i - 2);
  const hollowC = site.hollowOffsetC * w.radiative * Math.sqrt(i / n);
  const rawC = base + lapseC(site.elevationM, LAPSE_C_PER_KM) + hollowC + jitterC;
  const dewC = w.dewPointC + lapseC(site.elevationM, DEW_LAPSE_C_PER_KM) - DEW_FALL_C_PER_H * w.radiative * Math.max(0, i - 2);
  return {
    airC: dewFloor(rawC, dewC),
    dewC,
    windMs: w.windMs,
    leafDeltaC: -leafOffsetC * w.radiative * Math.min(1, i),
  };
}

/** Sunrise → afternoon peak (2 h after solar noon) → sunset, joining last night's minimum to tonight's start. */
function dayMean(site: WeatherSite, world: SimWorld, day: { sunriseMs: number; sunsetMs: number }, tMs: number): MeanState {
  const lastNight = nightOf(site.lat, site.lon, day.sunriseMs - 1);
  const tonight = nightOf(site.lat, site.lon, day.sunsetMs);
  const dawn = nightMean(site, world, lastNight, day.sunriseMs);
  const dusk = nightMean(site, world, tonight, day.sunsetMs);
  const { weather: w, jitterC } = stationNight(site, world, day.sunsetMs);
  const maxC = w.dayMaxC + lapseC(site.elevationM, LAPSE_C_PER_KM) + jitterC;
  const peakMs = (day.sunriseMs + day.sunsetMs) / 2 + 2 * HOUR_MS;
  const airC =
    tMs < peakMs
      ? dawn.airC + (maxC - dawn.airC) * Math.sin((Math.PI / 2) * ((tMs - day.sunriseMs) / (peakMs - day.sunriseMs)))
      : maxC - (maxC - dusk.airC) * (1 - Math.cos((Math.PI / 2) * ((tMs - peakMs) / (day.sunsetMs - peakMs))));
  const f = (tMs - day.sunriseMs) / (day.sunsetMs - day.sunriseMs);
  // The breeze builds over 2 h after sunrise and dies over the last 1.5 h before sunset.
  const morningWindMs = dawn.windMs + (w.dayWindMs - dawn.windMs) * Math.min(1, (tMs - day.sunriseMs) / (2 * HOUR_MS));
  return {
    airC,
    dewC: Math.min(dawn.dewC + (dusk.dewC - dawn.dewC) * f, airC),
    windMs: dusk.windMs + (morningWindMs - dusk.windMs) * Math.min(1, (day.sunsetMs - tMs) / (1.5 * HOUR_MS)),
    // Sun-warmed leaves sit a little above the air by day.
    leafDeltaC: 0.5 * Math.sin(Math.PI * f),
  };
}

function meanState(site: WeatherSite, world: SimWorld, tMs: number): MeanState {
  const today = sunTimes(site.lat, site.lon, tMs);
  if (tMs >= today.sunriseMs && tMs < today.sunsetMs) return dayMean(site, world, today, tMs);
  return nightMean(site, world, nightOf(site.lat, site.lon, tMs), tMs);
}

/** WMO Magnus over water (docs/frost-model.md): relative humidity of air at `airC` with dew point `dewC`. */
export function relativeHumidityPct(airC: number, dewC: number): number {
  const magnus = (t: number): number => (17.62 * t) / (243.12 + t);
  return 100 * Math.exp(magnus(Math.min(dewC, airC)) - magnus(airC));
}

/** What a healthy station at `site` measures at `tMs`, with small sensor noise. */
export function sampleWeather(site: WeatherSite, tMs: number, world: SimWorld): WeatherSample {
  const mean = meanState(site, world, tMs);
  const phases = drawFor(world.seed, 'phases', site.id);
  const [p1, p2] = [phases.uniform() * 2 * Math.PI, phases.uniform() * 2 * Math.PI];
  // Slow turbulent wobble (periods 17 and 41 min) so a healthy sensor never looks stuck.
  const wobbleC = 0.06 * Math.sin((2 * Math.PI * tMs) / (17 * 60_000) + p1) + 0.04 * Math.sin((2 * Math.PI * tMs) / (41 * 60_000) + p2);
  const noise = drawFor(world.seed, 'sensor', site.id, Math.floor(tMs / 1_000));
  const airTempC = mean.airC + wobbleC + 0.04 * noise.normal();
  const dewPointC = Math.min(mean.dewC, airTempC);
  const rhPct = Math.min(100, Math.max(5, relativeHumidityPct(airTempC, dewPointC) + 0.8 * noise.normal()));
  return {
    airTempC: round2(airTempC),
    rhPct: Math.round(rhPct * 10) / 10,
    windMs: Math.round(Math.max(0, mean.windMs * (0.7 + 0.45 * noise.uniform())) * 10) / 10,
    leafTempC: round2(airTempC + mean.leafDeltaC + 0.05 * noise.normal()),
    dewPointC: round2(dewPointC),
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
