import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasets, shippedDatasetDirs } from '../../backtest/datasets.js';
import {
  correctionError,
  issueMs,
  localMidnightMs,
  preAlerted,
  preAlertNights,
  renderPreAlertReport,
  renderPreAlertSvg,
  runPreAlertEvaluation,
  SCENARIOS,
  scoreRecords,
  simulateRun,
  stationBiasC,
  totalKey,
  type ErrorScenario,
  type NightRecord,
} from '../../backtest/prealert.js';

/**
 * The pre-alert's evaluation in simulation (backtest/prealert.ts) on the shipped real nights: synthetic forecast
 * minima through the production summariseNight / fitCorrection / judgeNight. These tests pin what the simulation must
 * get right for its numbers to mean anything: a perfect forecast is judged perfectly, a learnt correction undoes a
 * bias the raw forecast cannot, the season is learnt in order, and a seed always gives the same season.
 */
const nights = preAlertNights(loadDatasets(shippedDatasetDirs(join(import.meta.dirname, '..', '..'))));

const scenario = (over: Partial<ErrorScenario>): ErrorScenario => ({
  id: 'test',
  name: 'test',
  biasC: 0,
  coldGain: 0,
  coldRefC: 0,
  sigmaC: { tonight: 0, tomorrow: 0 },
  ...over,
});

const airFrost = (r: NightRecord): boolean => r.kind === 'frost' && r.observedMinC <= 0;

describe('the nights in the pre-alert’s terms', () => {
  it('covers every labelled night of every shipped station, in order, with a dew point and a local evening', () => {
    expect(nights.length).toBeGreaterThan(2000);
    expect(new Set(nights.map((n) => n.station)).size).toBeGreaterThanOrEqual(8);
    for (const n of nights) {
      expect(n.dewPointC).not.toBeNull(); // every shipped set has RH or a measured dew point
      expect(n.windMs).toBeNull(); // and none measures wind: the doc says calm is assumed
      // The evening's local midnight is before sunset and less than a day before it.
      expect(n.sunsetMs - n.eveningMidnightMs).toBeGreaterThan(12 * 3_600_000);
      expect(n.sunsetMs - n.eveningMidnightMs).toBeLessThan(24 * 3_600_000);
    }
  });

  it('finds local midnight in the station’s zone', () => {
    // 2020-01-01 00:07 UTC is 17:07 on 31 Dec at UTC−7 (Socorro's Etc/GMT+7).
    expect(localMidnightMs(Date.parse('2020-01-01T00:07:32Z'), 'Etc/GMT+7')).toBe(Date.parse('2019-12-31T07:00:00Z'));
    expect(localMidnightMs(Date.parse('2025-01-15T11:00:00Z'), 'Asia/Ho_Chi_Minh')).toBe(Date.parse('2025-01-14T17:00:00Z'));
  });
});

describe('a perfect forecast (no bias, no error)', () => {
  const records = simulateRun(nights, scenario({ id: 'perfect' }), 1);

  it('makes the learnt correction the identity once it fits a line', () => {
    const linear = records.filter((r) => r.corrections.learnt.kind === 'linear');
    expect(linear.length).toBeGreaterThan(1500);
    for (const r of linear) {
      expect(r.corrections.learnt.alpha).toBe(0);
      expect(r.corrections.learnt.beta).toBe(1);
    }
  });

  it('pre-alerts every air-frost night at every threshold ≥ 0 °C, at both leads', () => {
    for (const minC of [0, 0.5, 1, 2, 3, 4]) {
      for (const r of records.filter(airFrost)) {
        expect(preAlerted(r, { variant: 'learnt', criteria: 'cold', minC }), `${r.nightId} ${r.lead} minC ${minC}`).toBe(true);
      }
    }
  });

  it('misses at minC 0 only the frost nights that froze on the ground alone (2 m air above 0 °C)', () => {
    const tonight = records.filter((r) => r.lead === 'tonight');
    const score = scoreRecords(tonight, { variant: 'raw', criteria: 'cold', minC: 0 });
    expect(score.misses).toBe(tonight.filter((r) => r.kind === 'frost' && r.observedMinC > 0).length);
    expect(score.falseAlarms).toBe(0); // near misses are ≥ 1 °C
  });
});

describe('a forecast 3 °C too warm (no random error)', () => {
  const records = simulateRun(nights, scenario({ id: 'warm3', biasC: 3 }), 1).filter((r) => r.lead === 'tonight');
  const how = { criteria: 'cold', minC: 2 } as const;

  it('is missed by the raw forecast where the learnt correction catches it', () => {
    const caughtOnlyLearnt = records.filter(
      (r) => r.kind === 'frost' && preAlerted(r, { ...how, variant: 'learnt' }) && !preAlerted(r, { ...how, variant: 'raw' }),
    );
    const caughtOnlyRaw = records.filter(
      (r) => r.kind === 'frost' && preAlerted(r, { ...how, variant: 'raw' }) && !preAlerted(r, { ...how, variant: 'learnt' }),
    );
    expect(caughtOnlyLearnt.length).toBeGreaterThan(50);
    expect(caughtOnlyRaw).toHaveLength(0);
    // The raw forecast at 2 °C only sees true minima ≤ −1 °C: the frost nights between −1 and 0 °C are all its misses.
    for (const r of records.filter((x) => x.kind === 'frost' && x.observedMinC > -1 && x.observedMinC <= 0)) {
      expect(preAlerted(r, { ...how, variant: 'raw' })).toBe(false);
    }
    const raw = scoreRecords(records, { ...how, variant: 'raw' });
    const learnt = scoreRecords(records, { ...how, variant: 'learnt' });
    expect(learnt.pod as number).toBeGreaterThan((raw.pod as number) + 0.05);
  });

  it('is undone exactly by the learnt line (α = −3, β = 1) and catches every air frost from then on', () => {
    const linear = records.filter((r) => r.corrections.learnt.kind === 'linear');
    for (const r of linear) expect(r.corrections.learnt).toMatchObject({ alpha: -3, beta: 1 });
    expect(correctionError(linear, 'learnt').rmseC).toBeLessThan(1e-9);
    expect(correctionError(records, 'raw').meanC).toBeCloseTo(3, 6);
    for (const r of linear.filter(airFrost)) expect(preAlerted(r, { ...how, variant: 'learnt' })).toBe(true);
  });
});

