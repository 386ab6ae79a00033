import type { Reading } from '../contracts/index.js';
import { dewPointC } from './psychro.js';
import type { QcRules } from './rules.js';
import type { SampleWindow } from './sample-window.js';
import type { QcFlag, Sample } from './types.js';

const MINUTE_MS = 60_000;
/** A step is judged against a valid reading at most this old; after that the sensor may simply have moved on. */
const STEP_REFERENCE_MAX_MS = 10 * MINUTE_MS;

export interface QcResult {
  sample: Sample;
  /** Value the sensor is stuck at after this reading, or null. */
  stuckValueC: number | null;
  /** Why the reading failed, in English with numbers; null when it passed. */
  reason: string | null;
}

/**
 * Quality control of one reading against the readings before it (WMO-No. 305; Zahumenský 2004):
 * plausible range, step, persistence (stuck, at night only: by day a flat hour is unusual but harmless),
 * and internal consistency (dew point ≤ air, which only disqualifies the humidity).
 */
export function checkReading(reading: Reading, earlier: SampleWindow, stuckValueC: number | null, atNight: boolean, qc: QcRules): QcResult {
  const rhPct = reading.rhPct ?? null;
  const humidityOk = rhPct === null || (rhPct > 0 && dewPointC(reading.airTempC, rhPct) <= reading.airTempC + qc.dewSlackC);
  const base: Omit<Sample, 'qc'> = {
    ts: reading.ts,
    airC: reading.airTempC,
    rhPct,
    windMs: reading.windMs ?? null,
    leafC: reading.leafTempC ?? null,
    batteryV: reading.batteryV ?? null,
    humidityOk,
  };
  const judged = judgeAir(base, earlier, stuckValueC, atNight, qc);
  const humidityReason = humidityOk ? null : `humidity ${rhPct} % puts the dew point above the air ${reading.airTempC} °C`;
  // Spelled out, not `{ ...base, qc }`: a spread gives every sample a hidden class of its own in V8 (when the window held
  // the objects, its loops ran megamorphic: 187 → 14 ns a sample). It is written into the window's columns now.
  const sample: Sample = {
    ts: base.ts,
    airC: base.airC,
    rhPct: base.rhPct,
    windMs: base.windMs,
    leafC: base.leafC,
    batteryV: base.batteryV,
    humidityOk: base.humidityOk,
    qc: judged.flag,
  };
  return { sample, stuckValueC: judged.stuckValueC, reason: judged.reason ?? humidityReason };
}

interface AirJudgement {
  flag: QcFlag;
  stuckValueC: number | null;
  reason: string | null;
}

function judgeAir(s: Omit<Sample, 'qc'>, earlier: SampleWindow, stuckValueC: number | null, atNight: boolean, qc: QcRules): AirJudgement {
  if (s.airC < qc.minAirC || s.airC > qc.maxAirC) {
    return {
      flag: 'range',
      stuckValueC,
      reason: `air ${fmt(s.airC)} °C outside ${fmt(qc.minAirC).replace('.0', '')}…${fmt(qc.maxAirC).replace('.0', '')} °C`,
    };
  }
  const ref = lastValidBefore(earlier, s.ts);
  if (ref >= 0 && s.ts - earlier.ts(ref) <= STEP_REFERENCE_MAX_MS) {
    const refTs = earlier.ts(ref);
    const refAirC = earlier.airC(ref);
    const perMin = Math.abs(s.airC - refAirC) / Math.max(1, (s.ts - refTs) / MINUTE_MS);
    if (perMin > qc.maxStepCPerMin) {
      return { flag: 'step', stuckValueC, reason: `air jumped ${fmt(s.airC - refAirC)} °C (> ${qc.maxStepCPerMin} °C/min)` };
    }
  }
  if (stuckValueC !== null) {
    if (Math.abs(s.airC - stuckValueC) < qc.stuckDeltaC - 1e-9) {
      return { flag: 'stuck', stuckValueC, reason: `air stuck at ${fmt(stuckValueC)} °C` };
    }
    return { flag: 'ok', stuckValueC: null, reason: null };
  }
  if (atNight && isFlatHour(s, earlier, qc)) {
    return { flag: 'stuck', stuckValueC: s.airC, reason: `air varied < ${qc.stuckDeltaC} °C in ${qc.stuckWindowMs / MINUTE_MS} min` };
  }
  return { flag: 'ok', stuckValueC: null, reason: null };
}

/** Index of the last valid sample of `earlier` before `ts`; -1 when none. */
function lastValidBefore(earlier: SampleWindow, ts: number): number {
  for (let i = earlier.length - 1; i >= 0; i -= 1) if (earlier.ts(i) < ts && earlier.isValid(i)) return i;
  return -1;
}

/** The hour up to this reading is covered (first reading ≥ 55 min back, ≥ 5 readings) and varied less than 0.1 °C. */
function isFlatHour(s: Omit<Sample, 'qc'>, earlier: SampleWindow, qc: QcRules): boolean {
  let count = 0;
  let firstTs = 0;
  let lo = s.airC;
  let hi = s.airC;
  for (let i = earlier.lowerBound(s.ts - qc.stuckWindowMs); i < earlier.length; i += 1) {
    const ts = earlier.ts(i);
    if (ts >= s.ts) break;
    if (!earlier.isValid(i)) continue;
    if (count === 0) firstTs = ts;
    count += 1;
    const airC = earlier.airC(i);
    lo = Math.min(lo, airC);
    hi = Math.max(hi, airC);
  }
  if (count < 5 || s.ts - firstTs < qc.stuckWindowMs - 5 * MINUTE_MS) return false;
  return hi - lo < qc.stuckDeltaC - 1e-9;
}

export function fmt(v: number): string {
  const r = Math.round(v * 10) / 10;
  return (r < 0 ? '−' : '') + Math.abs(r).toFixed(1);
}
