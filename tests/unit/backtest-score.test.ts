import { describe, expect, it } from 'vitest';
import { dewPointC } from '../../frost/psychro.js';
import { renderChartSvg } from '../../backtest/chart-svg.js';
import { renderReport, type ReportMeta } from '../../backtest/report.js';
import {
  engineAlarmTimes,
  plainAlarmTimes,
  PLAIN_ALARMS,
  quantile,
  scoreAlarms,
  type AlarmScore,
  type AlarmTimes,
} from '../../backtest/score.js';
import { prepareReadings, toReading } from '../../backtest/replay.js';
import type { BacktestDecision, NightLabel, RecordedReading } from '../../backtest/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const SUNSET = Date.parse('2025-01-15T11:00:00Z'); // 18:00 in Lạc Dương (UTC+7)
const NIGHT_H = 12;

/** A reading with only air temperature, unless told otherwise. */
const reading = (station: string, ts: number, airC: number, extra: Partial<RecordedReading> = {}): RecordedReading => ({
  station,
  ts,
  airC,
  rhPct: null,
  dewC: null,
  windMs: null,
  leafC: null,
  ...extra,
});

interface Night {
  label: NightLabel;
  readings: RecordedReading[];
}

/**
 * A night `day` days after the first, readings every 10 minutes from `fromH` hours after sunset (default − 3 h) to
 * sunrise + 3 h, the air at `airAt(hours after sunset)`.
 */
function night(id: string, kind: NightLabel['kind'], airAt: (h: number) => number, day = 0, station = 'ld-01', fromH = -3): Night {
  const sunsetMs = SUNSET + day * DAY;
  const sunriseMs = sunsetMs + NIGHT_H * HOUR;
  const readings: RecordedReading[] = [];
  for (let t = sunsetMs + fromH * HOUR; t < sunriseMs + 3 * HOUR; t += 10 * MIN)
    readings.push(reading(station, t, airAt((t - sunsetMs) / HOUR)));
  const min = readings.reduce((a, b) => (b.airC < a.airC ? b : a));
  return { label: { nightId: id, station, kind, sunsetMs, sunriseMs, minAirC: min.airC, timeOfMinMs: min.ts }, readings };
}

/** 8 °C at sunset, cooling 1 °C/h: 1.5 °C at sunset + 6.5 h, floored at −1 °C. */
const coolingFrom8 = (h: number): number => Math.max(-1, 8 - Math.max(0, h));
/** Falls to 1.8 °C at sunset + 9 h and warms after: never ≤ 1.5 °C. */
const bottomAt9 = (minC: number) => (h: number) => minC + Math.abs(9 - h) * 0.5;

const FROST = night('frost-1', 'frost', coolingFrom8);
const TARGET = SUNSET + 6.5 * HOUR;

const at = (...times: number[]): AlarmTimes => ({ name: 'test alarm', timesByStation: new Map([['ld-01', times]]) });

function score(nights: readonly Night[], alarms: readonly AlarmTimes[]): AlarmScore[] {
  return scoreAlarms(
    nights.map((n) => n.label),
    prepareReadings(nights.flatMap((n) => n.readings)),
    alarms,
  );
}

