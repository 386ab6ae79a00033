import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Clock, StationOverview } from '../../contracts/index.js';
import { csvCell } from '../../server/dashboard/csv.js';
import { type DashboardEvent, DashboardEvents } from '../../server/dashboard/events.js';
import { byRisk, riskOf } from '../../server/dashboard/overview.js';

describe('csvCell', () => {
  it.each([
    ['Lát 1', 'Lát 1'],
    ['=1+2', "'=1+2"],
    ['+cmd', "'+cmd"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=a,"b"', `"'=a,""b"""`],
  ])('%j → %j', (input, output) => expect(csvCell(input)).toBe(output));

  it('writes numbers as numbers (a negative temperature is not a formula) and null as empty', () => {
    expect(csvCell(-2.5)).toBe('-2.5');
    expect(csvCell(null)).toBe('');
  });
});

describe('riskOf', () => {
  const row = (level: StationOverview['level'], forecastMinC: number | null, faults: StationOverview['faults'] = []) => ({
    level,
    forecastMinC,
    faults,
  });
  it.each([
    [row('severe', 5), row('warning', -6, ['station_offline', 'sensor_fault', 'low_battery'])],
    [row('warning', 10), row('watch', -10, ['station_offline'])],
    [row('watch', 8), row('none', -20, ['station_offline', 'sensor_fault'])],
    [row('none', 1), row('none', 3, ['station_offline'])],
    [row('none', null, ['station_offline']), row('none', null)],
  ])('%j ranks above %j', (higher, lower) => expect(riskOf(higher)).toBeGreaterThan(riskOf(lower)));

  it('stays within 0…100', () => {
    expect(riskOf(row('none', 30))).toBe(0);
    expect(riskOf(row('severe', -30, ['station_offline', 'sensor_fault', 'low_battery']))).toBe(100);
  });

  it('breaks ties by the colder forecast, then by id', () => {
    const base = {
      name: '',
      commune: '',
      districtId: 'lac-duong',
      lat: 0,
      lon: 0,
      elevationM: 0,
      level: 'none' as const,
      airTempC: null,
      dewPointC: null,
      forecastMinAtMs: null,
      batteryV: null,
      lastSeenAt: null,
      online: null,
      faults: [],
      risk: 0,
    };
    const rows: StationOverview[] = [
      { ...base, id: 'b', forecastMinC: null },
      { ...base, id: 'c', forecastMinC: 9 },
      { ...base, id: 'a', forecastMinC: null },
    ];
    expect(rows.sort(byRisk).map((r) => r.id)).toEqual(['c', 'a', 'b']);
  });
});

describe('DashboardEvents', () => {
  function hub(throttleMs: number, clock?: Clock) {
    let station: ((id: string) => void) | null = null;
    let alert: ((id: number) => void) | null = null;
    const events = new DashboardEvents({
      onStationChanged: (l) => ((station = l), () => (station = null)),
      onAlertChanged: (l) => ((alert = l), () => (alert = null)),
      overviewOf: (id) => ({ id }) as StationOverview,
      alert: (id) => ({ id }) as never,
      logger: pino({ level: 'silent' }),
      throttleMs,
      ...(clock ? { clock } : {}),
    });
    return {
      events,
      station: (id: string) => station?.(id),
      alert: (id: number) => alert?.(id),
      attached: () => station !== null && alert !== null,
    };
  }
  const nextMacrotask = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('coalesces a burst of evaluations of one station into one event, per station', async () => {
    const h = hub(0);
    const seen: DashboardEvent[] = [];
    h.events.subscribe((e) => seen.push(e));
    for (let i = 0; i < 5; i += 1) {
      h.station('ld-a');
      h.station('ld-b');
    }
    await nextMacrotask();
    expect(seen.map((e) => [e.event, e.data.id])).toEqual([
      ['station', 'ld-a'],
      ['station', 'ld-b'],
    ]);
    h.events.close();
  });

  it('holds a second station event inside the throttle window but never an alert event; close drops what is pending', async () => {
    const h = hub(60_000);
    const seen: DashboardEvent[] = [];
    h.events.subscribe((e) => seen.push(e));
    h.station('ld-a');
    await nextMacrotask();
    h.station('ld-a');
    h.alert(7);
    h.alert(7);
    await nextMacrotask();
    expect(seen.map((e) => [e.event, e.data.id])).toEqual([
      ['station', 'ld-a'],
      ['alert', 7],
      ['alert', 7],
    ]);
    h.events.close();
    h.events.close();
    expect(h.attached()).toBe(false);
  });

  /** ld-a goes out, and again `firstStepMs` later on the clock; ld-b goes out, and again `secondStepMs` later. */
  async function twoStations(h: ReturnType<typeof hub>, advance: (ms: number) => void, firstStepMs: number, secondStepMs: number) {
    const seen: string[] = [];
    h.events.subscribe((e) => seen.push(`${e.event} ${e.data.id}`));
    for (const [id, stepMs] of [
      ['ld-a', firstStepMs],
      ['ld-b', secondStepMs],
    ] as const) {
      h.station(id);
      await nextMacrotask();
      advance(stepMs);
      h.station(id);
      await nextMacrotask();
    }
    h.events.close();
    return seen;
  }

  it('measures the throttle window on the injected clock: once it moved past the window, the next event goes out at once', async () => {
    let nowMs = Date.UTC(2026, 0, 15, 20, 0);
    const h = hub(60_000, { now: () => nowMs, speed: 1 });
    // ld-a: 59 s on the clock, still inside the window; ld-b: a minute on the clock (milliseconds on the wall), past it.
    expect(await twoStations(h, (ms) => (nowMs += ms), 59_000, 60_000)).toEqual(['station ld-a', 'station ld-b', 'station ld-b']);
  });

  it('keeps the window in real time when the clock runs faster (frostwatch up --speed)', async () => {
    let nowMs = Date.UTC(2026, 0, 15, 20, 0);
    const h = hub(1_000, { now: () => nowMs, speed: 600 });
    // At 600×, five clock minutes are half a real second (inside a 1 s window), ten are one real second (past it).
    expect(await twoStations(h, (ms) => (nowMs += ms), 300_000, 600_000)).toEqual(['station ld-a', 'station ld-b', 'station ld-b']);
  });
});
