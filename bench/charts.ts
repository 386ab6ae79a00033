/**
 * Measurement 7 (issue 5; issue 4's "well under a second"): a season of one-minute readings of one station,
 * and the dashboard chart of each range fetched through the running system's HTTP API
 * (`GET /api/stations/:id/chart?range=…`), median of 5 requests. Supersedes bench/season-chart.ts, which timed
 * the query layer alone.
 */
import { ChartRangeSchema } from '../contracts/index.js';
import { readingLine } from '../server/influx/line-protocol.js';
import { type BenchInflux, startBenchInflux } from './lib/influxd.js';
import { median, round } from './lib/stats.js';
import { BENCH_ADMIN_TOKEN, startBenchSystem } from './lib/system.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const BATCH = 5_000;
const RUNS = 5;
const GOAL_MS = 1_000;

export const bench: Bench = {
  id: 'charts',
  title: 'Dashboard chart response time per range, a season of one-minute readings',
  run: async (options) => {
    const days = options.quick ? 30 : 120;
    const influx = await startBenchInflux();
    try {
      const system = await startBenchSystem(influx);
      try {
        const [station] = await system.registerStations(1);
        if (!station) throw new Error('no station registered');
        await writeSeason(influx, station.stationId, days, options);
        const rows: BenchRow[] = [];
        for (const range of ChartRangeSchema.options) {
          options.progress(`charts: range ${range}`);
          const { ms, points } = await timeChart(`${system.httpUrl}/api/stations/${station.stationId}/chart?range=${range}`);
          rows.push({
            group: 7,
            name: `chart ${range} (HTTP API)`,
            value: round(ms),
            unit: 'ms',
            goal: '< 1,000 ms',
            ratio: round(ms / GOAL_MS),
            note: `median of ${RUNS}; ${points} points; ${days} days × 1,440 readings stored`,
          });
        }
        return rows;
      } finally {
        await system.close();
      }
    } finally {
      await influx.stop();
    }
  },
};

/** `days` of one-minute readings ending now, a daily sine between 4 and 20 °C, written straight to InfluxDB. */
async function writeSeason(influx: BenchInflux, stationId: string, days: number, options: BenchOptions): Promise<void> {
  const end = Math.floor(Date.now() / MINUTE) * MINUTE;
  const total = days * 1_440;
  const start = end - total * MINUTE;
  for (let i = 0; i < total; i += BATCH) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(total, i + BATCH); k += 1) {
      const ts = start + k * MINUTE;
      lines.push(readingLine(stationId, { ts, airTempC: 12 + 8 * Math.sin((2 * Math.PI * ts) / DAY), rhPct: 80, windMs: 1 }));
    }
    await influx.conn.writeLines(lines);
    options.progress(`charts: writing ${Math.min(total, i + BATCH).toLocaleString()} / ${total.toLocaleString()} readings`);
  }
}

async function timeChart(url: string): Promise<{ ms: number; points: number }> {
  const times: number[] = [];
  let points = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
    const body = (await res.json()) as { x?: unknown[] };
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    points = body.x?.length ?? 0;
  }
  return { ms: median(times), points };
}