describe('attributing an alarm to a frost night (target at sunset + 6.5 h)', () => {
  it.each([
    { name: 'exactly 2 h ahead is a hit', times: [TARGET - 2 * HOUR], first: TARGET - 2 * HOUR, leadH: 2, hit: true },
    { name: '1.9 h ahead is not', times: [TARGET - 1.9 * HOUR], first: TARGET - 1.9 * HOUR, leadH: 1.9, hit: false },
    { name: 'after the target: a negative lead', times: [TARGET + HOUR], first: TARGET + HOUR, leadH: -1, hit: false },
    {
      name: 'only the first alarm of the night counts',
      times: [TARGET - HOUR, TARGET - 5 * HOUR],
      first: TARGET - 5 * HOUR,
      leadH: 5,
      hit: true,
    },
    { name: 'sunset − 3 h belongs to the night', times: [SUNSET - 3 * HOUR], first: SUNSET - 3 * HOUR, leadH: 9.5, hit: true },
    { name: '4 h before sunset does not', times: [SUNSET - 4 * HOUR], first: null, leadH: null, hit: false },
    { name: 'sunrise + 3 h does not', times: [SUNSET + (NIGHT_H + 3) * HOUR], first: null, leadH: null, hit: false },
  ])('$name', ({ times, first, leadH, hit }) => {
    const [s] = score([FROST], [at(...times)]);
    const o = s?.outcomes[0];
    expect(o).toMatchObject({ targetMs: TARGET, targetBasis: 'air ≤ 1.5 °C', possible: true, firstAlarmMs: first, hit });
    if (leadH === null) expect(o?.leadH).toBeNull();
    else expect(o?.leadH).toBeCloseTo(leadH, 9);
    expect(s).toMatchObject({ frostNights: 1, hits: hit ? 1 : 0, pod: hit ? 1 : 0, warnedNights: first === null ? 0 : 1 });
  });

  it('an alarm at another station is not attributed', () => {
    const other: AlarmTimes = { name: 'other', timesByStation: new Map([['ld-02', [TARGET - 3 * HOUR]]]) };
    expect(score([FROST], [other])[0]?.outcomes[0]?.firstAlarmMs).toBeNull();
  });
});

describe('the target', () => {
  it('a night whose air never reaches 1.5 °C takes the time of its minimum', () => {
    const n = night('frost-2', 'frost', bottomAt9(1.8));
    const o = score([n], [at()])[0]?.outcomes[0];
    expect(o).toMatchObject({ targetMs: SUNSET + 9 * HOUR, targetBasis: 'minimum', minAirC: 1.8, possible: true });
  });

  it("a night without readings takes the label's time of minimum and cannot count as possible", () => {
    const { label } = night('frost-3', 'frost', coolingFrom8);
    const o = score([{ label, readings: [] }], [at(TARGET - 3 * HOUR)])[0]?.outcomes[0];
    expect(o).toMatchObject({ targetMs: label.timeOfMinMs, targetBasis: 'label minimum', possible: false, hit: true });
  });
});

describe('POD where 2 h was possible', () => {
  it('leaves out a night whose first reading is already within 2 h of the target', () => {
    const late = night('frost-late', 'frost', coolingFrom8, 1, 'ld-01', 5); // readings start 1.5 h before the target
    const [s] = score([FROST, late], [at(TARGET - 3 * HOUR, TARGET + DAY - HOUR)]);
    expect(s?.outcomes.map((o) => o.possible)).toEqual([true, false]);
    expect(s).toMatchObject({ frostNights: 2, hits: 1, pod: 0.5, possibleNights: 1, possibleHits: 1, podPossible: 1 });
  });

  it('counts a night whose first reading is exactly 2 h before the target', () => {
    const edge = night('frost-edge', 'frost', coolingFrom8, 0, 'ld-01', 4.5);
    expect(score([edge], [at()])[0]?.outcomes[0]?.possible).toBe(true);
  });
});

describe('false alarms', () => {
  const nearMiss = night('near-1', 'near_miss', bottomAt9(3), 1);
  const quiet = night('near-2', 'near_miss', bottomAt9(4), 2);

  it.each([
    { name: 'a warned near miss counts', times: [TARGET - 3 * HOUR, SUNSET + DAY + 2 * HOUR], warned: 2, falseAlarms: 1, far: 0.5 },
    { name: 'an unwarned near miss does not', times: [TARGET - 3 * HOUR], warned: 1, falseAlarms: 0, far: 0 },
    { name: 'no alarm at all: no ratio', times: [], warned: 0, falseAlarms: 0, far: null },
  ])('$name', ({ times, warned, falseAlarms, far }) => {
    const [s] = score([FROST, nearMiss, quiet], [at(...times)]);
    expect(s).toMatchObject({ warnedNights: warned, falseAlarms, far });
    expect(s?.outcomes.filter((o) => o.kind === 'near_miss').every((o) => !o.hit)).toBe(true);
  });
});

