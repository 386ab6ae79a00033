import { describe, expect, it } from 'vitest';
import {
  evaluate,
  fitFfst,
  forecastMinC,
  initialState,
  nightFeatures,
  rulesFor,
  type FfstModel,
  type NightFeatures,
} from '../../frost/index.js';
import type { Decision, FrostDecision } from '../../contracts/index.js';
import { loadFrostNights } from '../helpers/frost-nights.js';

/**
 * 136 real nights of DWD 03379 München-Stadt (tests/fixtures/frost-nights, README there): 67 frosts (2 m ≤ 0 °C or
 * 5 cm ≤ −2 °C), 69 near misses (2 m minimum 1–5 °C). Not Lạc Dương, but real cooling curves, noise and near misses.
 */
const HOUR = 3_600_000;

const nights = loadFrostNights();
const features = nights.map((n) => nightFeatures(n.readings, n.sunsetMs, n.sunriseMs));
const odd = features.filter((_, i) => i % 2 === 0); // nights 1, 3, 5, … in file order
const even = features.filter((_, i) => i % 2 === 1);

function check(model: FfstModel, test: readonly (NightFeatures | null)[]): { rmseC: number; biasC: number; n: number } {
  const res = test.flatMap((f) => (f && f.td2C !== null ? [f.minC - forecastMinC(model, f.t2C, f.td2C)] : []));
  return {
    rmseC: Math.sqrt(res.reduce((s, r) => s + r * r, 0) / res.length),
    biasC: res.reduce((s, r) => s + r, 0) / res.length,
    n: res.length,
  };
}

describe('FFST on real nights: fit on the odd nights, check on the even ones', () => {
  it('every night has T₂, Td₂ and a minimum', () => {
    expect(features.every((f) => f !== null && f.td2C !== null)).toBe(true);
    expect(nights).toHaveLength(136);
  });

  it.each(['ffst', 'joint'] as const)('%s fit: out-of-sample RMSE < 2 °C and |bias| < 0.5 °C', (method) => {
    const model = fitFfst(
      odd.filter((f): f is NightFeatures => f !== null),
      method,
    );
    const out = check(model, even);
    // Measured: ffst RMSE 1.60 °C, bias +0.08 °C; joint RMSE 1.56 °C (in sample 1.67 / 1.62) on 68 even nights.
    console.log(
      `FFST ${method}: a=${model.a.toFixed(3)} b=${model.b.toFixed(3)} c=${model.c.toFixed(3)}, in-sample RMSE ${model.rmseC.toFixed(2)} °C; even nights RMSE ${out.rmseC.toFixed(2)} °C, bias ${out.biasC.toFixed(2)} °C (n=${out.n})`,
    );
    expect(out.n).toBe(68);
    expect(out.rmseC).toBeLessThan(2);
    expect(Math.abs(out.biasC)).toBeLessThan(0.5);
    expect(model.a).toBeGreaterThan(0); // a warmer evening means a warmer night
  });
});

describe('the ladder replayed through every real night', () => {
  const model = fitFfst(odd.filter((f): f is NightFeatures => f !== null));
  // 10-min data: the station's own interval; the FFST fitted on the odd nights (the even ones are out of sample).
  const rules = rulesFor('arabica', { sampleIntervalMs: 10 * 60_000, maxSampleIntervalMs: 10 * 60_000, ffst: model });
  const ctx = { stationId: 'dwd-03379', lat: 48.1632, lon: 11.5429, elevationM: 515, crop: 'arabica' as const, timeZone: 'Europe/Berlin' };
  const replays = nights.map((n) => {
    let state = initialState(ctx);
    const decisions: Decision[] = [];
    for (const reading of n.readings) {
      const out = evaluate(state, { kind: 'reading', reading, receivedAtMs: reading.ts }, rules, reading.ts);
      state = out.state;
      decisions.push(...out.decisions);
    }
    const frost = decisions.filter((d): d is FrostDecision => d.kind === 'frost');
    return { night: n, decisions, frost, severe: frost.find((d) => d.to === 'severe') ?? null };
  });
  const frosts = replays.filter((r) => r.night.kind === 'frost');
  const nearMisses = replays.filter((r) => r.night.kind === 'near_miss');
  const airFrosts = frosts.filter((r) => r.night.minC <= 0);

  it('reaches Severe before the minimum, with lead time, on most frost nights', () => {
    const early = frosts.filter((r) => r.severe && r.severe.atMs < r.night.minAtMs);
    const leads = early.map((r) => (r.night.minAtMs - (r.severe?.atMs ?? 0)) / HOUR).sort((a, b) => a - b);
    const airEarly = airFrosts.filter((r) => r.severe && r.severe.atMs < r.night.minAtMs);
    const median = leads[leads.length >> 1] ?? 0;
    const p10 = leads[Math.floor(leads.length / 10)] ?? 0;
    console.log(
      `Severe before the minimum: ${early.length}/${frosts.length} frost nights (${airEarly.length}/${airFrosts.length} with 2 m ≤ 0 °C); ` +
        `lead time median ${median.toFixed(1)} h, 10th percentile ${p10.toFixed(1)} h`,
    );
    // Measured 60/67 (90 %), 56/60 of the 2 m frosts; the others reached Severe only at the minimum or, for some frosts
    // seen only by the 5 cm sensor (2 m minimum 1–2.4 °C), not at all.
    expect(early.length / frosts.length).toBeGreaterThanOrEqual(0.85);
    expect(airEarly.length / airFrosts.length).toBeGreaterThanOrEqual(0.9);
    expect(median).toBeGreaterThanOrEqual(2); // the design aimed at 1–2 h; measured ~10 h (the FFST fires at sunset + 2 h)
    expect(leads.every((h) => h > 0)).toBe(true);
  });

  it('mostly keeps near misses below Severe', () => {
    const falseSevere = nearMisses.filter((r) => r.severe !== null);
    const warned = nearMisses.filter((r) => r.frost.some((d) => d.to === 'warning' || d.to === 'severe'));
    console.log(
      `Near misses: Severe on ${falseSevere.length}/${nearMisses.length} (minima ${falseSevere.map((r) => r.night.minC).join(', ')}), Warning or above on ${warned.length}/${nearMisses.length}`,
    );
    // Measured 11/69 (16 %) with the station's FFST from T₂ and the minimum model before it (6/69 when the FFST
    // alone decided from T₂ and nothing before); their minima lie within the forecasts' 1.6–2.5 °C error of 0 °C.
    // The skill that counts — Warning ≥ 2 h before 1.5 °C, out of sample — is in frost-skill.test.ts.
    expect(falseSevere.length / nearMisses.length).toBeLessThanOrEqual(0.2);
    expect(falseSevere.every((r) => r.night.minC < 2.5)).toBe(true);
  });

  it('never flaps: at most one notification per level per night', () => {
    for (const r of replays) {
      const sentTo = r.frost.filter((d) => d.notify).map((d) => d.to);
      expect(new Set(sentTo).size, r.night.id).toBe(sentTo.length);
    }
  });

  it('officer alerts come in raised/cleared pairs and stay rare on a healthy station', () => {
    const officer = replays.flatMap((r) => r.decisions.filter((d) => d.kind !== 'frost'));
    const raised = officer.filter((d) => d.kind === 'sensor_fault' && d.state === 'raised').length;
    console.log(`Officer alerts on 136 healthy nights: ${raised} stuck-sensor faults (0.1 °C-quantised 10-min data)`);
    expect(officer.filter((d) => d.kind === 'station_offline')).toEqual([]);
    expect(raised).toBeLessThanOrEqual(nights.length / 2);
  });
});
