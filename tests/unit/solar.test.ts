import { describe, expect, it } from 'vitest';
import { nightOf, sunTimes } from '../../contracts/solar.js';

const MIN = 60_000;
const ICT = 7 * 60 * MIN; // Asia/Ho_Chi_Minh, UTC+7, no DST

/** `hh:mm` local (UTC+7) on `date` → epoch ms. */
const ict = (date: string, hhmm: string): number => Date.parse(`${date}T${hhmm}:00Z`) - ICT;

/**
 * Reference values:
 * - Đà Lạt / Lạc Dương (11.9404 N, 108.4583 E): worked by hand from the sunrise equation with the
 *   Astronomical Almanac's declination and equation of time for each date (15 Jan: δ −21.2°, EoT −9.1 min;
 *   21 Jun: δ +23.44°, EoT −1.8 min; 21 Dec: δ −23.44°, EoT +1.9 min) and zenith 90.833°.
 *   Note: the commonly quoted "17:45" sunset for mid-January is ~4 min late; the equation gives 17:40–17:41.
 * - München (48.1632 N, 11.5429 E): the sunset/sunrise columns of tests/fixtures/frost-nights/nights.csv
 *   (DWD station 03379, computed from the station's coordinates).
 * Tolerance ±3 min (NOAA states ~1 min accuracy within ±72° latitude).
 */
const cases = [
  {
    place: 'Đà Lạt',
    lat: 11.9404,
    lon: 108.4583,
    at: ict('2025-01-15', '12:00'),
    sunrise: ict('2025-01-15', '06:11'),
    sunset: ict('2025-01-15', '17:41'),
  },
  {
    place: 'Đà Lạt',
    lat: 11.9404,
    lon: 108.4583,
    at: ict('2025-06-21', '12:00'),
    sunrise: ict('2025-06-21', '05:23'),
    sunset: ict('2025-06-21', '18:13'),
  },
  {
    place: 'Đà Lạt',
    lat: 11.9404,
    lon: 108.4583,
    at: ict('2025-12-21', '12:00'),
    sunrise: ict('2025-12-21', '06:01'),
    sunset: ict('2025-12-21', '17:27'),
  },
  {
    place: 'München',
    lat: 48.1632,
    lon: 11.5429,
    at: Date.parse('2019-01-15T12:00:00Z'),
    sunrise: Date.parse('2019-01-15T06:59:38Z'),
    sunset: Date.parse('2019-01-15T15:47:00Z'),
  },
  {
    place: 'München',
    lat: 48.1632,
    lon: 11.5429,
    at: Date.parse('2019-01-13T12:00:00Z'),
    sunrise: Date.parse('2019-01-13T07:00:52Z'),
    sunset: Date.parse('2019-01-13T15:44:16Z'),
  },
];

describe('sunTimes (NOAA)', () => {
  it.each(cases)('$place on $at: within 3 min of the reference', ({ lat, lon, at, sunrise, sunset }) => {
    const times = sunTimes(lat, lon, at);
    expect(Math.abs(times.sunriseMs - sunrise)).toBeLessThanOrEqual(3 * MIN);
    expect(Math.abs(times.sunsetMs - sunset)).toBeLessThanOrEqual(3 * MIN);
  });

  it('gives the same day for any instant of the local day', () => {
    const early = sunTimes(12, 108.42, ict('2025-01-15', '00:30'));
    const late = sunTimes(12, 108.42, ict('2025-01-15', '23:30'));
    expect(early).toEqual(late);
    expect(early.sunriseMs).toBeGreaterThan(ict('2025-01-15', '05:00'));
    expect(early.sunsetMs).toBeLessThan(ict('2025-01-15', '19:00'));
  });

  it('January nights in Lạc Dương last about 12.5 h (docs/frost-model.md)', () => {
    const night = nightOf(12, 108.42, ict('2025-01-15', '20:00'));
    expect((night.sunriseMs - night.sunsetMs) / 3_600_000).toBeCloseTo(12.5, 0);
  });

  it('nightOf: after midnight it is the night that began yesterday; by day, the coming night', () => {
    const sunsetJan14 = sunTimes(12, 108.42, ict('2025-01-14', '12:00')).sunsetMs;
    const jan15 = sunTimes(12, 108.42, ict('2025-01-15', '12:00'));
    expect(nightOf(12, 108.42, ict('2025-01-15', '03:00'))).toEqual({ sunsetMs: sunsetJan14, sunriseMs: jan15.sunriseMs });
    expect(nightOf(12, 108.42, ict('2025-01-15', '12:00')).sunsetMs).toBe(jan15.sunsetMs);
  });

  it('throws in polar night, which this system never serves', () => {
    expect(() => sunTimes(80, 0, Date.parse('2025-12-21T12:00:00Z'))).toThrow(RangeError);
  });
});
