/**
 * Sunrise and sunset from latitude, longitude and date — pure, no IO.
 *
 * Algorithm: NOAA Global Monitoring Laboratory solar calculator (the "NOAA_Solar_Calculations_day"
 * spreadsheet, after Meeus, "Astronomical Algorithms"): equation of time and solar declination from
 * the Julian century, then the hour angle of the sun's centre at −0.833° (refraction 0.567° plus the
 * sun's semi-diameter 0.266°), i.e. apparent sunrise/sunset. NOAA states an accuracy of about a minute
 * for latitudes within ±72°. Each event is evaluated twice: once at solar noon, then again at the
 * event's own time, because the declination moves during the day.
 */
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Julian day of the Unix epoch (1970-01-01T00:00Z). */
const JD_UNIX_EPOCH = 2_440_587.5;
/** Zenith of the sun's centre at apparent sunrise/sunset: 90° + 0.833°. */
const ZENITH_SUNRISE_DEG = 90.833;

export interface SunTimes {
  sunriseMs: number;
  sunsetMs: number;
}

const rad = (deg: number): number => (deg * Math.PI) / 180;
const deg = (r: number): number => (r * 180) / Math.PI;

interface SolarState {
  declinationRad: number;
  /** Equation of time in minutes. */
  eqTimeMin: number;
}

/** NOAA spreadsheet columns G…V for one instant. */
function solarState(tMs: number): SolarState {
  const jc = (tMs / DAY_MS + JD_UNIX_EPOCH - 2_451_545) / 36_525;
  const meanLong = (280.46646 + jc * (36_000.76983 + jc * 0.000_303_2)) % 360;
  const meanAnom = 357.52911 + jc * (35_999.05029 - 0.000_153_7 * jc);
  const ecc = 0.016_708_634 - jc * (0.000_042_037 + 0.000_000_126_7 * jc);
  const eqCentre =
    Math.sin(rad(meanAnom)) * (1.914602 - jc * (0.004817 + 0.000014 * jc)) +
    Math.sin(rad(2 * meanAnom)) * (0.019993 - 0.000101 * jc) +
    Math.sin(rad(3 * meanAnom)) * 0.000289;
  const omega = 125.04 - 1934.136 * jc;
  const appLong = meanLong + eqCentre - 0.00569 - 0.00478 * Math.sin(rad(omega));
  const meanObliq = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60;
  const obliq = meanObliq + 0.00256 * Math.cos(rad(omega));
  const declinationRad = Math.asin(Math.sin(rad(obliq)) * Math.sin(rad(appLong)));
  const y = Math.tan(rad(obliq / 2)) ** 2;
  const l0 = rad(meanLong);
  const m = rad(meanAnom);
  const eqTimeRad =
    y * Math.sin(2 * l0) -
    2 * ecc * Math.sin(m) +
    4 * ecc * y * Math.sin(m) * Math.cos(2 * l0) -
    0.5 * y * y * Math.sin(4 * l0) -
    1.25 * ecc * ecc * Math.sin(2 * m);
  return { declinationRad, eqTimeMin: 4 * deg(eqTimeRad) };
}

/** Hour angle of sunrise in degrees; throws in polar day or night (outside this system's domain). */
function sunriseHourAngleDeg(latDeg: number, declinationRad: number): number {
  const lat = rad(latDeg);
  const cosHa = Math.cos(rad(ZENITH_SUNRISE_DEG)) / (Math.cos(lat) * Math.cos(declinationRad)) - Math.tan(lat) * Math.tan(declinationRad);
  if (cosHa < -1 || cosHa > 1) throw new RangeError(`no sunrise/sunset at latitude ${latDeg} on this date (polar day or night)`);
  return deg(Math.acos(cosHa));
}

/** Event time (ms) for the day starting at `dayStartUtcMs`: sign −1 sunrise, +1 sunset. */
function eventMs(latDeg: number, lonDeg: number, dayStartUtcMs: number, sign: -1 | 1, atMs: number): number {
  const { declinationRad, eqTimeMin } = solarState(atMs);
  const noonMin = 720 - 4 * lonDeg - eqTimeMin;
  return dayStartUtcMs + (noonMin + sign * 4 * sunriseHourAngleDeg(latDeg, declinationRad)) * MINUTE_MS;
}

/**
 * Apparent sunrise and sunset (epoch ms) of the local solar day that contains `dateUtcMs`.
 * "Local" is mean solar time at `lonDeg` (UTC + lon/15 h), so for Vietnam (≈ UTC+7.2) any instant
 * of the civil day gives that day's sunrise and sunset.
 */
export function sunTimes(latDeg: number, lonDeg: number, dateUtcMs: number): SunTimes {
  const offsetMs = lonDeg * 4 * MINUTE_MS;
  const dayStartUtcMs = Math.floor((dateUtcMs + offsetMs) / DAY_MS) * DAY_MS;
  // A pure function of (place, day): every reading asks it twice or more, so remember the recent answers. Keyed by
  // the numbers themselves, in nested maps: a string key cost more to build than the lookup saved.
  const byDay = placeCache(latDeg, lonDeg);
  const cached = byDay.get(dayStartUtcMs);
  if (cached) return cached;
  const times = Object.freeze(computeSunTimes(latDeg, lonDeg, dayStartUtcMs, offsetMs));
  if (cachedDays >= MAX_CACHED_DAYS) {
    sunCache.clear();
    cachedDays = 0;
    return times;
  }
  byDay.set(dayStartUtcMs, times);
  cachedDays += 1;
  return times;
}

/** Places × days remembered by sunTimes; a fleet of 10,000 stations over three days fits. */
const MAX_CACHED_DAYS = 40_000;
const sunCache = new Map<number, Map<number, Map<number, SunTimes>>>();
let cachedDays = 0;

function placeCache(latDeg: number, lonDeg: number): Map<number, SunTimes> {
  let byLon = sunCache.get(latDeg);
  if (!byLon) sunCache.set(latDeg, (byLon = new Map<number, Map<number, SunTimes>>()));
  let byDay = byLon.get(lonDeg);
  if (!byDay) byLon.set(lonDeg, (byDay = new Map<number, SunTimes>()));
  return byDay;
}

function computeSunTimes(latDeg: number, lonDeg: number, dayStartUtcMs: number, offsetMs: number): SunTimes {
  const noonGuess = dayStartUtcMs + 12 * 3_600_000 - offsetMs;
  const firstRise = eventMs(latDeg, lonDeg, dayStartUtcMs, -1, noonGuess);
  const firstSet = eventMs(latDeg, lonDeg, dayStartUtcMs, 1, noonGuess);
  return {
    sunriseMs: Math.round(eventMs(latDeg, lonDeg, dayStartUtcMs, -1, firstRise)),
    sunsetMs: Math.round(eventMs(latDeg, lonDeg, dayStartUtcMs, 1, firstSet)),
  };
}

export interface NightBounds {
  sunsetMs: number;
  sunriseMs: number;
}

/**
 * The night that contains `tMs` (sunset ≤ t < next sunrise), or, in daytime, the night that follows.
 */
export function nightOf(latDeg: number, lonDeg: number, tMs: number): NightBounds {
  const today = sunTimes(latDeg, lonDeg, tMs);
  if (tMs < today.sunriseMs) {
    return { sunsetMs: sunTimes(latDeg, lonDeg, tMs - DAY_MS).sunsetMs, sunriseMs: today.sunriseMs };
  }
  return { sunsetMs: today.sunsetMs, sunriseMs: sunTimes(latDeg, lonDeg, tMs + DAY_MS).sunriseMs };
}
