/**
 * The rule state as SQLite stores it (server/warnings/state-codec.ts): the window by column. Every state of a real frost
 * night — QC failures included — must come back exactly, a state saved in the earlier format (window as objects) must
 * still load, and the stored form must be the smaller one it was made to be.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, initialState, rulesFor, type StationRuleState } from '../../frost/index.js';
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
    const flags = new Set(states.flatMap((s) => s.window.map((w) => w.qc)));
    expect(flags.has('ok')).toBe(true);
    expect(flags.size).toBeGreaterThan(1); // the nights hold QC failures, so the flag column is exercised
    for (const state of states) expect(decodeState(encodeState(state))).toEqual(state);
  });

  it('loads a state saved with the window as objects (the format before this one)', () => {
    const state = states.at(-1) as StationRuleState;
    expect(state.window.length).toBeGreaterThan(10);
    expect(decodeState(JSON.stringify(state))).toEqual(state);
  });

  it('keeps missing measurements missing, and every flag', () => {
    const state: StationRuleState = {
      ...initialState(ctx),
      window: [
        { ts: 1, airC: 2.5, rhPct: null, windMs: null, leafC: null, batteryV: null, humidityOk: true, qc: 'ok' },
        { ts: 2, airC: -90, rhPct: 101, windMs: 0, leafC: -1.25, batteryV: 3.7, humidityOk: false, qc: 'range' },
        { ts: 3, airC: 9, rhPct: 0, windMs: 2, leafC: 0, batteryV: 0, humidityOk: true, qc: 'step' },
        { ts: 4, airC: 9, rhPct: 50, windMs: null, leafC: null, batteryV: 4.2, humidityOk: true, qc: 'stuck' },
      ],
    };
    expect(decodeState(encodeState(state))).toEqual(state);
  });

  it('stores a window in well under half the bytes of the object form', () => {
    const full = states.reduce((a, b) => (b.window.length > a.window.length ? b : a));
    const empty = { ...full, window: [] };
    const columns = encodeState(full).length - encodeState(empty).length;
    const objects = JSON.stringify(full).length - JSON.stringify(empty).length;
    expect(full.window.length).toBeGreaterThanOrEqual(18); // 3 h of 10-min data
    expect(columns / objects).toBeLessThan(0.4);
  });
});
