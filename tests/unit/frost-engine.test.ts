import { describe, expect, it } from 'vitest';
import {
  evaluate,
  inRiskWindow,
  initialState,
  rulesFor,
  saturationVapourPressureHPa,
  wantsFastSampling,
  type EngineEvent,
  type Rules,
  type StationContext,
  type StationRuleState,
} from '../../frost/index.js';
import {
  FROST_RANK,
  type Decision,
  type FrostDecision,
  type FrostLevel,
  type OfficerDecision,
  type Reading,
} from '../../contracts/index.js';
import { decodeState, encodeState } from '../../server/warnings/state-codec.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const ICT = 7 * HOUR; // Asia/Ho_Chi_Minh, UTC+7
/** `hh:mm` local (UTC+7) on `date` → epoch ms. */
const ict = (date: string, hhmm: string): number => Date.parse(`${date}T${hhmm}:00Z`) - ICT;

const CTX: StationContext = {
  stationId: 'ld-01',
  lat: 11.9404,
  lon: 108.4583,
  elevationM: 1_500,
  crop: 'arabica',
  timeZone: 'Asia/Ho_Chi_Minh',
};
const DAY = '2025-01-15';
const NEXT = '2025-01-16';
const { sunsetMs: SUNSET, sunriseMs: SUNRISE } = inRiskWindow(CTX, ict(DAY, '20:00'), rulesFor('arabica'));
const NIGHT_H = (SUNRISE - SUNSET) / HOUR;

interface NightShape {
  sunsetC: number;
  minC: number;
  dewC: number;
  windMs?: number;
}

/** A clear night: 1.5 °C/h in the afternoon, T = T_sunset − (T_sunset − T_min)·√(h/n) overnight, +3 °C/h after sunrise. */
function airAt(shape: NightShape, ts: number): number {
  if (ts < SUNSET) return shape.sunsetC + (1.5 * (SUNSET - ts)) / HOUR;
  if (ts < SUNRISE) return shape.sunsetC - (shape.sunsetC - shape.minC) * Math.sqrt((ts - SUNSET) / HOUR / NIGHT_H);
  return shape.minC + (3 * (ts - SUNRISE)) / HOUR;
}

function reading(shape: NightShape, ts: number, extra: Partial<Reading> = {}): Reading {
  const airTempC = Math.round(airAt(shape, ts) * 100) / 100;
  const dew = Math.min(shape.dewC, airTempC);
  const rhPct = Math.round(((100 * saturationVapourPressureHPa(dew)) / saturationVapourPressureHPa(airTempC)) * 10) / 10;
  return { ts, airTempC, rhPct, windMs: shape.windMs ?? 0.5, batteryV: 3.9, ...extra };
}

function minutes(fromMs: number, toMs: number, stepMs = MIN): number[] {
  const out: number[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) out.push(t);
  return out;
}

interface Run {
  state: StationRuleState;
  decisions: Decision[];
}

/** Feed events; `roundTrip` passes the state through the state codec between every event, as the shell persists it. */
function run(events: readonly { event: EngineEvent; nowMs: number }[], rules: Rules, start = initialState(CTX), roundTrip = false): Run {
  let state = start;
  const decisions: Decision[] = [];
  for (const { event, nowMs } of events) {
    const out = evaluate(state, event, rules, nowMs);
    state = roundTrip ? decodeState(encodeState(out.state)) : out.state;
    decisions.push(...out.decisions);
  }
  return { state, decisions };
}

/** Live readings every minute (nowMs = ts + 2 s), with a tick after each. */
function live(readings: readonly Reading[], ticks = true): { event: EngineEvent; nowMs: number }[] {
  return readings.flatMap((r) => {
    const ev = { event: { kind: 'reading', reading: r, receivedAtMs: r.ts + 2_000 } as EngineEvent, nowMs: r.ts + 2_000 };
    return ticks ? [ev, { event: { kind: 'tick' }, nowMs: r.ts + 30_000 }] : [ev];
  });
}

