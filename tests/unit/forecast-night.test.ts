import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PREALERT_RULES,
  fitCorrection,
  judgeNight,
  PRIOR_CORRECTION,
  summariseNight,
  type ForecastHour,
} from '../../frost/forecast-night.js';

const HOUR = 3_600_000;
/** Local midnight of the evening's date (any instant will do: the functions only add hours to it). */
const EVENING = Date.UTC(2026, 11, 19, 17, 0, 0);

function night(f: (hourFromMidnight: number) => Partial<ForecastHour>): ForecastHour[] {
  return Array.from({ length: 48 }, (_, h) => ({
    ts: EVENING + h * HOUR,
    tempC: 10,
    dewPointC: -2,
    cloudPct: 5,
    windMs: 1,
    ...f(h),
  }));
}

describe('summariseNight', () => {
  it('takes 18:00 to 07:00 of the next morning: the minimum, when, and the means', () => {
    const hours = night((h) => ({ tempC: h === 29 ? -0.4 : h === 12 ? -5 : 6, cloudPct: h >= 18 && h <= 31 ? 10 : 90 }));
    const s = summariseNight(hours, EVENING);
    // The −5 at noon is outside the night; the −0.4 at 05:00 next morning is inside.
    expect(s).toMatchObject({ forecastMinC: -0.4, minAtMs: EVENING + 29 * HOUR, cloudPct: 10, hours: 14 });
  });

  it('is null when fewer than half the night has a temperature, and counts missing cloud or wind against frost', () => {
    expect(
      summariseNight(
        night((h) => (h >= 18 && h < 27 ? { tempC: null } : {})),
        EVENING,
      ),
    ).toBeNull();
    const s = summariseNight(
      night(() => ({ cloudPct: null, windMs: null })),
      EVENING,
    );
    expect(s).toMatchObject({ cloudPct: 100, windMs: Infinity });
    expect(judgeNight(s!, PRIOR_CORRECTION, { cropShiftC: 0 }).frostLikely).toBe(false);
  });
});

describe('judgeNight', () => {
  const summary = { forecastMinC: 3, minAtMs: 0, cloudPct: 10, windMs: 1, dewPointC: -2, hours: 14 };

  it('needs clear, calm, dry and a corrected minimum at the threshold (shifted for the crop)', () => {
    // 3 °C − 1.5 (prior) = 1.5 ≤ 2.
    expect(judgeNight(summary, PRIOR_CORRECTION, { cropShiftC: 0 })).toMatchObject({ correctedMinC: 1.5, frostLikely: true });
    expect(judgeNight({ ...summary, cloudPct: 31 }, PRIOR_CORRECTION, { cropShiftC: 0 })).toMatchObject({
      clear: false,
      frostLikely: false,
    });
    expect(judgeNight({ ...summary, windMs: 3.1 }, PRIOR_CORRECTION, { cropShiftC: 0 })).toMatchObject({ calm: false, frostLikely: false });
    expect(judgeNight({ ...summary, dewPointC: 6.5 }, PRIOR_CORRECTION, { cropShiftC: 0 })).toMatchObject({
      dry: false,
      frostLikely: false,
    });
    expect(judgeNight({ ...summary, forecastMinC: 4 }, PRIOR_CORRECTION, { cropShiftC: 0 }).frostLikely).toBe(false);
    // Robusta's thresholds sit 1.5 °C warmer: the same 4 °C night is frost-likely for it.
    expect(judgeNight({ ...summary, forecastMinC: 4 }, PRIOR_CORRECTION, { cropShiftC: 1.5 }).frostLikely).toBe(true);
    expect(DEFAULT_PREALERT_RULES.minC).toBe(2);
  });
});

describe('fitCorrection', () => {
  it('keeps the prior before five nights', () => {
    expect(fitCorrection([{ forecastMinC: 5, observedMinC: 0 }])).toEqual({ ...PRIOR_CORRECTION, n: 1 });
  });

  it('learns a bias from 5 nights, shrunk towards the prior, and ignores warm nights', () => {
    const pairs = [...Array.from({ length: 5 }, () => ({ forecastMinC: 4, observedMinC: 1 })), { forecastMinC: 15, observedMinC: 14 }];
    const c = fitCorrection(pairs);
    expect(c.kind).toBe('bias');
    expect(c.n).toBe(5);
    expect(c.alpha).toBeCloseTo(0.5 * -3 + 0.5 * -1.5, 2);
    expect(c.beta).toBe(1);
  });

  it('fits a line from 15 nights and holds its slope to 0.5–1.5', () => {
    const line = Array.from({ length: 20 }, (_, i) => ({ forecastMinC: i / 2, observedMinC: 0.8 * (i / 2) - 2 }));
    expect(fitCorrection(line)).toMatchObject({ kind: 'linear', alpha: -2, beta: 0.8, rmseC: 0, n: 20 });
    const steep = Array.from({ length: 20 }, (_, i) => ({ forecastMinC: i / 2, observedMinC: 3 * (i / 2) - 2 }));
    expect(fitCorrection(steep).beta).toBe(1.5);
  });
});
