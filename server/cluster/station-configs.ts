import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type StationConfig, StationConfigSchema, StationIdSchema } from '../../contracts/index.js';
import type { ConfigPublisher } from '../warnings/frost-engine.js';
import { untilJetStreamAnswers } from './nats-connection.js';

/**
 * Station configs (adaptive sampling, `{"intervalS": 60}`) in a cluster (docs/scale-out.md): the worker that decides
 * for a station puts its config into a replicated JetStream key-value bucket, and every gateway watches the bucket and
 * publishes each config retained on `stations/<id>/config` in its own broker — so a station gets its current config
 * from whichever gateway it connects to, and a gateway started later gets every config at once (a watch begins with
 * each key's last value). One key a station, history 1: the bucket holds what is current, nothing else.
 */
export const CONFIG_BUCKET = 'FROSTWATCH_STATION_CONFIG';

export async function openConfigBucket(nc: NatsConnection, replicas: number, logger: Logger): Promise<KV> {
  return untilJetStreamAnswers('the station config bucket', () => new Kvm(nc).create(CONFIG_BUCKET, { replicas, history: 1 }), {
    logger,
  });
}

/** The worker's side: what the rule engine decides a station should sample at. */
export function kvConfigPublisher(bucket: KV): ConfigPublisher {
  return {
    publish: async (stationId, config) => {
      await bucket.put(stationId, JSON.stringify(config));
    },
  };
}

/**
 * The gateway's side: every config in the bucket, and every later change, published retained through `publisher`
 * (the gateway's own broker). Returns a stop. A config that does not read as one is logged and skipped.
 */
export async function serveStationConfigs(bucket: KV, publisher: ConfigPublisher, logger: Logger): Promise<{ stop(): void }> {
  const watch = await bucket.watch({ ignoreDeletes: true });
  void (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT') continue;
      let config: StationConfig;
      const station = StationIdSchema.safeParse(entry.key);
      if (!station.success) continue;
      try {
        config = StationConfigSchema.parse(JSON.parse(entry.string()));
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.message : String(err), station: entry.key }, 'station config: not readable, skipped');
        continue;
      }
      await publisher
        .publish(station.data, config)
        .catch((err: unknown) => logger.warn({ err, station: entry.key }, 'station config: not published to this gateway'));
    }
  })();
  return { stop: () => watch.stop() };
}