const frostOnly = (ds: readonly Decision[]): FrostDecision[] => ds.filter((d): d is FrostDecision => d.kind === 'frost');
const officerOnly = (ds: readonly Decision[]): OfficerDecision[] => ds.filter((d): d is OfficerDecision => d.kind !== 'frost');
const sent = (ds: readonly Decision[]): string[] =>
  frostOnly(ds)
    .filter((d) => d.notify)
    .map((d) => d.to);

const FROST: NightShape = { sunsetC: 8, minC: -2, dewC: -1 };
const MILD: NightShape = { sunsetC: 16, minC: 6, dewC: 3 };
const wholeNight = (shape: NightShape, extra?: (ts: number) => Partial<Reading>): Reading[] =>
  minutes(ict(DAY, '15:00'), ict(NEXT, '09:30')).map((ts) => reading(shape, ts, extra?.(ts)));

describe('sunrise and sunset through the night logic (Lạc Dương)', () => {
  it('the night of 15→16 January: sunset 17:41, sunrise 06:11–06:12 (published, ±3 min)', () => {
    expect(Math.abs(SUNSET - ict(DAY, '17:41'))).toBeLessThanOrEqual(3 * MIN);
    expect(Math.abs(SUNRISE - ict(NEXT, '06:12'))).toBeLessThanOrEqual(3 * MIN);
  });

  it.each([
    ['14:50', DAY, false, false],
    ['15:10', DAY, true, true],
    ['18:59', DAY, true, true],
    ['19:01', DAY, true, false],
    ['03:00', NEXT, true, false],
    ['06:25', NEXT, false, false],
  ])('%s on %s: in risk window %s, in Watch hours %s', (hhmm, date, inRisk, inWatchHours) => {
    const w = inRiskWindow(CTX, ict(date, hhmm), rulesFor('arabica'));
    expect({ inRisk: w.inRisk, inWatchHours: w.inWatchHours }).toEqual({ inRisk, inWatchHours });
  });
});

