import { describe, expect, it } from 'vitest';
import { rulesFor, type StationContext } from '../../frost/index.js';
import { prepareReadings, replayStation } from '../../backtest/replay.js';
import type { RecordedReading } from '../../backtest/types.js';
import { FROST_RANK, nightOf, type Decision, type FrostDecision, type NightBounds, type OfficerDecision } from '../../contracts/index.js';
import { loadFrostNights, MUNICH } from '../helpers/frost-nights.js';

/**
 * The engine at any reading cadence: the same weather read every 1, 5, 10, 30 or 60 minutes must give the same
 * warnings, up to the sampling. Every run goes through `replayStation`, which ticks every whole minute between
 * readings as the server does, with the rules the server gives an arabica station.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const CADENCES = [1, 5, 10, 30, 60] as const;
const RULES = rulesFor('arabica');
const CTX: StationContext = {
  stationId: 'ld-cadence',
  lat: 12.0,
  lon: 108.44,
  elevationM: 1_500,
  crop: 'arabica',
  timeZone: 'Asia/Ho_Chi_Minh',
};
/** Local time in Lạc Dương (UTC+7, no daylight saving) → epoch ms. */
const ict = (date: string, hhmm: string): number => Date.parse(`${date}T${hhmm}:00+07:00`);
const DAY1 = '2025-01-15';
const DAY2 = '2025-01-16';
const DAY3 = '2025-01-17';
const NIGHT1 = nightOf(CTX.lat, CTX.lon, ict(DAY1, '20:00'));
const NIGHT2 = nightOf(CTX.lat, CTX.lon, ict(DAY2, '20:00'));

function rec(ts: number, airC: number, dewC: number): RecordedReading {
  const air = Math.round(airC * 100) / 100;
  return { station: CTX.stationId, ts, airC: air, rhPct: null, dewC: Math.min(dewC, air), windMs: 0.5, leafC: null };
}

/** One reading every `cadenceMin` on the clock (as a station's timer fires) in [fromMs, toMs). */
function sample(fromMs: number, toMs: number, cadenceMin: number, at: (ts: number) => RecordedReading | null): RecordedReading[] {
  const out: RecordedReading[] = [];
  for (let ts = Math.ceil(fromMs / (cadenceMin * MIN)) * cadenceMin * MIN; ts < toMs; ts += cadenceMin * MIN) {
    const r = at(ts);
    if (r) out.push(r);
  }
  return out;
}

interface Shape {
  sunsetC: number;
  minC: number;
  afternoonCPerH: number;
  dewC: (airC: number) => number;
}

/**
 * A clear, calm night (FFST curve, Snyder & de Melo-Abreu 2005 ch. 5): steady afternoon cooling to sunset,
 * T = T_s − b·√h from sunset to the minimum at sunrise, +3 °C/h after.
 */
function airAt(s: Shape, n: NightBounds, ts: number): number {
  const nightH = (n.sunriseMs - n.sunsetMs) / HOUR;
  if (ts < n.sunsetMs) return s.sunsetC + (s.afternoonCPerH * (n.sunsetMs - ts)) / HOUR;
  if (ts < n.sunriseMs) return s.sunsetC - (s.sunsetC - s.minC) * Math.sqrt((ts - n.sunsetMs) / HOUR / nightH);
  return s.minC + (3 * (ts - n.sunriseMs)) / HOUR;
}

/** When the curve first reaches `c` (solving T_s − b·√h = c). */
function reachesMs(s: Shape, n: NightBounds, c: number): number {
  return n.sunsetMs + (n.sunriseMs - n.sunsetMs) * ((s.sunsetC - c) / (s.sunsetC - s.minC)) ** 2;
}

/** Dry highland air after a cold outbreak: the dew point stays at −4 °C, RH rising from ~32 % at sunset to ~80 % by dawn. */
const FROST: Shape = { sunsetC: 12, minC: -1, afternoonCPerH: 1.5, dewC: () => -4 };
/** Moist and mild: the dew point 1 °C under the air once it has cooled to 11 °C. */
const MILD: Shape = { sunsetC: 14, minC: 6, afternoonCPerH: 1.5, dewC: (air) => Math.min(10, air - 1) };

