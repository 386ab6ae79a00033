/**
 * How a station's rule state is stored in SQLite (station_rule_state.state). The state is saved every second while it
 * changes, and by night its window holds three hours of readings: as JSON objects that was ~26 KB a station at one
 * reading a minute (~150 KB at 10 s), rewritten on every save. Stored by column — one array per field, the QC flags as
 * one string — the same window takes about a third of that, and serialising arrays of numbers is faster too.
 * In memory the window is by column too (frost/sample-window.ts): it is encoded from and decoded into those columns
 * without a Sample object per reading. States saved before this format (window as an array of objects) still load.
 */
import {
  emptyCalibration,
  SampleWindow,
  type SampleColumns,
  type NightState,
  type QcFlag,
  type Sample,
  type StationCalibration,
  type StationRuleState,
} from '../../frost/index.js';

/** The window by column; `qc` holds one letter a sample, `humidityOk` one digit. */
type WindowColumns = Omit<SampleColumns, 'qc' | 'humidityOk'> & { qc: string; humidityOk: string };

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
  const c = state.window.columns();
  const columns: WindowColumns = {
    ...c,
    qc: c.qc.map((flag) => FLAG_LETTER[flag]).join(''),
    humidityOk: c.humidityOk.map((ok) => (ok ? '1' : '0')).join(''),
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
    window: Array.isArray(window) ? SampleWindow.from(window) : windowOf(window),
  };
}

function windowOf(c: WindowColumns): SampleWindow {
  const n = c.ts.length;
  const qc = new Array<QcFlag>(n);
  const humidityOk = new Array<boolean>(n);
  for (let i = 0; i < n; i += 1) {
    qc[i] = LETTER_FLAG[c.qc[i] ?? 'o'] ?? 'ok';
    humidityOk[i] = c.humidityOk[i] === '1';
  }
  return SampleWindow.fromColumns({
    ...c,
    qc,
    humidityOk,
  });
}
