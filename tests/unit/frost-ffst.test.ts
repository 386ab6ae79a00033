import { describe, expect, it } from 'vitest';
import { ffstCurveC, fitFfst, fitFfstAirOnly, forecastMinC, nightFeatures, type NightFeatures } from '../../frost/index.js';
import type { Reading } from '../../contracts/index.js';

const HOUR = 3_600_000;

/**
 * FAO FFST, Snyder & de Melo-Abreu 2005 ch. 5. The book itself could not be opened through the search tool; the
 * numbers below come from the R package `frost` (anadiedrichs/frost, R/models.R and its docs), which ports FFST.xls
 * and labels them "data example taken from FAO Book":
 * - ten nights of T₀ (2 h after sunset), Td₀ and the observed minimum; fitted the FFST.xls way (minimum on T₀, then the
 *   residuals on Td₀), the package predicts −0.7409219 °C for T₀ = 10 °C, Td₀ = 2 °C;
 * - the trend curve for T₂ = 0.95 °C, Tp = −5.45 °C, n = 15 h (and the same in °F: 33.7 → 22.2 °F), hour by hour.
 */
const BOOK = {
  t0: [3.2, 0.8, 0.2, 2.6, 4.4, 5.2, 2.7, 1.2, 4.5, 5.6],
  td: [-4.2, -8.8, -6.5, -6.2, -6.1, 2.6, -0.7, -1.7, -1.2, 0.1],
  tn: [-3.1, -5, -6.3, -5.4, -4, -2.5, -4.8, -5, -4.4, -3.3],
};

function night(t2C: number, td2C: number | null, minC: number): NightFeatures {
  return { sunsetMs: 0, sunriseMs: 12.5 * HOUR, t2C, td2C, minC, minAtMs: 12 * HOUR, radiative: true };
}

const bookNights = BOOK.t0.map((t, i) => night(t, BOOK.td[i] as number, BOOK.tn[i] as number));

describe('FFST minimum forecast (FAO, Snyder & de Melo-Abreu 2005 ch. 5)', () => {
  it("reproduces the book's worked regression: Tp(10 °C, 2 °C) = −0.7409 °C", () => {
    const model = fitFfst(bookNights);
    expect(model.n).toBe(10);
    expect(forecastMinC(model, 10, 2)).toBeCloseTo(-0.7409219, 6);
    expect(model.rmseC).toBeLessThan(0.7);
  });

  it('the joint least-squares fit is never worse in sample than the two-stage FFST.xls fit', () => {
    expect(fitFfst(bookNights, 'joint').rmseC).toBeLessThanOrEqual(fitFfst(bookNights).rmseC + 1e-12);
  });

  it('recovers exact coefficients from a constructed fixture (Tp = 0.6·T₂ + 0.3·Td₂ − 2)', () => {
    const exact = (t2: number, td2: number): NightFeatures => night(t2, td2, 0.6 * t2 + 0.3 * td2 - 2);
    // Correlated T₂ and Td₂: the joint fit is exact; the two-stage fit is not (Td₂'s share leaks into a).
    const correlated = [exact(4, -2), exact(8, 3), exact(10, 1), exact(6, 5), exact(12, 7), exact(3, -5)];
    const joint = fitFfst(correlated, 'joint');
    expect([joint.a, joint.b, joint.c].map((v) => Number(v.toFixed(9)))).toEqual([0.6, 0.3, -2]);
    expect(fitFfst(correlated, 'ffst').rmseC).toBeGreaterThan(0.1);
    // Uncorrelated T₂ and Td₂ (a balanced design): the two-stage fit is exact too.
    const balanced = fitFfst([exact(3, 1), exact(5, -2), exact(7, -2), exact(9, 1)], 'ffst');
    expect([balanced.a, balanced.b, balanced.c].map((v) => Number(v.toFixed(9)))).toEqual([0.6, 0.3, -2]);
    const airOnly = fitFfstAirOnly(correlated.map((n) => ({ ...n, minC: 0.5 * n.t2C - 1 })));
    expect(airOnly.a).toBeCloseTo(0.5, 9);
    expect(airOnly.c).toBeCloseTo(-1, 9);
  });

  it('refuses to fit without enough nights or without variation (a caller bug)', () => {
    expect(() => fitFfst(bookNights.slice(0, 3))).toThrow(RangeError);
    expect(() => fitFfst(bookNights.map((n) => ({ ...n, td2C: null })))).toThrow(RangeError);
    expect(() => fitFfst(bookNights.map((n) => ({ ...n, t2C: 1, td2C: 0 })))).toThrow(RangeError);
  });

  it.each([
    {
      unit: '°C',
      t2: 0.95,
      tp: -5.45,
      expected: [
        -0.8250406, -1.5602865, -2.1244606, -2.6000813, -3.0191115, -3.3979438, -3.7463161, -4.0705731, -4.3751219, -4.6631713, -4.9371438,
        -5.1989211, -5.45,
      ],
    },
    {
      unit: '°F',
      t2: 33.7,
      tp: 22.2,
      expected: [
        30.51047, 29.18933, 28.17558, 27.32095, 26.568, 25.88729, 25.26131, 24.67866, 24.13142, 23.61383, 23.12154, 22.65116, 22.2,
      ],
    },
  ])("the book's trend curve T(i) = T₂ + b′·√(i − 2), in $unit", ({ t2, tp, expected }) => {
    const sunset = Date.UTC(2025, 0, 15, 11);
    const sunrise = sunset + 15 * HOUR; // n = 15 h
    expected.forEach((value, k) => expect(ffstCurveC(t2, tp, sunset, sunrise, sunset + (k + 3) * HOUR)).toBeCloseTo(value, 4));
    expect(ffstCurveC(t2, tp, sunset, sunrise, sunset + HOUR)).toBe(t2); // not defined before i = 2
  });
});

describe('nightFeatures', () => {
  const sunset = Date.UTC(2025, 0, 15, 10, 41);
  const sunrise = sunset + 12.5 * HOUR;
  const readings: Reading[] = Array.from({ length: 15 * 6 }, (_, k) => {
    const ts = sunset - HOUR + k * 600_000;
    const h = Math.max(0, (ts - sunset) / HOUR);
    return { ts, airTempC: 10 - 2 * Math.sqrt(h) * 2, rhPct: 80, windMs: 0.8 };
  });

  it('takes T₂ and Td₂ around sunset + 2 h and the minimum up to an hour after sunrise', () => {
    const f = nightFeatures(readings, sunset, sunrise);
    expect(f).not.toBeNull();
    expect(f?.t2C).toBeCloseTo(10 - 4 * Math.sqrt(2), 1);
    expect(f?.td2C).toBeLessThan(f?.t2C ?? 0);
    expect(f?.minAtMs).toBe(readings.filter((r) => r.ts <= sunrise + HOUR).at(-1)?.ts);
    expect(f?.radiative).toBe(true);
  });

  it('is null when the readings miss sunset + 2 h, and has no Td₂ without humidity', () => {
    expect(
      nightFeatures(
        readings.filter((r) => r.ts > sunset + 3 * HOUR),
        sunset,
        sunrise,
      ),
    ).toBeNull();
    const dry = nightFeatures(
      readings.map((reading) => {
        const r = { ...reading };
        delete r.rhPct;
        delete r.windMs;
        return r;
      }),
      sunset,
      sunrise,
    );
    expect(dry?.td2C).toBeNull();
    expect(dry?.radiative).toBeNull();
  });
});
