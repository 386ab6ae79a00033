/**
 * The rule state as SQLite stores it (server/warnings/state-codec.ts): the window by column. Every state of a real frost
 * night — QC failures included — must come back exactly, a state saved in the earlier format (window as objects) must
 * still load, and the stored form must be the smaller one it was made to be.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, initialState, rulesFor, SampleWindow, type StationRuleState } from '../../frost/index.js';
import { decodeState, encodeState } from '../../server/warnings/state-codec.js';
import { loadFrostNights } from '../helpers/frost-nights.js';

const ctx = { stationId: 'dwd-03379', lat: 48.1632, lon: 11.5429, elevationM: 515, crop: 'arabica' as const, timeZone: 'Europe/Berlin' };
const rules = rulesFor('arabica', { sampleIntervalMs: 10 * 60_000, maxSampleIntervalMs: 10 * 60_000 });

/** Every state a station passes through over a few real nights (10-min data, stuck-sensor faults among them). */
function statesOfNights(count: number): StationRuleState[] {
  const out: StationRuleState[] = [];
  for (const night of loadFrostNights().slice(0, count)) {
    let state = initialState(ctx);
    for (const reading of night.readings) {
      state = evaluate(state, { kind: 'reading', reading, receivedAtMs: reading.ts }, rules, reading.ts).state;
      out.push(state);
    }
  }
  return out;
}

describe('rule state codec', () => {
  const states = statesOfNights(12);

  it('gives back every state of real nights exactly, QC flags and missing fields included', () => {
    const flags = new Set(states.flatMap((s) => s.window.toArray().map((w) => w.qc)));
    expect(flags.has('ok')).toBe(true);
    expect(flags.size).toBeGreaterThan(1); // the nights hold QC failures, so the flag column is exercised
    for (const state of states) {
      const back = decodeState(encodeState(state));
      expect(back).toEqual(state); // the windows compare sample by sample (SampleWindow is iterable)
      expect(back.window.toArray()).toEqual(state.window.toArray());
    }
  });

  it('loads a state saved with the window as objects (the format before this one)', () => {
    const state = states.at(-1) as StationRuleState;
    expect(state.window.length).toBeGreaterThan(10);
    const back = decodeState(JSON.stringify({ ...state, window: state.window.toArray() }));
    expect(back).toEqual(state);
    expect(back.window.toArray()).toEqual(state.window.toArray());
    expect(decodeState(JSON.stringify(state)).window.toArray()).toEqual(state.window.toArray()); // toJSON writes that form
  });

  it('loads a version-1 state (holds counted in readings, no calibration, window as objects)', () => {
    const state = states.at(-1) as StationRuleState;
    const night = state.night === null ? null : { ...state.night, forecastByHourC: undefined, minAirC: undefined };
    const window = state.window.toArray();
    // JSON leaves out what is undefined: no heldSinceMs, no calibration, as version 1 saved it.
    const v1 = {
      ...state,
      version: 1,
      hold: { watch: 2, warning: 0, severe: 0 },
      heldSinceMs: undefined,
      calibration: undefined,
      night,
      window,
    };
    const back = decodeState(JSON.stringify(v1));
    expect(back.version).toBe(2);
    expect(back.heldSinceMs).toEqual({ watch: null, warning: null, severe: null });
    expect(back.window).toBeInstanceOf(SampleWindow);
    expect(back.window.toArray()).toEqual(state.window.toArray());
    // …and the engine runs on from it.
    const next = evaluate(
      back,
      { kind: 'reading', reading: { ts: (state.newestTs ?? 0) + 600_000, airTempC: 1 }, receivedAtMs: 0 },
      rules,
      0,
    );
    expect(next.state.window.length).toBeGreaterThan(0);
    expect(next.state.window.toArray().at(-1)).toMatchObject({ airC: 1 });
  });

  it('keeps missing measurements missing, and every flag', () => {
    const samples = [
      { ts: 1, airC: 2.5, rhPct: null, windMs: null, leafC: null, batteryV: null, humidityOk: true, qc: 'ok' as const },
      { ts: 2, airC: -90, rhPct: 101, windMs: 0, leafC: -1.25, batteryV: 3.7, humidityOk: false, qc: 'range' as const },
      { ts: 3, airC: 9, rhPct: 0, windMs: 2, leafC: 0, batteryV: 0, humidityOk: true, qc: 'step' as const },
      { ts: 4, airC: 9, rhPct: 50, windMs: null, leafC: null, batteryV: 4.2, humidityOk: true, qc: 'stuck' as const },
    ];
    const state: StationRuleState = { ...initialState(ctx), window: SampleWindow.from(samples) };
    expect(decodeState(encodeState(state))).toEqual(state);
    expect(decodeState(encodeState(state)).window.toArray()).toEqual(samples);
  });

  it('stores a window in well under half the bytes of the object form', () => {
    const full = states.reduce((a, b) => (b.window.length > a.window.length ? b : a));
    const empty = { ...full, window: SampleWindow.empty() };
    const columns = encodeState(full).length - encodeState(empty).length;
    const objects = JSON.stringify({ ...full, window: full.window.toArray() }).length - JSON.stringify({ ...full, window: [] }).length;
    expect(full.window.length).toBeGreaterThanOrEqual(18); // 3 h of 10-min data
    expect(columns / objects).toBeLessThan(0.4);
  });
});