const nightReadings = (s: Shape, cadenceMin: number): RecordedReading[] =>
  sample(ict(DAY1, '15:00'), ict(DAY2, '09:00'), cadenceMin, (ts) => rec(ts, airAt(s, NIGHT1, ts), s.dewC(airAt(s, NIGHT1, ts))));
const replayed = (readings: readonly RecordedReading[]): Decision[] => replayStation(CTX, RULES, readings).decisions;
const frostOf = (ds: readonly Decision[]): FrostDecision[] => ds.filter((d): d is FrostDecision => d.kind === 'frost');
const rank = (to: FrostDecision['to']): number => (to === 'all_clear' ? 0 : FROST_RANK[to]);
/** The moves from below Warning to Warning or Severe: one a night, whether it goes through Warning or jumps to Severe. */
const toWarning = (ds: readonly Decision[]): FrostDecision[] =>
  frostOf(ds).filter((d) => rank(d.to) >= FROST_RANK.warning && FROST_RANK[d.from] < FROST_RANK.warning);

describe('a radiative frost night at Lạc Dương (12 °C at sunset, −1 °C at sunrise)', () => {
  const runs = CADENCES.map((cadenceMin) => ({ cadenceMin, decisions: replayed(nightReadings(FROST, cadenceMin)) }));
  const airAt15 = reachesMs(FROST, NIGHT1, 1.5);

  it.each(runs)('every $cadenceMin min: one move to Warning or above, sent, ≥ 2 h before the air reaches 1.5 °C', ({ decisions }) => {
    const up = toWarning(decisions);
    expect(up).toHaveLength(1);
    const [first] = up as [FrostDecision];
    expect(first.atMs).toBeGreaterThanOrEqual(NIGHT1.sunsetMs); // before sunset the forecast may raise a Watch only
    expect(first.atMs).toBeLessThanOrEqual(airAt15 - 2 * HOUR);
    expect(first.notify).toBe(true);
  });

  it.each(runs)('every $cadenceMin min: the ladder only climbs, from Watch to Severe, then clears after sunrise', ({ decisions }) => {
    const frost = frostOf(decisions);
    const climb = frost.filter((d) => d.to !== 'all_clear');
    expect(climb[0]?.to).toBe('watch');
    expect(climb.at(-1)?.to).toBe('severe');
    climb.forEach((d, i) => {
      expect(rank(d.to)).toBeGreaterThan(FROST_RANK[d.from]);
      if (i > 0) expect(d.from).toBe(climb[i - 1]?.to);
    });
    expect(frost.at(-1)).toMatchObject({ to: 'all_clear', notify: true });
    expect(frost.at(-1)?.atMs).toBeGreaterThan(NIGHT1.sunriseMs);
  });

  it('the first Warning (or Severe) comes at the same time at every cadence, up to the coarser reading interval', () => {
    const firsts = runs.map((r) => ({ cadenceMin: r.cadenceMin, atMs: toWarning(r.decisions)[0]?.atMs ?? Number.NaN }));
    for (const a of firsts) {
      for (const b of firsts)
        expect(Math.abs(a.atMs - b.atMs), `${a.cadenceMin} vs ${b.cadenceMin} min`).toBeLessThanOrEqual(
          Math.max(a.cadenceMin, b.cadenceMin) * MIN,
        );
    }
  });
});

describe('a mild, moist night (minimum 6 °C)', () => {
  it.each(CADENCES)('every %i min: no Warning, no Severe', (cadenceMin) => {
    expect(frostOf(replayed(nightReadings(MILD, cadenceMin))).filter((d) => d.to === 'warning' || d.to === 'severe')).toEqual([]);
  });
});

