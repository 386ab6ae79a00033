/**
 * Measures what the rule engine's windows cost in memory: builds the rule states of N stations (default 10,000) by
 * feeding each a full evening of readings through `evaluate` (one a minute by default, so every window holds its
 * 3 hours), then reports, after a full GC, the heap + ArrayBuffer bytes the windows hold, per sample and per station.
 * The windows' share is measured as the difference between the states as built and the same states with empty windows,
 * so the rest of the state (night, inputs, calibration) does not count. Not a timed test: a measurement for
 * docs/frost-model.md. Run (after `npx tsc -p tsconfig.json`):
 *
 *   node --expose-gc dist/scripts/window-memory.js [--stations 10000] [--step-s 60]
 */
import { parseArgs } from 'node:util';
import { evaluate, initialState, rulesFor, saturationVapourPressureHPa, type StationRuleState } from '../frost/index.js';

const { values } = parseArgs({ options: { stations: { type: 'string', default: '10000' }, 'step-s': { type: 'string', default: '60' } } });
const STATIONS = Number(values.stations);
const STEP_MS = Number(values['step-s']) * 1_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const HOUR_MS = 3_600_000;
/** 13:00 local (UTC+7) in Lạc Dương: by 18:00 each window holds 3 h, and some stations run on longer (their storage at another phase). */
const START_MS = Date.parse('2025-01-15T06:00:00Z');
const rules = rulesFor('arabica');

/**
 * Heap + ArrayBuffer bytes after full collections. V8 frees the memory of dead ArrayBuffers concurrently, after the
 * collection that found them dead: collect and wait until the figure stops moving.
 */
async function usedBytes(): Promise<number> {
  let last = Number.NaN;
  for (let round = 0; round < 20; round += 1) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const m = process.memoryUsage();
    const now = m.heapUsed + m.arrayBuffers;
    if (Math.abs(now - last) < 64 * 1024) return now;
    last = now;
  }
  return last;
}

function stationState(index: number): StationRuleState {
  let state = initialState({
    stationId: `mem-${index}`,
    lat: 11.9404 + (index % 100) * 0.001,
    lon: 108.4583,
    elevationM: 1_500,
    crop: 'arabica',
    timeZone: 'Asia/Ho_Chi_Minh',
  });
  const readings = (5 * HOUR_MS) / STEP_MS + (index % 53); // stations stop at different points of their storage's cycle
  for (let k = 0; k < readings; k += 1) {
    const ts = START_MS + k * STEP_MS;
    const airTempC = Math.round((14 - (2 * (ts - START_MS)) / HOUR_MS + ((index + k) % 7) / 50) * 100) / 100;
    const dew = Math.min(2, airTempC);
    const rhPct = Math.round(((100 * saturationVapourPressureHPa(dew)) / saturationVapourPressureHPa(airTempC)) * 10) / 10;
    const reading = { ts, airTempC, rhPct, windMs: 0.4 + (k % 5) / 10, batteryV: 3.9 - k / 10_000 };
    state = evaluate(state, { kind: 'reading', reading, receivedAtMs: ts }, rules, ts).state;
  }
  return state;
}

let states: StationRuleState[] = [];
for (let i = 0; i < STATIONS; i += 1) states.push(stationState(i));
const withWindows = await usedBytes();
const samples = states.reduce((n, s) => n + s.window.length, 0);
// The same states without their windows, then no states at all (code, caches and the like stay in both).
states = states.map((s) => ({ ...s, window: initialState(s.ctx).window }));
const withoutWindows = await usedBytes();
states = [];
const none = await usedBytes();
const windowBytes = withWindows - withoutWindows;
const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
console.log(
  JSON.stringify(
    {
      stations: STATIONS,
      stepS: STEP_MS / 1_000,
      samples,
      samplesPerWindow: Math.round(samples / STATIONS),
      windows: mb(windowBytes),
      bytesPerSample: Math.round((windowBytes / samples) * 10) / 10,
      statesWithWindows: mb(withWindows - none),
      restOfStatePerStation: `${Math.round((withoutWindows - none) / STATIONS)} B`,
    },
    null,
    1,
  ),
);
