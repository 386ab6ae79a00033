import { describe, expect, it } from 'vitest';
import {
  emptyCalibration,
  evaluate,
  initialState,
  learnFromNight,
  rulesFor,
  type NightState,
  type StationContext,
  type StationRuleState,
} from '../../frost/index.js';
import { calibrationOffsetC, observeNight } from '../../frost/calibration.js';
import { nightOf, type Reading } from '../../contracts/index.js';
import { decodeState, encodeState } from '../../server/warnings/state-codec.js';

/**
 * A station learns the minimum model's error on its own nights (frost/calibration.ts): forecasts made at each hour
 * after sunset against the minimum it then measured.
 */
const HOUR = 3_600_000;
const MIN = 60_000;
const CTX: StationContext = {
  stationId: 'ld-hollow',
  lat: 11.94,
  lon: 108.46,
  elevationM: 1_500,
  crop: 'arabica',
  timeZone: 'Asia/Ho_Chi_Minh',
};
const RULES = rulesFor('arabica');

/** One night of readings every 10 min from 15:00 local to sunrise + 3 h: √t cooling from `sunsetC` to `minC`, dry air. */
function night(dayIndex: number, sunsetC: number, minC: number): Reading[] {
  const n = nightOf(CTX.lat, CTX.lon, Date.parse('2025-01-10T12:00:00Z') + dayIndex * 24 * HOUR);
  const len = (n.sunriseMs - n.sunsetMs) / HOUR;
  const out: Reading[] = [];
  for (let t = n.sunsetMs - 2 * HOUR; t < n.sunriseMs + 3 * HOUR; t += 10 * MIN) {
    const h = (t - n.sunsetMs) / HOUR;
    const air = h < 0 ? sunsetC - 1.5 * h : h < len ? sunsetC - (sunsetC - minC) * Math.sqrt(h / len) : minC + 3 * (h - len);
    out.push({ ts: Math.round(t / MIN) * MIN, airTempC: Math.round(air * 100) / 100, rhPct: 45 });
  }
  return out;
}

function replay(state: StationRuleState, readings: readonly Reading[]): StationRuleState {
  let s = state;
  for (const r of readings) s = evaluate(s, { kind: 'reading', reading: r, receivedAtMs: r.ts }, RULES, r.ts).state;
  return s;
}

describe('station calibration', () => {
  it('a new station has no correction; a night that ended colder than forecast teaches a positive error (forecast − minimum)', () => {
    const first = replay(initialState(CTX), night(0, 12, -3));
    expect(first.calibration).toEqual(emptyCalibration()); // learnt only when the next night begins
    const forecasts = (first.night?.forecastByHourC ?? []).filter((f): f is number => f !== null);
    expect(forecasts.length).toBeGreaterThanOrEqual(9);
    expect(first.night?.minAirC).toBeCloseTo(-3, 0);
    const learnt = learnFromNight(first, RULES).calibration;
    learnt.biasC.forEach((b, i) => {
      const f = first.night?.forecastByHourC[i];
      if (f === null || f === undefined || f > RULES.calibrationMaxForecastC) expect(learnt.nights[i]).toBe(0);
      else expect(b).toBeCloseTo(f - (first.night?.minAirC as number), 3);
    });
  });

  it('eight nights of the same weather give each hour a correction of n/(n+k) of its learnt error', () => {
    let s = initialState(CTX);
    for (let d = 0; d < 8; d += 1) s = replay(s, night(d, 10, -2));
    const cal = learnFromNight(s, RULES).calibration;
    const sure = cal.nights.filter((n) => n >= 8).length;
    expect(sure).toBeGreaterThanOrEqual(8);
    // The offset at sunset + 2 h is the learnt error, shrunk by 8/(8+3).
    const b = 1;
    const offset = calibrationOffsetC(cal, 1.5, RULES);
    expect(offset).toBeCloseTo(((cal.biasC[b] ?? 0) * (cal.nights[b] ?? 0)) / ((cal.nights[b] ?? 0) + RULES.calibrationPriorNights), 6);
    expect(Math.sign(offset)).toBe(Math.sign(cal.biasC[b] ?? 0));
  });

  it('a night whose readings stop before sunrise teaches nothing (its minimum is unknown)', () => {
    const cut = night(0, 12, -3).filter((r, i, all) => i < all.length / 2);
    const s = replay(initialState(CTX), cut);
    expect(learnFromNight(s, RULES)).toBe(s);
  });

  it('nights forecast warmer than calibrationMaxForecastC teach nothing', () => {
    const warm = replay(initialState(CTX), night(0, 26, 18));
    expect(learnFromNight(warm, RULES).calibration).toEqual(emptyCalibration());
  });

  it('observeNight keeps the first forecast of each hour and the lowest air', () => {
    const n = nightOf(CTX.lat, CTX.lon, Date.parse('2025-01-10T12:00:00Z'));
    let ns: NightState = {
      sunsetMs: n.sunsetMs,
      sunriseMs: n.sunriseMs,
      t2C: null,
      td2C: null,
      t2Captured: false,
      ffstVoid: false,
      notified: [],
      forecastByHourC: new Array<number | null>(10).fill(null),
      minAirC: null,
    };
    ns = observeNight(ns, n.sunsetMs + 10 * MIN, 9, 1.5);
    ns = observeNight(ns, n.sunsetMs + 40 * MIN, 8, 0.9);
    ns = observeNight(ns, n.sunsetMs + 70 * MIN, 8.5, 0.4);
    expect(ns.forecastByHourC.slice(0, 3)).toEqual([1.5, 0.4, null]);
    expect(ns.minAirC).toBe(8);
    expect(observeNight(ns, n.sunsetMs - 30 * MIN, 2, -5)).toBe(ns); // before sunset: not the night
  });

  it('survives the saved state (codec) and states saved before it start empty', () => {
    let s = initialState(CTX);
    for (let d = 0; d < 3; d += 1) s = replay(s, night(d, 10, -2));
    expect(decodeState(encodeState(s)).calibration).toEqual(s.calibration);
    const old = JSON.parse(encodeState(s)) as Record<string, unknown>;
    delete old['calibration'];
    expect(decodeState(JSON.stringify(old)).calibration).toEqual(emptyCalibration());
  });
});