describe('one simulated season', () => {
  const ecmwf = SCENARIOS.find((s) => s.id === 'station') as ErrorScenario;

  it('is the same for the same seed and differs for another', () => {
    const a = simulateRun(nights, ecmwf, 7);
    const b = simulateRun(nights, ecmwf, 7);
    const c = simulateRun(nights, ecmwf, 8);
    expect(b).toEqual(a);
    expect(c.map((r) => r.summary.forecastMinC)).not.toEqual(a.map((r) => r.summary.forecastMinC));
  });

  it('draws errors of the stated size and a bias per station in 0.5…3 °C', () => {
    const records = simulateRun(nights, ecmwf, 3);
    for (const lead of ['tonight', 'tomorrow'] as const) {
      const errors = records.filter((r) => r.lead === lead).map((r) => r.summary.forecastMinC - r.observedMinC - r.biasC);
      const mean = errors.reduce((s, e) => s + e, 0) / errors.length;
      const sd = Math.sqrt(errors.reduce((s, e) => s + (e - mean) ** 2, 0) / (errors.length - 1));
      expect(Math.abs(mean)).toBeLessThan(0.15);
      expect(sd).toBeGreaterThan(ecmwf.sigmaC[lead] - 0.1);
      expect(sd).toBeLessThan(ecmwf.sigmaC[lead] + 0.1);
    }
    for (const station of new Set(nights.map((n) => n.station))) {
      const bias = stationBiasC(ecmwf, station, 3);
      expect(bias).toBeGreaterThanOrEqual(0.5);
      expect(bias).toBeLessThanOrEqual(3);
    }
  });

  it('learns each station in order, from nights already observed when the pre-alert went out', () => {
    const records = simulateRun(nights, ecmwf, 1);
    const byStation = new Map<string, NightRecord[]>();
    for (const r of records) byStation.set(`${r.station}|${r.lead}`, [...(byStation.get(`${r.station}|${r.lead}`) ?? []), r]);
    const nightOf = new Map(nights.map((n) => [n.nightId, n]));
    let sawTomorrowSkip = false;
    for (const list of byStation.values()) {
      expect(list[0]?.corrections.learnt).toMatchObject({ kind: 'prior', n: 0 });
      list.forEach((r, i) => {
        const night = nightOf.get(r.nightId);
        if (!night) throw new Error(r.nightId);
        // Only earlier nights whose window had ended before the pre-alert (and, as fitCorrection wants, forecast ≤ 10 °C).
        const ended = list.slice(0, i).filter((e) => {
          const earlier = nightOf.get(e.nightId);
          return earlier !== undefined && earlier.sunriseMs + 3 * 3_600_000 <= issueMs(night, r.lead);
        });
        expect(r.corrections.learnt.n).toBe(ended.filter((e) => e.summary.forecastMinC <= 10).length);
        if (r.lead === 'tomorrow' && i > 0 && ended.length < i) sawTomorrowSkip = true;
      });
    }
    expect(sawTomorrowSkip).toBe(true); // "tomorrow" is issued before the night before has ended
  });
});

describe('the evaluation over seeds', () => {
  const ev = runPreAlertEvaluation(nights, { seeds: [1, 2], scenarios: SCENARIOS.filter((s) => s.id !== 'cold'), minCs: [0, 2, 4] });

  it('trades detection for false alarms as the threshold rises', () => {
    for (const lead of ['tonight', 'tomorrow'] as const) {
      const at = (minC: number) => ev.totals.get(totalKey('station', lead, 'learnt', 'rule', minC)) ?? [];
      at(0).forEach((low, seed) => {
        const high = at(4)[seed];
        expect(high?.pod as number).toBeGreaterThan(low.pod as number);
        expect(high?.far as number).toBeGreaterThan(low.far as number);
      });
    }
  });

  it('writes a report that says it is a simulation and what its FAR is relative to, and a picture', () => {
    const md = renderPreAlertReport(ev, { dataSources: 'test', runtimeS: 1, command: 'x', searchNote: 'none found' });
    expect(md).toContain('This is a simulation');
    expect(md).toContain('FAR is relative to near misses');
    expect(md).toContain('| station | tonight | (c) learnt per station |');
    const svg = renderPreAlertSvg(ev);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<polyline');
    expect(svg).not.toContain('NaN');
  });
});
