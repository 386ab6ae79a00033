import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { connectInflux } from '../../server/influx/connect.js';
import type { InfluxConnection } from '../../server/influx/connect.js';
import { startManagedInfluxd } from '../../server/influx/managed-influxd.js';
import type { ManagedInfluxd } from '../../server/influx/managed-influxd.js';

export interface TestInfluxd {
  /** Temp directory holding influxd's data (under `influxdb/`); removed by stop(). */
  dir: string;
  dataDir: string;
  influxd: ManagedInfluxd;
  conn: InfluxConnection;
  url: string;
  database: string;
  logger: Logger;
  /** Close the connection, stop influxd, delete the directory. Idempotent. */
  stop(): Promise<void>;
}

/** A real influxd on a free 127.0.0.1 port in a temp dir, with a connection to a fresh database. */
export async function startTestInfluxd(opts: { database?: string; logger?: Logger } = {}): Promise<TestInfluxd> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'frostwatch-influx-'));
  const dataDir = join(dir, 'influxdb');
  const database = opts.database ?? 'frostwatch_test';
  let influxd: ManagedInfluxd | null = null;
  try {
    influxd = await startManagedInfluxd({ dataDir, port: 0, logger, installIfMissing: false });
    const conn = await connectInflux({ url: influxd.url, bucket: database, logger });
    await conn.ensureDatabase();
    let stopping: Promise<void> | null = null;
    const started = influxd;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        await conn.close();
        await started.stop();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    };
    return { dir, dataDir, influxd, conn, url: influxd.url, database, logger, stop };
  } catch (err) {
    await influxd?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