describe('holds are time, not readings', () => {
  // A moist late night cooling from 4.5 °C (the forecast stays near 3 °C, far from Warning) and, from 03:00, a pattern
  // of readings at 0.3 °C (C) and back on the curve (W): within QC's 4 °C/min step even at 1-min sampling. Decisions
  // rest on 5-minute medians: at 1 min the median is cold where 3 of the last 5 readings are, and a level needs 3 min
  // of cold medians, the first standing for the minute before it. At 5 min and slower one reading is the median and
  // stands for its whole interval (≥ 3 min): it is acted on at once.
  const DIP = ict(DAY2, '03:00');
  const air = (ts: number): number => 4.5 - (0.25 * (ts - ict(DAY2, '00:00'))) / HOUR;
  it.each([
    { cadenceMin: 1, pattern: 'C', warnsAtMin: null, why: 'a spike: the median never turns' },
    { cadenceMin: 1, pattern: 'CCWC', warnsAtMin: null, why: 'the median is cold for 2 min only' },
    { cadenceMin: 1, pattern: 'CCC', warnsAtMin: 4, why: 'cold medians at +2…+4 min: 3 min of support' },
    { cadenceMin: 5, pattern: 'C', warnsAtMin: 0, why: 'at once' },
    { cadenceMin: 10, pattern: 'C', warnsAtMin: 0, why: 'at once' },
    { cadenceMin: 30, pattern: 'C', warnsAtMin: 0, why: 'at once' },
    { cadenceMin: 60, pattern: 'C', warnsAtMin: 0, why: 'at once' },
  ])('every $cadenceMin min, $pattern from 03:00: $why', ({ cadenceMin, pattern, warnsAtMin }) => {
    const isCold = (ts: number): boolean => pattern[(ts - DIP) / (cadenceMin * MIN)] === 'C';
    const readings = sample(ict(DAY2, '00:00'), ict(DAY2, '05:30'), cadenceMin, (ts) =>
      isCold(ts) ? rec(ts, 0.3, -0.2) : rec(ts, air(ts), air(ts) - 0.5),
    );
    const up = toWarning(replayed(readings));
    expect(up.map((d) => (d.atMs - DIP) / MIN)).toEqual(warnsAtMin === null ? [] : [warnsAtMin]);
  });
});

describe('offline detection scales with the learnt sampling interval', () => {
  // 12 h of readings, a silence from noon, 12 h more. Offline is two intervals missing (at least 5 min): one lost
  // reading over flaky 3G is no outage at any cadence; three lost are, and a minute tick sees it during the silence.
  const NOON = ict(DAY1, '12:00');
  it.each([
    { cadenceMin: 1, silenceMin: 2, offline: false },
    { cadenceMin: 1, silenceMin: 10, offline: true },
    { cadenceMin: 5, silenceMin: 10, offline: false },
    { cadenceMin: 5, silenceMin: 20, offline: true },
    { cadenceMin: 10, silenceMin: 20, offline: false },
    { cadenceMin: 10, silenceMin: 40, offline: true },
    { cadenceMin: 30, silenceMin: 60, offline: false },
    { cadenceMin: 30, silenceMin: 120, offline: true },
    { cadenceMin: 60, silenceMin: 120, offline: false },
    { cadenceMin: 60, silenceMin: 240, offline: true },
  ])('every $cadenceMin min, silent for $silenceMin min: offline $offline', ({ cadenceMin, silenceMin, offline }) => {
    const back = NOON + silenceMin * MIN;
    const air = (ts: number): number => 20 + 5 * Math.sin((2 * Math.PI * ts) / (24 * HOUR));
    const readings = sample(NOON - 12 * HOUR, back + 12 * HOUR, cadenceMin, (ts) => (ts > NOON && ts < back ? null : rec(ts, air(ts), 12)));
    const alerts = replayed(readings).filter((d): d is OfficerDecision => d.kind === 'station_offline');
    if (!offline) {
      expect(alerts).toEqual([]);
      return;
    }
    expect(alerts.map((d) => d.state)).toEqual(['raised', 'cleared']);
    expect(alerts[0]?.atMs).toBeGreaterThan(NOON);
    expect(alerts[0]?.atMs).toBeLessThan(back); // seen by a tick while silent, not only when the station came back
    expect(alerts[0]?.notify).toBe(true);
  });
});

describe('the first reading after sunset, at hourly sampling', () => {
  // A clearly frosty evening: 5 °C and a dew point of −8 °C half an hour after sunset.
  const T = NIGHT1.sunsetMs + 30 * MIN;
  it.each([
    { history: 'nothing before it', readings: [rec(T, 5, -8)] },
    { history: 'hourly readings from 15:00', readings: [3, 2, 1, 0].map((k) => rec(T - k * HOUR, 5 + 1.5 * k, -8)) },
  ])('after $history: Warning or above at once, sent', ({ readings }) => {
    const up = toWarning(replayed(readings));
    expect(up.map((d) => ({ atMs: d.atMs, notify: d.notify }))).toEqual([{ atMs: T, notify: true }]);
  });
});

