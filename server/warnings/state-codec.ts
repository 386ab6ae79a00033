/**
 * How a station's rule state is stored in SQLite (station_rule_state.state). The state is saved every second while it
 * changes, and by night its window holds three hours of readings: as JSON objects that was ~26 KB a station at one
 * reading a minute (~150 KB at 10 s), rewritten on every save. Stored by column — one array per field, the QC flags as
 * one string — the same window takes about a third of that, and serialising arrays of numbers is faster too.
 * States saved before this format (window as an array of objects) still load.
 */
import {
  emptyCalibration,
  type NightState,
  type QcFlag,
  type Sample,
  type StationCalibration,
  type StationRuleState,
} from '../../frost/index.js';

/** The window by column; `qc` holds one letter a sample, `humidityOk` one digit. */
interface WindowColumns {
  ts: number[];
  airC: number[];
  rhPct: (number | null)[];
  windMs: (number | null)[];
  leafC: (number | null)[];
  batteryV: (number | null)[];
  qc: string;
  humidityOk: string;
}

/** Version 1 counted holds in readings (`hold`); version 2 keeps since when each level has held (`heldSinceMs`). */
type StoredNight = Omit<NightState, 'forecastByHourC' | 'minAirC'> & Partial<Pick<NightState, 'forecastByHourC' | 'minAirC'>>;
type StoredState = Omit<StationRuleState, 'window' | 'version' | 'heldSinceMs' | 'calibration' | 'night'> & {
  version: 1 | 2;
  window: Sample[] | WindowColumns;
  night: StoredNight | null;
  heldSinceMs?: StationRuleState['heldSinceMs'];
  calibration?: StationCalibration;
  hold?: unknown;
};

const FLAG_LETTER: Record<QcFlag, string> = { ok: 'o', range: 'r', step: 'j', stuck: 's' };
const LETTER_FLAG: Record<string, QcFlag> = { o: 'ok', r: 'range', j: 'step', s: 'stuck' };

export function encodeState(state: StationRuleState): string {
  const w = state.window;
  const columns: WindowColumns = {
    ts: w.map((s) => s.ts),
    airC: w.map((s) => s.airC),
    rhPct: w.map((s) => s.rhPct),
    windMs: w.map((s) => s.windMs),
    leafC: w.map((s) => s.leafC),
    batteryV: w.map((s) => s.batteryV),
    qc: w.map((s) => FLAG_LETTER[s.qc]).join(''),
    humidityOk: w.map((s) => (s.humidityOk ? '1' : '0')).join(''),
  };
  const stored: StoredState = { ...state, window: columns };
  return JSON.stringify(stored);
}

export function decodeState(json: string): StationRuleState {
  const { window, heldSinceMs, calibration, night, ...rest } = JSON.parse(json) as StoredState;
  // A version-1 state's hold counts cannot become times: its levels hold afresh (a few minutes' delay, once). States
  // from before the station calibration start it empty; their night notes no forecasts.
  delete rest.hold;
  return {
    ...rest,
    version: 2,
    heldSinceMs: heldSinceMs ?? { watch: null, warning: null, severe: null },
    calibration: calibration ?? emptyCalibration(),
    night:
      night === null
        ? null
        : { ...night, forecastByHourC: night.forecastByHourC ?? new Array<number | null>(10).fill(null), minAirC: night.minAirC ?? null },
    window: Array.isArray(window) ? window : samplesOf(window),
  };
}

function samplesOf(c: WindowColumns): Sample[] {
  const out: Sample[] = new Array<Sample>(c.ts.length);
  for (let i = 0; i < c.ts.length; i += 1) {
    // One literal with every field, as frost/qc.ts builds samples: one V8 hidden class for the whole window.
    out[i] = {
      ts: c.ts[i] as number,
      airC: c.airC[i] as number,
      rhPct: c.rhPct[i] ?? null,
      windMs: c.windMs[i] ?? null,
      leafC: c.leafC[i] ?? null,
      batteryV: c.batteryV[i] ?? null,
      humidityOk: c.humidityOk[i] === '1',
      qc: LETTER_FLAG[c.qc[i] ?? 'o'] ?? 'ok',
    };
  }
  return out;
}
