/**
 * How fast a dashboard chart comes back for a season of one-minute readings (issue 4: "well under a second").
 * Starts a throwaway influxd, writes 120 days × 1,440 readings of one station, and times the query each
 * dashboard range makes (InfluxDB-side aggregation), five runs each, reporting the median.
 *   npm run build && node dist/bench/season-chart.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectInflux } from '../server/influx/connect.js';
import { readingLine } from '../server/influx/line-protocol.js';
import { startManagedInfluxd } from '../server/influx/managed-influxd.js';
import { queryReadings } from '../server/influx/readings-query.js';

const DAYS = 120;
const MINUTE = 60_000;
const RANGES = [
  { name: 'night', spanMs: 16 * 3_600_000, every: '1m' },
  { name: '24h', spanMs: 24 * 3_600_000, every: '2m' },
  { name: '7d', spanMs: 7 * 86_400_000, every: '15m' },
  { name: 'season', spanMs: DAYS * 86_400_000, every: '2h' },
];

const logger = pino({ level: 'silent' });
const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-'));
const influxd = await startManagedInfluxd({ dataDir: join(dir, 'influxdb'), port: 0, logger, installIfMissing: false });
try {
  const conn = await connectInflux({ url: influxd.url, bucket: 'bench', logger });
  await conn.ensureDatabase();
  const end = Date.UTC(2027, 2, 31);
  const start = end - DAYS * 86_400_000;
  const total = DAYS * 1_440;
  for (let i = 0; i < total; i += 5_000) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(total, i + 5_000); k += 1) {
      const ts = start + k * MINUTE;
      lines.push(readingLine('bench-01', { ts, airTempC: 12 + 8 * Math.sin((2 * Math.PI * ts) / 86_400_000), rhPct: 80, windMs: 1 }));
    }
    await conn.writeLines(lines);
    process.stderr.write(`\rwriting ${Math.min(total, i + 5_000).toLocaleString()} / ${total.toLocaleString()} readings`);
  }
  process.stderr.write('\n');
  console.log(`| range | window | points returned | median of 5 (ms) |\n| --- | --- | --- | --- |`);
  for (const range of RANGES) {
    const times: number[] = [];
    let points = 0;
    for (let run = 0; run < 5; run += 1) {
      const t0 = performance.now();
      points = (await queryReadings(conn, 'bench-01', { fromMs: end - range.spanMs, toMs: end, every: range.every })).length;
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`| ${range.name} | ${range.every} | ${points} | ${(times[2] as number).toFixed(0)} |`);
  }
  await conn.close();
} finally {
  await influxd.stop();
  await rm(dir, { recursive: true, force: true });
}