describe('the ladder on a frost night', () => {
  const rules = rulesFor('arabica');
  const night = run(live(wholeNight(FROST)), rules);
  const frost = frostOnly(night.decisions);

  it('climbs watch → warning → severe, each once, then clears after sunrise', () => {
    expect(sent(night.decisions)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
    expect(frost.map((d) => `${d.from}→${d.to}`)).toEqual(['none→watch', 'watch→warning', 'warning→severe', 'severe→all_clear']);
    expect(officerOnly(night.decisions)).toEqual([]);
  });

  it('enters each tier in its window, with numbers in the reason and the expected time in the inputs', () => {
    const [watch, warning, severe, clear] = frost as [FrostDecision, FrostDecision, FrostDecision, FrostDecision];
    expect(watch.atMs).toBeGreaterThanOrEqual(ict(DAY, '15:00'));
    expect(watch.atMs).toBeLessThan(ict(DAY, '19:00'));
    expect(watch.reason).toMatch(/^radiative evening, (forecast minimum|dew point) −?\d+\.\d °C ≤ \d\.\d °C/);
    expect(warning.atMs).toBeLessThan(severe.atMs);
    expect(warning.reason).toMatch(/minimum −?\d+\.\d °C ± \d\.\d by \d\d:\d\d ≤ 0\.5 °C/);
    expect(severe.atMs).toBeLessThan(SUNRISE - 2 * HOUR); // aim: 1–2 h lead at least
    expect(severe.reason).toMatch(/≤ (0\.0|0\.5) °C/);
    expect(severe.inputs.forecastMinAtMs).toBe(SUNRISE);
    expect(severe.inputs.sunriseMs).toBe(SUNRISE);
    expect(severe.inputs.dewPointC).toBeCloseTo(-1, 0);
    expect(severe.inputs.leafEstC).toBeCloseTo((severe.inputs.airTempC ?? 0) - 3, 6);
    expect(clear.atMs).toBeGreaterThan(SUNRISE);
    expect(clear.reason).toMatch(/after sunrise, air \d+\.\d °C > 4\.0 °C and rising/);
  });

  it('a mild night produces nothing', () => {
    expect(run(live(wholeNight(MILD)), rules).decisions).toEqual([]);
  });

  it('gives identical decisions when the state goes through JSON between every event', () => {
    const events = live(wholeNight(FROST));
    expect(run(events, rules, initialState(CTX), true).decisions).toEqual(night.decisions);
  });

  it('asks for fast sampling on the risky evening and night, not by day nor on a mild evening', () => {
    const before = run(live(wholeNight(FROST).filter((r) => r.ts < ict(DAY, '16:30'))), rules).state;
    expect(wantsFastSampling(before, rules, ict(DAY, '16:31'))).toBe(true);
    expect(wantsFastSampling(initialState(CTX), rules, ict(DAY, '11:00'))).toBe(false);
    expect(wantsFastSampling(night.state, rules, ict(NEXT, '12:00'))).toBe(false);
    const mild = run(live(wholeNight(MILD).filter((r) => r.ts < ict(DAY, '16:30'))), rules).state;
    expect(wantsFastSampling(mild, rules, ict(DAY, '16:31'))).toBe(false);
  });
});

/** Highest level a run reached (from its decisions). */
function peak(ds: readonly Decision[]): FrostLevel {
  return frostOnly(ds).reduce<FrostLevel>((m, d) => (d.to !== 'all_clear' && FROST_RANK[d.to] > FROST_RANK[m] ? d.to : m), 'none');
}

describe('anti-flap', () => {
  // FFST calibrated warm (Tp = T₂ + 3) and air steady at 5 °C: only the leaf sensor can move the ladder.
  const rules = rulesFor('arabica', { ffst: { a: 1, b: 0, c: 3 } });
  const STEADY: NightShape = { sunsetC: 5, minC: 5, dewC: 0 };
  const from = ict(DAY, '21:00');
  const leafNight = (leafAt: (k: number) => number): Reading[] =>
    minutes(from, from + 3 * HOUR).map((ts, k) => reading(STEADY, ts, { leafTempC: leafAt(k) }));

  it('a leaf sensor flickering around 0 °C gives one Severe, not one per crossing', () => {
    const flicker = run(live(leafNight((k) => (k % 2 === 0 ? -0.2 : 0.2) + (k > 90 ? 0.3 : 0))), rules);
    expect(sent(flicker.decisions)).toEqual(['severe']);
    expect(frostOnly(flicker.decisions)).toHaveLength(1);
    expect(frostOnly(flicker.decisions)[0]?.reason).toMatch(/^leaf sensor −?0\.\d °C ≤ 0\.0 °C$/);
  });

  it('a dip shorter than the hold (3 readings of the 5-minute median) does not move the ladder', () => {
    const dip = run(live(leafNight((k) => (k >= 30 && k < 32 ? -1 : 3))), rules);
    expect(frostOnly(dip.decisions)).toEqual([]);
  });

  it('jumps none → severe when the data say so (a station coming online in a frosty night)', () => {
    const cold = minutes(ict(NEXT, '02:00'), ict(NEXT, '02:10')).map((ts) => reading(FROST, ts));
    const jump = frostOnly(run(live(cold), rulesFor('arabica')).decisions);
    expect(jump.map((d) => `${d.from}→${d.to}`)).toEqual(['none→severe']);
    // A first reading is judged on its own (quality control found it plausible; a second would cost an hour at
    // hourly sampling): the station that comes online in a frosty night warns at once.
    expect(jump[0]?.atMs).toBe(ict(NEXT, '02:00'));
  });

  it('never notifies a de-escalation; a repeat of a level in the same night is recorded but not sent', () => {
    // Warning at night, then 2.5 h of wind (cooling stopped → all clear), then the cold comes back.
    const shape: NightShape = { sunsetC: 6, minC: 1.5, dewC: -2 };
    const windy = (ts: number): Partial<Reading> =>
      ts >= ict(DAY, '22:00') && ts < ict(NEXT, '00:30') ? { windMs: 4, airTempC: 5 + ((ts / MIN) % 3) * 0.1 } : {};
    // Warning at 2.5 °C, Severe out of reach: this test is about the once-a-night rule, not the thresholds.
    const rules = rulesFor('arabica', { warningMinC: 2.5, severeForecastMinC: -5, severeAirC: -5 });
    const r = run(live(minutes(ict(DAY, '19:30'), ict(NEXT, '03:00')).map((ts) => reading(shape, ts, windy(ts)))), rules);
    const frost = frostOnly(r.decisions);
    expect(frost.map((d) => `${d.to}:${d.notify}`)).toEqual(['warning:true', 'all_clear:true', 'warning:false']);
    expect(frost[1]?.reason).toMatch(/^cooling stopped \(wind 4\.0 m\/s\) for 1\d\d min/);
    expect(frost[2]?.reason).toMatch(/already sent this night, not sent\)$/);
  });

  it('notifies the same level again on the next night (6 h suppression is per level, not forever)', () => {
    const rules2 = rulesFor('arabica');
    const first = run(live(wholeNight(FROST)), rules2);
    const second = run(live(wholeNight(FROST).map((r) => ({ ...r, ts: r.ts + 24 * HOUR }))), rules2, first.state);
    expect(sent(second.decisions)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
  });
});

describe('crop shifts', () => {
  it('thresholds: robusta 1.5 °C and young trees 1 °C warmer than arabica; overrides are absolute', () => {
    const [a, r, y] = (['arabica', 'robusta', 'young'] as const).map((c) => rulesFor(c));
    expect([a?.severeForecastMinC, r?.severeForecastMinC, y?.severeForecastMinC]).toEqual([0, 1.5, 1]);
    expect([a?.warningMinC, r?.warningMinC, y?.warningMinC]).toEqual([0.5, 2, 1.5]);
    expect(rulesFor('robusta', { warningMinC: 2.2 }).warningMinC).toBe(2.2);
    expect(rulesFor('arabica', { qc: { maxAirC: 45 } }).qc).toMatchObject({ maxAirC: 45, minAirC: -15 });
  });

  it.each([
    ['arabica', 'warning'],
    ['young', 'severe'],
    ['robusta', 'severe'],
  ] as const)('a 0.3 °C night reaches %s → %s', (crop, expected) => {
    const shape: NightShape = { sunsetC: 9, minC: 0.3, dewC: 0 };
    const rules = rulesFor(crop, { forecastMarginSd: 10 }); // the forecast pushed out of reach: the air decides
    const r = run(live(wholeNight(shape).filter((x) => x.ts >= ict(DAY, '19:00'))), rules, initialState({ ...CTX, crop }));
    expect(peak(r.decisions)).toBe(expected);
  });
});

describe('quality control and officer alerts', () => {
  const rules = rulesFor('arabica');
  const base = minutes(ict(DAY, '20:00'), ict(DAY, '20:30')).map((ts) => reading(MILD, ts));
  const at = ict(DAY, '20:30');

  it.each([
    ['below the WMO range', { airTempC: -20 }, /^air −20\.0 °C outside −15…40 °C$/],
    ['above the WMO range', { airTempC: 45 }, /outside −15…40 °C/],
    ['a step > 4 °C/min', { airTempC: 16 }, /^air jumped \d+\.\d °C \(> 4 °C\/min\)$/],
    ['a dew point above the air', { rhPct: 105, airTempC: 9.5 }, /dew point above the air/],
  ])('%s raises one sensor_fault', (_name, change, reason) => {
    const r = run(live([...base, reading(MILD, at, change), reading(MILD, at + MIN, change)]), rules);
    const faults = officerOnly(r.decisions);
    expect(faults.map((d) => `${d.kind}:${d.state}`)).toEqual(['sensor_fault:raised']);
    expect(faults[0]?.reason).toMatch(reason);
    expect(faults[0]?.atMs).toBe(at);
  });

  it('a stuck sensor at night raises one fault, blocks the all-clear, and clears 30 min after its last stuck reading', () => {
    const stuckFrom = ict(NEXT, '05:00');
    const recover = ict(NEXT, '08:00');
    const readings = wholeNight(FROST).map((r) =>
      r.ts >= stuckFrom && r.ts < recover ? { ...r, airTempC: reading(FROST, stuckFrom).airTempC } : r,
    );
    const r = run(live(readings), rules);
    const officer = officerOnly(r.decisions);
    expect(officer.map((d) => `${d.kind}:${d.state}`)).toEqual(['sensor_fault:raised', 'sensor_fault:cleared']);
    expect(officer[0]?.reason).toMatch(/^air varied < 0\.1 °C in 60 min$/);
    // Flat for an hour: the stuck value itself plus the last minutes before it, which the slow pre-dawn fall kept within 0.1 °C.
    expect(officer[0]?.atMs).toBeGreaterThanOrEqual(stuckFrom + 45 * MIN);
    expect(officer[0]?.atMs).toBeLessThanOrEqual(stuckFrom + 60 * MIN);
    const clear = frostOnly(r.decisions).find((d) => d.to === 'all_clear');
    expect(clear?.atMs).toBeGreaterThanOrEqual(officer[1]?.atMs ?? Infinity); // no all-clear while the sensor was doubtful
    expect(officer[1]?.atMs).toBe(recover - MIN + 30 * MIN); // 30 min after the last stuck reading
  });

  it('offline is raised from ticks when nothing arrives, and cleared once data return', () => {
    const quiet = { from: ict(DAY, '22:00'), to: ict(DAY, '22:40') };
    const readings = minutes(ict(DAY, '20:00'), ict(DAY, '23:30'))
      .filter((ts) => ts < quiet.from || ts >= quiet.to)
      .map((ts) => reading(MILD, ts));
    const ticks = minutes(quiet.from, quiet.to).map((ts) => ({ event: { kind: 'tick' } satisfies EngineEvent, nowMs: ts + 30_000 }));
    const events = [...live(readings)].sort((x, y) => x.nowMs - y.nowMs);
    const all = [...events.filter((e) => e.nowMs < quiet.from), ...ticks, ...events.filter((e) => e.nowMs >= quiet.from)];
    const r = run(all, rules);
    const officer = officerOnly(r.decisions);
    expect(officer.map((d) => `${d.kind}:${d.state}:${d.notify}`)).toEqual(['station_offline:raised:true', 'station_offline:cleared:true']);
    expect(officer[0]?.atMs).toBeGreaterThanOrEqual(quiet.from + 5 * MIN);
    expect(officer[0]?.atMs).toBeLessThanOrEqual(quiet.from + 7 * MIN);
    expect(officer[1]?.atMs).toBeGreaterThan(quiet.to);
    expect(officer[1]?.atMs).toBeLessThan(quiet.to + 45 * MIN);
  });

  it('offline is also found in the readings’ own time line when no tick saw the gap', () => {
    const readings = minutes(ict(DAY, '20:00'), ict(DAY, '23:00')).filter((ts) => ts < ict(DAY, '21:00') || ts >= ict(DAY, '21:20'));
    const r = run(
      live(
        readings.map((ts) => reading(MILD, ts)),
        false,
      ),
      rules,
    );
    expect(officerOnly(r.decisions).map((d) => `${d.kind}:${d.state}`)).toEqual(['station_offline:raised', 'station_offline:cleared']);
  });

  it('low battery with hysteresis: raised once below 3.4 V, cleared once at ≥ 3.6 V', () => {
    const volts = [3.9, 3.35, 3.45, 3.3, 3.5, 3.65, 3.5];
    const r = run(live(volts.map((v, k) => reading(MILD, ict(DAY, '20:00') + k * MIN, { batteryV: v }))), rules);
    expect(officerOnly(r.decisions).map((d) => `${d.kind}:${d.state}:${d.reason}`)).toEqual([
      'low_battery:raised:battery 3.4 V < 3.4 V',
      'low_battery:cleared:battery 3.7 V ≥ 3.6 V',
    ]);
  });
});

describe('late and out-of-order readings', () => {
  // The forecast pushed out of reach, so the air decides: Warning at 2.5 °C before the outage, Severe (1 °C and
  // falling) during it, after midnight.
  const rules = rulesFor('arabica', { forecastMarginSd: 10, warningMinC: 2.5, severeAirC: 1 });
  const night = wholeNight(FROST);
  const gap = { from: ict(DAY, '22:30'), to: ict(NEXT, '01:00') };

  it('a backfill updates the state but does not notify; live data then confirm the level and it is sent', () => {
    const before = night.filter((r) => r.ts < gap.from);
    const backfill = night.filter((r) => r.ts >= gap.from && r.ts < gap.to);
    const after = night.filter((r) => r.ts >= gap.to && r.ts < gap.to + 10 * MIN);
    const first = run(live(before), rules);
    expect(first.state.level).toBe('warning');
    const batch = run(
      backfill.map((reading) => ({ event: { kind: 'reading', reading, receivedAtMs: gap.to }, nowMs: gap.to })),
      rules,
      first.state,
    );
    const late = frostOnly(batch.decisions);
    // Readings older than 10 min at evaluation are late: recorded, not sent. The batch's last 10 min are not late,
    // and they still show the level, so the farmer is told then — about now, not about a moment already past.
    expect(late.map((d) => `${d.from}→${d.to}:${d.notify}`)).toEqual(['warning→severe:false', 'warning→severe:true']);
    expect(late[0]?.atMs).toBeLessThan(gap.to - 10 * MIN);
    expect(late[1]?.atMs).toBeGreaterThanOrEqual(gap.to - 10 * MIN);
    expect(late[1]?.reason).toMatch(/\(confirmed by live data after a backfill\)$/);
    expect(batch.state.level).toBe('severe');
    expect(batch.state.newestTs).toBe(backfill.at(-1)?.ts);
    expect(frostOnly(run(live(after), rules, batch.state).decisions)).toEqual([]);
  });

  it('a backfill that is entirely late never notifies, and the next live reading sends the level once', () => {
    const before = night.filter((r) => r.ts < gap.from);
    const backfill = night.filter((r) => r.ts >= gap.from && r.ts < gap.to - 20 * MIN);
    const first = run(live(before), rules);
    const batch = run(
      backfill.map((reading) => ({ event: { kind: 'reading', reading, receivedAtMs: gap.to }, nowMs: gap.to })),
      rules,
      first.state,
    );
    expect(frostOnly(batch.decisions).every((d) => !d.notify)).toBe(true);
    expect(batch.state.level).toBe('severe');
    const confirm = frostOnly(run(live(night.filter((r) => r.ts >= gap.to && r.ts < gap.to + 10 * MIN)), rules, batch.state).decisions);
    expect(confirm.map((d) => `${d.from}→${d.to}:${d.notify}`)).toEqual(['warning→severe:true']);
  });

  it('out-of-order and duplicate readings keep the window sorted and the medians and trend intact', () => {
    const upTo = night.filter((r) => r.ts <= ict(DAY, '23:00'));
    const inOrder = run(live(upTo), rules);
    const hour = upTo.filter((r) => r.ts >= ict(DAY, '22:00') && r.ts < ict(DAY, '23:00'));
    const shuffled = [
      ...upTo.filter((r) => r.ts < ict(DAY, '22:00')),
      hour.at(-1) as Reading,
      ...hour.slice(0, -1).reverse(),
      ...hour.slice(10, 20),
      upTo.at(-1) as Reading,
    ];
    const messy = run(live(shuffled), rules);
    expect(messy.state.window).toEqual(inOrder.state.window);
    expect(messy.state.lastInputs).toEqual(inOrder.state.lastInputs);
    const dup = evaluate(messy.state, { kind: 'reading', reading: upTo.at(-1) as Reading, receivedAtMs: 0 }, rules, ict(DAY, '23:01'));
    expect(dup).toEqual({ state: messy.state, decisions: [] });
  });

  it('the whole night with outage, backfill, ticks and JSON round trips gives the same decisions', () => {
    const events = [
      ...live(night.filter((r) => r.ts < gap.from)),
      ...night
        .filter((r) => r.ts >= gap.from && r.ts < gap.to)
        .map((reading) => ({ event: { kind: 'reading', reading, receivedAtMs: gap.to } satisfies EngineEvent, nowMs: gap.to })),
      ...live(night.filter((r) => r.ts >= gap.to)),
    ];
    const plain = run(events, rules);
    expect(run(events, rules, initialState(CTX), true).decisions).toEqual(plain.decisions);
    expect(sent(plain.decisions)).toEqual(['watch', 'warning', 'severe', 'all_clear']);
  });
});
