/**
 * Issue 5, measurement 6: the footprint of an ordinary night — 1,000 stations at one reading a minute for
 * ten minutes — resident memory and CPU of the gateway + server (a child `frostwatch up`; the clients and
 * InfluxDB run in this process). Quick: two minutes at five times the rate (a reading every 12 s), which
 * gives the same number of readings per station as ten minutes would.
 */
import type { Bench, BenchOptions, BenchRow } from './types.js';
import { runFleetLoad } from './support/fleet-load.js';
import { runIfMain } from './support/entry.js';

export const bench: Bench = {
  id: 'footprint',
  title: '1,000 stations at one reading a minute: memory and CPU',
  run: async ({ quick, progress }: BenchOptions): Promise<BenchRow[]> => {
    const stations = 1_000;
    const intervalMs = quick ? 12_000 : 60_000;
    const minutes = quick ? 2 : 10;
    const r = await runFleetLoad({ stations, intervalMs, durationMs: minutes * 60_000, progress });
    const rate = (stations * 1_000) / intervalMs;
    const note = `${stations} stations, ${rate.toFixed(1)} readings/s in all, ${minutes} min; ${r.published} acknowledged, ${r.failed} failed, ${r.stored} stored`;
    return [
      { group: 6, name: 'peak RSS', value: Math.round(r.peakRssMb), unit: 'MB', note },
      { group: 6, name: 'RSS at the end', value: Math.round(r.endRssMb), unit: 'MB' },
      { group: 6, name: 'CPU', value: round1(r.cpuPct), unit: '% of a core' },
      { group: 6, name: 'RSS before any connection', value: Math.round(r.idle.rssMb), unit: 'MB' },
    ];
  },
};

const round1 = (x: number): number => Math.round(x * 10) / 10;

await runIfMain(import.meta.url, bench);
