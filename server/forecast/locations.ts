/** Where a station stands, as far as the forecast is concerned. */
export interface StationPlace {
  id: string;
  lat: number;
  lon: number;
  elevationM: number;
}

/** One place asked of Open-Meteo, and the stations that share its answer. */
export interface ForecastLocation {
  /** `lat,lon,elevation` as rounded: the same key is the same request. */
  key: string;
  lat: number;
  lon: number;
  elevationM: number;
  /** Sorted. */
  stationIds: string[];
}

/** 0.01° of latitude is ~1.1 km (of longitude at 12° N, ~1.09 km). */
const DEGREE_STEP = 0.01;
const ELEVATION_STEP_M = 50;

/**
 * Stations near each other share one forecast location: lat/lon rounded to 0.01° (~1 km) and elevation to the
 * nearest 50 m. Open-Meteo answers for a grid cell (kilometres wide) and downscales its temperature to the elevation
 * it is given (a standard lapse rate over a 90 m DEM), so two stations at the same place and height get the same
 * answer: asking once saves requests, and 50 m of height (~0.3 °C at 0.65 °C/100 m) is below the forecast's own error.
 *
 * Rounding is to a grid, not clustering: two stations 300 m apart on either side of a 0.01° line land in two
 * locations. That costs one request more, never a wrong answer. Output is sorted by key (deterministic).
 */
export function groupLocations(stations: readonly StationPlace[]): ForecastLocation[] {
  const byKey = new Map<string, ForecastLocation>();
  for (const station of stations) {
    const lat = roundTo(station.lat, DEGREE_STEP);
    const lon = roundTo(station.lon, DEGREE_STEP);
    const elevationM = Math.round(station.elevationM / ELEVATION_STEP_M) * ELEVATION_STEP_M;
    const key = `${lat.toFixed(2)},${lon.toFixed(2)},${elevationM}`;
    const found = byKey.get(key);
    if (found) found.stationIds.push(station.id);
    else byKey.set(key, { key, lat, lon, elevationM, stationIds: [station.id] });
  }
  const locations = [...byKey.values()].sort((a, b) => compare(a.key, b.key));
  for (const location of locations) location.stationIds.sort(compare);
  return locations;
}

/** Rounded through toFixed so 12.03 is 12.03, not 12.030000000000001; `+ 0` turns -0 into 0. */
function roundTo(value: number, step: number): number {
  const decimals = Math.round(-Math.log10(step));
  return Number((Math.round(value / step) * step).toFixed(decimals)) + 0;
}

/** Code-point order, the same on every machine (localeCompare depends on the ICU data). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
