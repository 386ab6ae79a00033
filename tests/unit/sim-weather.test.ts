import { describe, expect, it } from 'vitest';
import { parseReading, type Reading } from '../../contracts/index.js';
import { sunTimes } from '../../contracts/solar.js';
import { fleetLayout } from '../../firmware-sim/layout.js';
import { runScenarioOffline, type SimRecord } from '../../firmware-sim/offline.js';
import type { Scenario } from '../../firmware-sim/weather.js';

const HOUR = 3_600_000;
const stations = fleetLayout(12, 7);
/** The night of 14→15 January 2025 over Lạc Dương town. */
const dusk = sunTimes(12, 108.42, Date.parse('2025-01-14T05:00:00Z')).sunsetMs;
const dawn = sunTimes(12, 108.42, Date.parse('2025-01-15T05:00:00Z')).sunriseMs;

function night(scenario: Scenario, seed: number, fromMs = dusk, toMs = dawn): SimRecord[] {
  return runScenarioOffline({ stations, scenario, seed, fromMs, toMs });
}

function readingsOf(records: SimRecord[], stationId: string): { tMs: number; reading: Reading }[] {
  return records.flatMap((r) =>
    r.stationId === stationId && r.sample.kind === 'reading' ? [{ tMs: r.tMs, reading: r.sample.reading }] : [],
  );
}

function coldest(records: SimRecord[], stationId: string): { tMs: number; airTempC: number } {
  const all = readingsOf(records, stationId);
  return all.reduce((min, r) => (r.reading.airTempC < min.airTempC ? { tMs: r.tMs, airTempC: r.reading.airTempC } : min), {
    tMs: 0,
    airTempC: Infinity,
  });
}

/** WMO Magnus (docs/frost-model.md): dew point from air temperature and relative humidity. */
function dewPointC(airC: number, rhPct: number): number {
  const g = Math.log(rhPct / 100) + (17.62 * airC) / (243.12 + airC);
  return (243.12 * g) / (17.62 - g);
}

describe('frost-night', () => {
  const seeds = [1, 2, 3, 4, 5, 42];
  const cold = stations.filter((s) => s.hollowOffsetC <= -2.5 && s.elevationM >= 1_550);
  const warm = stations.filter((s) => s.hollowOffsetC === 0 && s.elevationM <= 1_500);

  it('the layout has both cold hollows and warm slopes to compare', () => {
    expect(cold.length).toBeGreaterThanOrEqual(2);
    expect(warm.length).toBeGreaterThanOrEqual(1);
  });

  it.each(seeds)('seed %i: cold hollows fall below 0 °C in the last hours before sunrise; warm slopes stay above', (seed) => {
    const records = night('frost-night', seed);
    for (const station of cold) {
      const min = coldest(records, station.id);
      expect(min.airTempC, station.id).toBeLessThan(0);
      expect(min.tMs, station.id).toBeGreaterThanOrEqual(dawn - 3 * HOUR);
    }
    for (const station of warm) expect(coldest(records, station.id).airTempC, station.id).toBeGreaterThan(0);
  });

  it('is calm (< 1 m/s), leaves run 2–3 °C under the air late in the night, RH climbs towards saturation', () => {
    const records = night('frost-night', 3);
    for (const station of stations) {
      const rows = readingsOf(records, station.id);
      const late = rows.filter((r) => r.tMs >= dawn - 4 * HOUR);
      const early = rows.filter((r) => r.tMs < dusk + 2 * HOUR);
      expect(Math.max(...rows.map((r) => r.reading.windMs ?? Infinity))).toBeLessThan(1);
      const leafGap = mean(late.map((r) => r.reading.airTempC - (r.reading.leafTempC ?? NaN)));
      expect(leafGap).toBeGreaterThan(1.8);
      expect(leafGap).toBeLessThan(3.2);
      expect(mean(late.map((r) => r.reading.rhPct ?? NaN))).toBeGreaterThan(mean(early.map((r) => r.reading.rhPct ?? NaN)) + 20);
    }
  });

  it('follows a diurnal cycle: afternoon maximum 20–26 °C, well above the night', () => {
    const noon = dusk - 5 * HOUR;
    const records = night('frost-night', 9, noon - 3 * HOUR, noon + 3 * HOUR);
    const maxima = stations.map((s) => Math.max(...readingsOf(records, s.id).map((r) => r.reading.airTempC)));
    expect(Math.min(...maxima)).toBeGreaterThan(20);
    expect(Math.max(...maxima)).toBeLessThan(26);
  });
});

describe('mild', () => {
  it.each([1, 2, 3, 4])('seed %i: no station below 5 °C over a whole day and night; leaves ≈ air', (seed) => {
    const records = night('mild', seed, dusk - 12 * HOUR, dawn + 2 * HOUR);
    for (const station of stations) {
      const rows = readingsOf(records, station.id);
      expect(Math.min(...rows.map((r) => r.reading.airTempC)), station.id).toBeGreaterThanOrEqual(5);
      const nightRows = rows.filter((r) => r.tMs >= dusk && r.tMs < dawn);
      expect(Math.abs(mean(nightRows.map((r) => r.reading.airTempC - (r.reading.leafTempC ?? NaN))))).toBeLessThan(1);
    }
  });
});

describe('every scenario', () => {
  it('same seed → identical readings; different seed → different', () => {
    expect(night('frost-night', 11)).toEqual(night('frost-night', 11));
    expect(night('faulty-sensor', 11)).toEqual(night('faulty-sensor', 11));
    const a = night('frost-night', 11).map((r) => r.sample);
    const b = night('frost-night', 12).map((r) => r.sample);
    expect(a).not.toEqual(b);
  });

  it.each(['frost-night', 'mild', 'outage'] as const)('%s: every reading passes the contract; dew point ≤ air', (scenario) => {
    const records = night(scenario, 5, dusk - 6 * HOUR, dawn + 6 * HOUR);
    for (const record of records) {
      if (record.sample.kind !== 'reading') throw new Error(`${scenario} sent an invalid payload`);
      const { reading } = record.sample;
      expect(parseReading(reading, record.tMs).ok).toBe(true);
      expect(dewPointC(reading.airTempC, reading.rhPct ?? NaN)).toBeLessThanOrEqual(reading.airTempC + 1e-9);
    }
  });

  it('seq counts up per station from 0; ts is the station clock, within seconds of true time', () => {
    const records = night('frost-night', 5);
    for (const station of stations) {
      const rows = readingsOf(records, station.id);
      expect(rows.map((r) => r.reading.seq)).toEqual(rows.map((_, i) => i));
      for (const r of rows) expect(Math.abs(r.reading.ts - r.tMs)).toBeLessThan(10_000);
    }
  });
});

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