describe('lead times', () => {
  it.each([
    { values: [], p: 0.5, expected: null },
    { values: [4], p: 0.1, expected: 4 },
    { values: [1, 2, 3, 4], p: 0.5, expected: 2.5 },
    { values: [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8], p: 0.1, expected: -0.1 },
  ])('quantile($values, $p) = $expected', ({ values, p, expected }) => {
    const q = quantile(values, p);
    if (expected === null) expect(q).toBeNull();
    else expect(q).toBeCloseTo(expected, 9);
  });

  it('median and p10 over the warned frost nights, on a known set of leads', () => {
    const leadsH = [3, -1, 2, 5, 0.5]; // sorted −1, 0.5, 2, 3, 5: median 2, p10 −1 + 0.4·1.5 = −0.4
    const nights = leadsH.map((_, day) => night(`f${day}`, 'frost', coolingFrom8, day));
    const unwarned = night('f-quiet', 'frost', coolingFrom8, 9);
    const [s] = score([...nights, unwarned], [at(...leadsH.map((lead, day) => TARGET + day * DAY - lead * HOUR))]);
    expect(s).toMatchObject({ frostNights: 6, leadNights: 5, hits: 3 });
    expect(s?.medianLeadH).toBeCloseTo(2, 9);
    expect(s?.p10LeadH).toBeCloseTo(-0.4, 9);
  });
});

describe('plain alarms', () => {
  const first = (name: string, readings: readonly RecordedReading[]): readonly number[] | undefined =>
    plainAlarmTimes(prepareReadings(readings))
      .find((a) => a.name === name)
      ?.timesByStation.get('ld-01');

  it.each([
    { name: 'air ≤ 2 °C', firstAt: SUNSET + 6 * HOUR },
    { name: 'air ≤ 4 °C', firstAt: SUNSET + 4 * HOUR },
  ])('$name fires first on the reading that reaches it', ({ name, firstAt }) => {
    expect(first(name, FROST.readings)?.[0]).toBe(firstAt);
    const [s] = score(
      [FROST],
      plainAlarmTimes(prepareReadings(FROST.readings)).filter((a) => a.name === name),
    );
    expect(s?.outcomes[0]?.firstAlarmMs).toBe(firstAt);
  });

  const DEW = 'air ≤ 3 °C & dew point ≤ 0 °C';
  it.each([
    { name: 'dew point from rh when dewC is null', r: { airC: 2.5, rhPct: 80 }, fires: dewPointC(2.5, 80) <= 0 },
    { name: 'humid air: dew point above 0 °C', r: { airC: 2.5, rhPct: 90 }, fires: false },
    { name: 'a measured dew point wins over rh', r: { airC: 2.5, rhPct: 99, dewC: -1 }, fires: true },
    { name: 'neither dew point nor rh', r: { airC: 2.5 }, fires: false },
    { name: 'air above 3 °C', r: { airC: 3.5, dewC: -5 }, fires: false },
  ])('$name', ({ r, fires }) => {
    const times = first(DEW, [reading('ld-01', SUNSET, r.airC, r)]);
    expect(times).toEqual(fires ? [SUNSET] : []);
  });

  it('rh 80 % at 2.5 °C does give a dew point below 0 °C (the case above is not vacuous)', () => {
    expect(dewPointC(2.5, 80)).toBeLessThan(0);
    expect(PLAIN_ALARMS.map((a) => a.name)).toContain(DEW);
  });
});

