import type { Logger } from 'pino';
import { startManagedInfluxd } from '../server/influx/managed-influxd.js';
import { dataPaths } from '../server/paths.js';

export interface InfluxEndpoint {
  url: string;
  managed: boolean;
  stop(): Promise<void>;
}

/** INFLUX_URL when set; otherwise a local influxd in DATA_DIR/influxdb, supervised, stopped with the process. */
export async function influxEndpoint(
  settings: { INFLUX_URL?: string | undefined; INFLUX_PORT: number; DATA_DIR: string },
  logger: Logger,
): Promise<InfluxEndpoint> {
  if (settings.INFLUX_URL) return { url: settings.INFLUX_URL, managed: false, stop: async () => {} };
  const influxd = await startManagedInfluxd({
    dataDir: dataPaths(settings.DATA_DIR).influxd,
    port: settings.INFLUX_PORT,
    logger: logger.child({ module: 'influxd' }),
    installIfMissing: true,
  });
  return { url: influxd.url, managed: true, stop: () => influxd.stop() };
}
