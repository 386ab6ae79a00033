import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { type InfluxConnection, connectInflux } from '../../server/influx/connect.js';
import { startManagedInfluxd } from '../../server/influx/managed-influxd.js';

export const silentLogger: Logger = pino({ level: 'silent' });

export interface BenchInflux {
  url: string;
  database: string;
  conn: InfluxConnection;
  /** `SELECT count(airTempC)` over the whole readings measurement. */
  countReadings(): Promise<number>;
  /** Close the connection, stop influxd, delete its directory. Idempotent. */
  stop(): Promise<void>;
}

/** A throwaway influxd (the same supervisor `frostwatch up` uses) on a free 127.0.0.1 port in a temp dir. */
export async function startBenchInflux(database = 'frostwatch'): Promise<BenchInflux> {
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-bench-influx-'));
  const influxd = await startManagedInfluxd({
    dataDir: join(dir, 'influxdb'),
    port: 0,
    logger: silentLogger,
    installIfMissing: false,
  }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const conn = await connectInflux({ url: influxd.url, bucket: database, logger: silentLogger, timeoutMs: 60_000 });
  await conn.ensureDatabase();
  let stopping: Promise<void> | null = null;
  return {
    url: influxd.url,
    database,
    conn,
    countReadings: async () => {
      const series = await conn.query('SELECT count(airTempC) FROM readings');
      const value = series[0]?.values[0]?.[1];
      return typeof value === 'number' ? value : 0;
    },
    stop: () =>
      (stopping ??= (async () => {
        await conn.close();
        await influxd.stop();
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