describe('the engine alarm', () => {
  const decision = (atMs: number, kind: BacktestDecision['kind'], to: string, station = 'ld-01'): BacktestDecision => ({
    station,
    at: new Date(atMs).toISOString(),
    atMs,
    kind,
    to,
    notify: true,
    reason: 'test',
  });

  it('is a frost decision to Warning or Severe, by station, ascending', () => {
    const a = engineAlarmTimes('engine', [
      decision(SUNSET + 5 * HOUR, 'frost', 'severe'),
      decision(SUNSET + 1 * HOUR, 'frost', 'watch'),
      decision(SUNSET + 2 * HOUR, 'frost', 'warning'),
      decision(SUNSET + 3 * HOUR, 'station_offline', 'raised'),
      decision(SUNSET + 4 * HOUR, 'frost', 'all_clear'),
      decision(SUNSET + 6 * HOUR, 'frost', 'warning', 'ld-02'),
    ]);
    expect(a.name).toBe('engine');
    expect(Object.fromEntries(a.timesByStation)).toEqual({ 'ld-01': [SUNSET + 2 * HOUR, SUNSET + 5 * HOUR], 'ld-02': [SUNSET + 6 * HOUR] });
  });
});

it('scores a season of 10-minute data for 100 stations (100,000 readings), night by night', () => {
  const nights = Array.from({ length: 100 }, (_, s) =>
    Array.from({ length: 10 }, (_, d) =>
      night(`s${s}-d${d}`, d % 2 ? 'near_miss' : 'frost', d % 2 ? bottomAt9(3) : coolingFrom8, d * 2, `st-${s}`),
    ),
  ).flat();
  const readings = prepareReadings(nights.flatMap((n) => n.readings));
  expect([...readings.values()].reduce((sum, list) => sum + list.length, 0)).toBeGreaterThanOrEqual(100_000);
  const scores = scoreAlarms(
    nights.map((n) => n.label),
    readings,
    plainAlarmTimes(readings),
  );
  // air ≤ 4 °C: 2.5 h ahead on every frost night, and on every near miss (3 °C at sunset + 9 h) too.
  expect(scores[1]).toMatchObject({ name: 'air ≤ 4 °C', frostNights: 500, hits: 500, warnedNights: 1_000, falseAlarms: 500 });
});

describe('the report and the chart', () => {
  const nights = [FROST, night('near-1', 'near_miss', bottomAt9(3), 1), night('frost-missed', 'frost', coolingFrom8, 2)];
  const scores = score(nights, [
    { name: 'engine', timesByStation: new Map([['ld-01', [TARGET - 3 * HOUR, SUNSET + DAY + HOUR]]]) },
    { name: 'air ≤ 3 °C & dew', timesByStation: new Map([['ld-01', [TARGET - HOUR]]]) },
    { name: 'silent', timesByStation: new Map() },
  ]);
  const meta: ReportMeta = {
    files: ['readings.csv', 'nights.csv'],
    stations: 1,
    readings: 999,
    nights: 3,
    cadenceNote: '10-minute readings.',
    svgName: 'backtest.svg',
  };

  it('the markdown has one row per alarm, with n/N counts', () => {
    const md = renderReport(scores, meta);
    const header = md.split('\n').findIndex((l) => l.startsWith('| alarm |'));
    const rows = md.split('\n').slice(header + 2);
    expect(rows.slice(0, 3).map((l) => l.split(' | ')[0])).toEqual(['| engine', '| air ≤ 3 °C & dew', '| silent']);
    expect(rows[3]).toBe('');
    expect(rows[0]).toContain('| 0.50 (1/2) | 0.50 (1/2) | 0.50 (1/2) | 3.0 | 3.0 | 2 (1 frost) |');
    expect(rows[2]).toBe('| silent | 0.00 (0/2) | 0.00 (0/2) | – (0/0) | – | – | 0 (0 frost) |');
    expect(md).toContain('![lead time against false alarms](backtest.svg)');
    expect(md).toMatch(/missed frost nights[\s\S]*\| frost-missed \| ld-01 \| 2025-01-17 17:30 \(air ≤ 1\.5 °C\) \| yes \| none \| – \|/);
    expect(md).toMatch(/false alarms[\s\S]*\| near-1 \| ld-01 \| 2025-01-16 12:00 \| 3\.0 \| 2025-01-16 20:00 \|/);
    expect(md).not.toMatch(/<[a-z]/i);
  });

  it('the SVG is well formed, escapes text, and draws alarms that never fired', () => {
    const svg = renderChartSvg(scores);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('air ≤ 3 °C &amp; dew');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/);
    expect(svg).toContain('silent: no alarms');
    const open: string[] = [];
    for (const [, close, tag, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      if (selfClosing) continue;
      if (close) expect(open.pop()).toBe(tag);
      else open.push(tag as string);
    }
    expect(open).toEqual([]);
  });

  it('renders with no scores and with only silent alarms', () => {
    const silent = score([FROST], [{ name: 'silent', timesByStation: new Map() }]);
    expect(renderChartSvg([])).toContain('</svg>');
    expect(renderChartSvg(silent)).toContain('not plotted: silent (no alarms)');
    expect(renderReport([], meta)).toContain('# Frost backtest');
  });
});

