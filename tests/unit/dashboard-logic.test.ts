import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { StationOverview } from '../../contracts/index.js';
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
  function hub(throttleMs: number) {
    let station: ((id: string) => void) | null = null;
    let alert: ((id: number) => void) | null = null;
    const events = new DashboardEvents({
      onStationChanged: (l) => ((station = l), () => (station = null)),
      onAlertChanged: (l) => ((alert = l), () => (alert = null)),
      overviewOf: (id) => ({ id }) as StationOverview,
      alert: (id) => ({ id }) as never,
      logger: pino({ level: 'silent' }),
      throttleMs,
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
});
