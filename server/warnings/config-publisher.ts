import type { Aedes } from 'aedes';
import type { MqttClient } from 'mqtt';
import { configTopic } from '../../contracts/index.js';
import type { ConfigPublisher } from './frost-engine.js';

/** Retained station config through the in-process broker (frostwatch up). */
export function brokerConfigPublisher(broker: Aedes): ConfigPublisher {
  return {
    publish: (stationId, config) =>
      new Promise((resolve, reject) => {
        const packet = {
          cmd: 'publish' as const,
          topic: configTopic(stationId),
          payload: Buffer.from(JSON.stringify(config)),
          qos: 1 as const,
          retain: true,
          dup: false,
        };
        broker.publish(packet, (err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Retained station config through the broker the server consumes from (frostwatch server). */
export function clientConfigPublisher(client: MqttClient): ConfigPublisher {
  return {
    publish: async (stationId, config) => {
      await client.publishAsync(configTopic(stationId), JSON.stringify(config), { qos: 1, retain: true });
    },
  };
}
