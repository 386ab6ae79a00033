/**
 * Measurement 1, explained (issue 5): what the pure rule engine costs per reading. Every reading a station sends is
 * evaluated once (QC, 5-minute medians, trend, nowcast, FFST, the ladder), so this is a floor under the ingest path's
 * CPU per reading, whatever the transport does. A clear frost night from 15:00 to 09:00 local, at the two cadences a
 * station uses (60 s when risky, and 10 s — the benchmark publishers' spacing, a window six times fuller).
 */
import {
  evaluate,
  initialState,
  inRiskWindow,
  rulesFor,
  saturationVapourPressureHPa,
  type StationContext,
  type StationRuleState,
} from '../frost/index.js';
import type { Reading } from '../contracts/index.js';
import { round } from './lib/stats.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

const HOUR_MS = 3_600_000;
const CTX: StationContext = {
  stationId: 'bench-engine',
  lat: 11.9404,
  lon: 108.4583,
  elevationM: 1_500,
  crop: 'arabica',
  timeZone: 'Asia/Ho_Chi_Minh',
};
/** 15:00 local (UTC+7) on a January day: the Watch window opens. */
const START_MS = Date.parse('2025-01-15T08:00:00Z');
const NIGHT_MS = 18 * HOUR_MS;

/** A radiative night: 1.5 °C/h in the afternoon, √t cooling to −1.5 °C at sunrise, dew point 0 °C, calm. */
function nightReadings(stepMs: number): Reading[] {
  const rules = rulesFor('arabica');
  const { sunsetMs, sunriseMs } = inRiskWindow(CTX, START_MS + 6 * HOUR_MS, rules);
  const air = (ts: number): number => {
    if (ts < sunsetMs) return 8 + (1.5 * (sunsetMs - ts)) / HOUR_MS;
    if (ts < sunriseMs) return 8 - 9.5 * Math.sqrt((ts - sunsetMs) / (sunriseMs - sunsetMs));
    return -1.5 + (3 * (ts - sunriseMs)) / HOUR_MS;
  };
  const out: Reading[] = [];
  for (let ts = START_MS, seq = 0; ts < START_MS + NIGHT_MS; ts += stepMs, seq += 1) {
    const airTempC = Math.round((air(ts) + ((seq * 7) % 5) / 100) * 100) / 100;
    const dew = Math.min(0, airTempC);
    const rhPct = Math.round(((100 * saturationVapourPressureHPa(dew)) / saturationVapourPressureHPa(airTempC)) * 10) / 10;
    out.push({ ts, airTempC, rhPct, windMs: 0.4, batteryV: 3.9, seq });
  }
  return out;
}

/** CPU time of this process, so other work on the machine does not inflate a pure computation's figure. */
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
};

/** Microseconds of CPU per reading over one night, after one warm-up night; best of `repeats`. */
function perReadingUs(readings: readonly Reading[], repeats: number): { us: number; decisions: number } {
  const rules = rulesFor('arabica');
  let best = Infinity;
  let decisions = 0;
  for (let r = 0; r <= repeats; r += 1) {
    let state: StationRuleState = initialState(CTX);
    decisions = 0;
    const t0 = cpuMs();
    for (const reading of readings) {
      const out = evaluate(state, { kind: 'reading', reading, receivedAtMs: reading.ts }, rules, reading.ts);
      state = out.state;
      decisions += out.decisions.length;
    }
    const us = ((cpuMs() - t0) * 1_000) / readings.length;
    if (r > 0) best = Math.min(best, us);
  }
  return { us: best, decisions };
}

export const bench: Bench = {
  id: 'engine',
  title: 'Rule engine CPU per reading (pure evaluate, one core)',
  // The measurement is synchronous CPU work; the Bench interface wants a Promise.
  run: (options) => Promise.resolve(engineRows(options)),
};

function engineRows(options: BenchOptions): BenchRow[] {
  const repeats = options.quick ? 5 : 20;
  const rows: BenchRow[] = [];
  for (const stepS of [60, 10]) {
    options.progress(`rule engine, one reading every ${stepS} s`);
    const readings = nightReadings(stepS * 1_000);
    const { us, decisions } = perReadingUs(readings, repeats);
    rows.push({
      group: 1,
      name: `rule engine: CPU per reading, ${stepS} s cadence`,
      value: round(us),
      unit: 'µs/reading',
      note: `${readings.length.toLocaleString()} readings of one frost night (15:00–09:00), best of ${repeats}; ${decisions} decisions; ≈ ${Math.round(1e6 / us).toLocaleString()} readings/s on one core`,
    });
  }
  return rows;
}
