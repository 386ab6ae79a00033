import { describe, expect, it } from 'vitest';
import { parseReadingsPayload, type Reading } from '../../contracts/index.js';
import { sunTimes } from '../../contracts/solar.js';
import { ReadingBuffer } from '../../firmware-sim/buffer.js';
import { fleetLayout, toStationCreate } from '../../firmware-sim/layout.js';
import { runScenarioOffline } from '../../firmware-sim/offline.js';
import type { FleetStats } from '../../firmware-sim/fleet.js';
import { renderProgress } from '../../firmware-sim/progress.js';
import { OUTAGE_HOURS, planScenario } from '../../firmware-sim/scenario.js';

const HOUR = 3_600_000;
const stations = fleetLayout(9, 4);
const dusk = sunTimes(12, 108.42, Date.parse('2025-01-14T05:00:00Z')).sunsetMs;
const dawn = sunTimes(12, 108.42, Date.parse('2025-01-15T05:00:00Z')).sunriseMs;

describe('fleetLayout', () => {
  it('is deterministic, numbered sim-01…, inside the Lạc Dương coffee belt', () => {
    const layout = fleetLayout(14, 3);
    expect(fleetLayout(14, 3)).toEqual(layout);
    expect(fleetLayout(14, 4)).not.toEqual(layout);
    expect(layout.map((s) => s.id).slice(0, 3)).toEqual(['sim-01', 'sim-02', 'sim-03']);
    expect(new Set(layout.map((s) => s.id)).size).toBe(14);
    for (const s of layout) {
      expect(s.lat).toBeGreaterThanOrEqual(11.95);
      expect(s.lat).toBeLessThanOrEqual(12.05);
      expect(s.lon).toBeGreaterThanOrEqual(108.35);
      expect(s.lon).toBeLessThanOrEqual(108.5);
      expect(s.elevationM).toBeGreaterThanOrEqual(1_400);
      expect(s.elevationM).toBeLessThanOrEqual(1_650);
      expect(s.hollowOffsetC === 0 || (s.hollowOffsetC >= -3 && s.hollowOffsetC <= -1)).toBe(true);
    }
    expect(new Set(layout.map((s) => s.commune)).size).toBe(6);
    expect(Object.keys(toStationCreate(layout[0]!)).sort()).toEqual(['commune', 'crop', 'elevationM', 'id', 'lat', 'lon', 'name']);
  });
});

describe('faulty-sensor', () => {
  const plan = planScenario(stations, { scenario: 'faulty-sensor', seed: 8 });
  const records = runScenarioOffline({ stations, scenario: 'faulty-sensor', seed: 8, fromMs: dusk, toMs: dawn });
  const idOf = (fault: string): string => [...plan.faults].find(([, f]) => f === fault)?.[0] ?? 'none';
  const air = (id: string): number[] =>
    records.flatMap((r) => (r.stationId === id && r.sample.kind === 'reading' ? [r.sample.reading.airTempC] : []));

  it('breaks exactly three different stations', () => {
    expect(new Set(plan.faults.values())).toEqual(new Set(['stuck', 'spikes', 'invalid-payloads']));
    expect(plan.faults.size).toBe(3);
  });

  it('the stuck sensor repeats one value all night; a healthy one moves', () => {
    expect(new Set(air(idOf('stuck'))).size).toBe(1);
    const healthy = stations.find((s) => !plan.faults.has(s.id))!;
    expect(new Set(air(healthy.id)).size).toBeGreaterThan(100);
  });

  it('the spiking sensor jumps more than 4 °C between minutes (WMO step test) now and then', () => {
    const series = air(idOf('spikes'));
    const jumps = series.slice(1).filter((t, i) => Math.abs(t - (series[i] ?? t)) > 4).length;
    expect(jumps).toBeGreaterThanOrEqual(4);
  });

  it('the invalid payloads are refused by the contract parser, and only that station sends them', () => {
    const invalid = records.filter((r) => r.sample.kind === 'invalid');
    expect(invalid.length).toBeGreaterThanOrEqual(5);
    for (const r of invalid) {
      expect(r.stationId).toBe(idOf('invalid-payloads'));
      if (r.sample.kind !== 'invalid') continue;
      const parsed = parseReadingsPayload(Buffer.from(r.sample.payload), r.tMs);
      expect(parsed.readings).toEqual([]);
      expect(parsed.rejects.length).toBe(1);
    }
  });
});

describe('outage', () => {
  it('cuts some stations off for one 2 h block in the cold part of the night, the rest never', () => {
    const records = runScenarioOffline({ stations, scenario: 'outage', seed: 2, fromMs: dusk, toMs: dawn });
    const plan = planScenario(stations, { scenario: 'outage', seed: 2 });
    expect(plan.outageStartH.size).toBe(3);
    for (const s of stations) {
      const down = records.filter((r) => r.stationId === s.id && !r.networkUp).map((r) => r.tMs);
      if (!plan.outageStartH.has(s.id)) {
        expect(down).toEqual([]);
        continue;
      }
      expect(down.length).toBe(OUTAGE_HOURS * 60);
      expect((down.at(-1) ?? 0) - (down[0] ?? 0)).toBe((OUTAGE_HOURS * 60 - 1) * 60_000);
      expect(down[0]).toBeGreaterThanOrEqual(dusk + 3 * HOUR - 60_000);
      expect(down.at(-1)).toBeLessThan(dawn);
    }
  });
});

describe('ReadingBuffer', () => {
  const reading = (seq: number): Reading => ({ ts: Date.UTC(2025, 0, 1) + seq * 60_000, airTempC: 5, seq });

  it('drops (and counts) the oldest when full', () => {
    const buffer = new ReadingBuffer(3);
    for (let i = 0; i < 5; i++) buffer.push(reading(i));
    expect(buffer.size).toBe(3);
    expect(buffer.dropped).toBe(2);
    expect(buffer.take(10).map((e) => e.reading.seq)).toEqual([2, 3, 4]);
  });

  it('a reading leaves only on ack; a lost link puts the in-flight ones back first in line', () => {
    const buffer = new ReadingBuffer(10);
    for (let i = 0; i < 5; i++) buffer.push(reading(i));
    const first = buffer.take(2);
    expect(buffer.take(2).map((e) => e.reading.seq)).toEqual([2, 3]);
    expect(buffer.ack(first)).toBe(2);
    expect(buffer.ack(first)).toBe(0);
    buffer.releaseAll();
    expect(buffer.take(10).map((e) => e.reading.seq)).toEqual([2, 3, 4]);
    expect(buffer.size).toBe(3);
  });
});

describe('renderProgress', () => {
  it('shows simulated local time, link, delivery and the coldest station', () => {
    const stats: FleetStats = {
      simTimeMs: Date.parse('2025-01-14T21:32:00Z'),
      stations: 12,
      connected: 11,
      sampled: 9_000,
      published: 8_500,
      acked: 8_412,
      buffered: 36,
      dropped: 0,
      invalidSent: 0,
      reboots: 1,
      coldest: { stationId: 'sim-01', airTempC: -1.84 },
      devices: [],
    };
    expect(renderProgress(stats)).toBe('sim 15/01 04:32 │ 11/12 online │ acked 8 412 │ buffered 36 │ dropped 0 │ coldest sim-01 −1.8 °C');
  });
});
