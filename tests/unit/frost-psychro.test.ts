import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dewPointC, frostPointC, saturationVapourPressureHPa, stationPressureHPa, wetBulbC } from '../../frost/index.js';

/**
 * Published reference values:
 * - e_w(0 °C) = 6.112 hPa, e_w(20 °C) = 23.37 hPa, e_i(−10 °C) = 2.60 hPa: WMO-No. 8 (2018) Annex 4.B Magnus forms.
 * - Dew point 20 °C / 50 % → 9.3 °C; 30 °C / 80 % → 26.2 °C; 0 °C / 90 % → −1.4 °C: the Magnus form (Alduchov & Eskridge 1996).
 * - Frost point for a dew point of −10 °C: −8.9 °C (same vapour pressure over ice; Vaisala humidity conversion tables).
 * - Wet bulb 20 °C / 50 % at 1013.25 hPa: 13.8 °C on the sea-level psychrometric chart (ASHRAE); Stull 2011's
 *   empirical fit gives 13.7 °C (stated accuracy ±0.3 °C).
 * - ICAO standard atmosphere: 954.6 hPa at 500 m, 845.6 hPa at 1,500 m (docs/frost-model.md: ~846 hPa).
 */
describe('psychrometrics (WMO)', () => {
  it.each([
    [0, 'water', 6.112],
    [20, 'water', 23.37],
    [-10, 'ice', 2.6],
  ] as const)('saturation vapour pressure at %d °C over %s ≈ %d hPa', (t, over, e) => {
    expect(saturationVapourPressureHPa(t, over)).toBeCloseTo(e, 1);
  });

  it.each([
    [20, 50, 9.3],
    [30, 80, 26.2],
    [0, 90, -1.4],
  ])('dew point of %d °C at %d %% ≈ %f °C', (t, rh, td) => {
    expect(dewPointC(t, rh)).toBeCloseTo(td, 1);
  });

  it('frost point sits above the dew point below 0 °C (−10 °C dew point ↔ −8.9 °C frost point)', () => {
    const rh = (100 * saturationVapourPressureHPa(-10)) / saturationVapourPressureHPa(0); // air 0 °C, Td −10 °C
    expect(dewPointC(0, rh)).toBeCloseTo(-10, 6);
    expect(frostPointC(0, rh)).toBeCloseTo(-8.9, 1);
    expect(frostPointC(0, 100)).toBeCloseTo(0, 6);
  });

  it('wet bulb by the psychrometric formula: 13.8 °C at sea level, lower at 1,500 m', () => {
    const sea = wetBulbC(20, 50, 1013.25);
    expect(Math.abs(sea - 13.8)).toBeLessThan(0.1);
    const high = wetBulbC(20, 50, stationPressureHPa(1_500));
    expect(high).toBeLessThan(sea - 0.3); // lower pressure → stronger evaporative cooling of the wick
    expect(high).toBeGreaterThan(dewPointC(20, 50));
    expect(wetBulbC(5, 100, 846)).toBeCloseTo(5, 3); // saturated: wet bulb = air
  });

  it('station pressure follows the standard atmosphere: 845.6 hPa at 1,500 m, 954.6 hPa at 500 m', () => {
    expect(stationPressureHPa(1_500)).toBeCloseTo(845.6, 0);
    expect(stationPressureHPa(500)).toBeCloseTo(954.6, 0);
    expect(stationPressureHPa(0)).toBe(1013.25);
  });

  it('dew points from T and RH agree with the dew points DWD measured (13,503 real 10-min values, München)', () => {
    const rows = readFileSync('tests/fixtures/frost-nights/observations.csv', 'utf8').trim().split(/\r?\n/).slice(1);
    let worst = 0;
    let sum = 0;
    let n = 0;
    for (const line of rows) {
      const [, , , t, rh, td] = line.split(',');
      if (!t || !rh || !td) continue;
      const diff = dewPointC(Number(t), Number(rh)) - Number(td);
      worst = Math.max(worst, Math.abs(diff));
      sum += diff;
      n += 1;
    }
    expect(n).toBeGreaterThan(13_000);
    expect(worst).toBeLessThan(0.1); // DWD rounds to 0.1 °C: measured 0.064 °C worst case
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
  });
});
