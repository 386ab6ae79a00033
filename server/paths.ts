import { join } from 'node:path';

/** Where each part keeps its files under DATA_DIR. */
export const dataPaths = (dataDir: string) => ({
  registry: join(dataDir, 'frostwatch.db'),
  spool: join(dataDir, 'spool'),
  influxd: join(dataDir, 'influxdb'),
  simCredentials: join(dataDir, 'sim-stations.json'),
  log: join(dataDir, 'frostwatch.log'),
});
