import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock, WorkerEnv } from '../../contracts/index.js';
import { connectInflux } from '../influx/connect.js';
import { queryReadings } from '../influx/readings-query.js';
import { StationActivity } from '../ingest/activity.js';
import { openRegistry } from '../registry/open.js';
import { PgDb } from '../registry/pg/pg-db.js';
import { StationRepository } from '../registry/stations.js';
import { FrostEngine } from '../warnings/frost-engine.js';
import { startWarnings } from '../warnings/warnings.js';
import { connectReadingsLog, ensureReadingsStream } from './readings-log.js';
import { kvConfigPublisher, openConfigBucket } from './station-configs.js';
import { type ClusterWorker, startClusterWorker } from './worker.js';

export interface AssembledWorker {
  worker: ClusterWorker;
  metrics: Registry;
  close(): Promise<void>;
}

/**
 * `frostwatch worker` assembled (docs/scale-out.md): its own PostgreSQL session (leases and commits on it, never
 * silently replaced — a lost session ends the process, `onSessionLost`), InfluxDB, the readings log on NATS, and the
 * warning side — rule engine on this thread for the stations of the partitions it holds, the notifier sending from the
 * shared outbox (FOR UPDATE SKIP LOCKED), forecasts and survey calls for its own stations.
 */
export async function assembleWorker(deps: {
  settings: WorkerEnv;
  logger: Logger;
  clock: Clock;
  onSessionLost: () => void;
}): Promise<AssembledWorker> {
  const { settings, logger, clock } = deps;
  const db = openRegistry(
    { kind: 'postgres', url: settings.DATABASE_URL, keyDir: settings.DATA_DIR },
    logger.child({ module: 'registry' }),
    {
      applicationName: 'frostwatch worker',
      reconnect: false,
    },
  );
  if (!(db instanceof PgDb)) throw new Error('a worker runs on PostgreSQL');
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'frostwatch_process_' });
  const influx = await connectInflux({
    url: settings.INFLUX_URL,
    token: settings.INFLUX_TOKEN,
    org: settings.INFLUX_ORG,
    bucket: settings.INFLUX_BUCKET,
    logger: logger.child({ module: 'influx' }),
  });
  await influx.ensureDatabase().catch((err: unknown) => logger.warn({ err }, 'InfluxDB database not ensured yet; writes will retry'));
  const natsLogger = logger.child({ module: 'nats' });
  const nc = await connectReadingsLog({
    urls: settings.NATS_URL,
    name: `frostwatch worker ${process.pid}`,
    logger: natsLogger,
    ...(settings.TLS_CA_FILE === undefined ? {} : { caFile: settings.TLS_CA_FILE }),
  });
  await ensureReadingsStream(nc, { partitions: settings.PARTITIONS, replicas: settings.NATS_REPLICAS, logger: natsLogger });
  // Adaptive sampling: the configs this worker decides go to the gateways through a replicated bucket.
  const configs = await openConfigBucket(nc, settings.NATS_REPLICAS, natsLogger);
  const stations = new StationRepository(db, clock);
  const activity = new StationActivity();
  let worker: ClusterWorker | null = null;
  const warnings = startWarnings({
    db,
    stations,
    activity,
    settings,
    publicUrl: settings.PUBLIC_URL ?? 'http://localhost:8080',
    clock,
    logger,
    metrics,
    query: (id, range) => queryReadings(influx, id, range, null),
    configPublisher: kvConfigPublisher(configs),
    scope: (stationId) => worker?.owns(stationId) ?? false,
  });
  const engine = warnings.engine;
  if (!(engine instanceof FrostEngine)) throw new Error('a worker runs its rule engine on its own thread');
  worker = startClusterWorker({
    db,
    nc,
    influx,
    engine,
    stationIds: () => stations.list().map((station) => station.id),
    activity,
    partitions: settings.PARTITIONS,
    clock,
    logger,
    onSessionLost: deps.onSessionLost,
  });
  worker.start();
  const started = worker;
  return {
    worker: started,
    metrics,
    close: async () => {
      await started.close();
      await warnings.stopSchedules();
      await engine.close();
      await warnings.notifier.close();
      await nc.drain().catch(() => undefined);
      await influx.close();
      db.close();
    },
  };
}