describe('why a frost night was missed', () => {
  const causeOf = (n: Night, times: number[]): string | null => score([n], [at(...times)])[0]?.outcomes[0]?.missCause ?? null;
  it.each([
    { name: 'a hit has no cause', n: FROST, times: [TARGET - 3 * HOUR], cause: null },
    { name: 'no alarm on a night that cooled steadily: the forecast was too warm', n: FROST, times: [], cause: 'forecast too warm' },
    { name: 'an alarm 1 h ahead: warned late', n: FROST, times: [TARGET - HOUR], cause: 'warned late' },
    {
      name: 'first reading 1 h before the target: cold at the first reading',
      n: night('late-start', 'frost', coolingFrom8, 0, 'ld-01', 5.5),
      times: [],
      cause: 'cold at the first reading',
    },
    {
      name: '5 °C lost in the hour before the target: a sudden fall',
      n: night('front', 'frost', (h) => (h < 6 ? 8 : h < 7 ? 8 - 5 * (h - 6) : -1)),
      times: [],
      cause: 'sudden fall',
    },
    {
      name: 'the cold arrives after sunrise',
      n: night('morning', 'frost', (h) => (h < NIGHT_H + 0.5 ? 6 : 0)),
      times: [],
      cause: 'cold came after sunrise',
    },
    {
      name: 'a ground-only frost: 2 m stayed above 0.5 °C',
      n: night('ground', 'frost', (h) => Math.max(1.2, 8 - Math.max(0, h))),
      times: [],
      cause: '2 m stayed above 0.5 °C',
    },
  ])('$name', ({ n, times, cause }) => {
    expect(causeOf(n, times)).toBe(cause);
  });

  it('near misses have no cause, and the report counts the causes for every alarm', () => {
    const near = night('near', 'near_miss', bottomAt9(3), 1);
    expect(score([near], [at()])[0]?.outcomes[0]?.missCause).toBeNull();
    const md = renderReport(score([FROST, near], [at(), at(TARGET - HOUR)]), {
      files: ['x.csv'],
      stations: 1,
      readings: 1,
      nights: 2,
      cadenceNote: '10 min',
      svgName: 'x.svg',
    });
    expect(md).toMatch(/\| forecast too warm \| 1 \| 0 \|/);
    expect(md).toMatch(/\| warned late \| 0 \| 1 \|/);
  });
});

describe('a recorded reading as a station would publish it', () => {
  it.each([
    { name: 'a measured dew point without humidity becomes the humidity it implies', rec: { rhPct: null, dewC: -4 }, dew: -4 },
    { name: 'humidity, when given, is used as it is', rec: { rhPct: 50, dewC: null }, dew: dewPointC(6, 50) },
    { name: 'neither: no humidity', rec: { rhPct: null, dewC: null }, dew: null },
  ])('$name', ({ rec, dew }) => {
    const r = toReading(reading('ld-01', SUNSET, 6, rec));
    if (dew === null) expect(r.rhPct).toBeUndefined();
    else expect(dewPointC(r.airTempC, r.rhPct as number)).toBeCloseTo(dew, 6);
  });
});