describe('a new night starts with a fresh level', () => {
  // Two frost nights and a cold day between (never above 3.5 °C, under the 4 °C all-clear): night 1 is never
  // cleared, so night 2's risk window (15:00) must close it, unsent, and climb its own ladder.
  const NIGHT2_SHAPE: Shape = { sunsetC: 3, minC: -3, afternoonCPerH: 0.2, dewC: () => -4 };
  const DAY2_RISK = ict(DAY2, '15:00');
  const twoNights = (ts: number): number => {
    if (ts < NIGHT1.sunriseMs) return airAt(FROST, NIGHT1, ts);
    if (ts < DAY2_RISK) return Math.min(3.5, airAt(FROST, NIGHT1, ts));
    return airAt(NIGHT2_SHAPE, NIGHT2, ts);
  };

  it.each(CADENCES)('every %i min', (cadenceMin) => {
    const readings = sample(ict(DAY1, '15:00'), ict(DAY3, '10:00'), cadenceMin, (ts) => rec(ts, twoNights(ts), -4));
    expect(Math.max(...readings.filter((r) => r.ts >= NIGHT1.sunriseMs && r.ts < NIGHT2.sunsetMs).map((r) => r.airC))).toBeLessThanOrEqual(
      4,
    );
    const frost = frostOf(replayed(readings));
    const firstOfDay2 = readings.find((r) => r.ts >= DAY2_RISK)?.ts;
    const closing = frost.filter((d) => d.to === 'all_clear' && d.atMs < NIGHT2.sunriseMs);
    expect(closing.map((d) => ({ from: d.from, atMs: d.atMs, notify: d.notify }))).toEqual([
      { from: 'severe', atMs: firstOfDay2, notify: false },
    ]);
    const up = toWarning(frost);
    expect(up.map((d) => d.notify)).toEqual([true, true]);
    expect(up[0]?.atMs).toBeLessThan(NIGHT1.sunriseMs);
    expect(up[1]?.atMs).toBeGreaterThanOrEqual(NIGHT2.sunsetMs);
    expect(up[1]?.atMs).toBeLessThan(NIGHT2.sunriseMs);
  });
});

describe('real München nights thinned to 10, 30 and 60 minutes', () => {
  // DWD 03379 (tests/fixtures/frost-nights): only the frost nights on which a 2-hour lead was possible — the air first
  // reaches ≤ 1.5 °C at least 2 h after the night's first reading (in the full 10-min record). The default minimum
  // model was fitted on nights that include this station's, so this is a test of cadence, not of skill.
  const ctx: StationContext = { stationId: 'dwd-03379', ...MUNICH, crop: 'arabica', timeZone: 'Europe/Berlin' };
  const nights = loadFrostNights()
    .filter((n) => n.kind === 'frost')
    .map((n) => ({ n, reachesMs: n.readings.find((r) => r.airTempC <= 1.5)?.ts ?? Number.NaN }))
    .filter(({ n, reachesMs }) => reachesMs - (n.readings[0]?.ts ?? Number.NaN) >= 2 * HOUR);
  const records = (n: (typeof nights)[number]['n']): RecordedReading[] =>
    n.readings.map((r) => ({
      station: ctx.stationId,
      ts: r.ts,
      airC: r.airTempC,
      rhPct: r.rhPct ?? null,
      dewC: null,
      windMs: null,
      leafC: null,
    }));
  const share = (cadenceMin: number): number => {
    const warned = nights.filter(({ n, reachesMs }) => {
      const thinned = prepareReadings(records(n), cadenceMin).get(ctx.stationId) ?? [];
      const first = toWarning(replayStation(ctx, RULES, thinned).decisions)[0];
      return first !== undefined && first.atMs <= reachesMs - 2 * HOUR;
    });
    return warned.length / nights.length;
  };

  it('the share warned ≥ 2 h ahead is the same at every cadence, and high', () => {
    const shares = [10, 30, 60].map(share);
    // Measured: 25 of 29 such nights (0.862) at 10, 30 and 60 min alike (of 67 frost nights, 38 reach 1.5 °C
    // within 2 h of sunset); the four missed are warned later, or never.
    expect(nights).toHaveLength(29);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(0.15);
    for (const s of shares) expect(s).toBeGreaterThanOrEqual(0.8);
  });
});
