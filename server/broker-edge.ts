import { type BoundPorts, type Gateway, type GatewayOptions, type ListenOptions, createGateway } from '../gateway/gateway.js';
import { createRejectLog } from '../gateway/reject-log.js';
import { chirpstackApplications } from '../gateway/sources/chirpstack.js';
import { SourceMemory } from '../gateway/sources/memory.js';
import type { BrokerEdge, EdgeFactory } from './assemble.js';
import { ingestRejectedCounter } from './ingest/reject-metric.js';
import { type MqttConsumer, type MqttConsumerOptions, startMqttConsumer } from './ingest/mqtt-consumer.js';
import { brokerConfigPublisher, clientConfigPublisher, routingConfigPublisher } from './warnings/config-publisher.js';

/** `frostwatch up`: the Aedes gateway in this process, PUBACK after the spool has the reading. */
export interface GatewayEdge extends BrokerEdge {
  readonly gateway: Gateway;
  /** The ports bound by start(); null before. */
  readonly ports: BoundPorts | null;
}

/** Everything the gateway takes that the server does not already give it (authenticator, sink, metrics, clock). */
export type GatewayEdgeOptions = Omit<
  GatewayOptions,
  'authenticator' | 'devices' | 'integrations' | 'memory' | 'sink' | 'metrics' | 'clock' | 'credentialChanges' | 'logger'
> & {
  listen: ListenOptions;
};

export function gatewayEdge(options: GatewayEdgeOptions): EdgeFactory<GatewayEdge> {
  const { listen, ...gatewayOptions } = options;
  return async (parts) => {
    // Shared by the gateway's decoders and the config publisher: which ChirpStack application a device's uplinks name.
    const memory = new SourceMemory();
    const gateway = await createGateway({
      ...gatewayOptions,
      memory,
      authenticator: parts.authenticator,
      devices: parts.devices,
      integrations: parts.integrations,
      refusals: parts.refusals,
      sink: parts.sink,
      metrics: parts.metrics,
      clock: parts.clock,
      credentialChanges: parts.credentialChanges,
      logger: parts.logger.child({ module: 'gateway' }),
    });
    let ports: BoundPorts | null = null;
    return {
      gateway,
      get ports() {
        return ports;
      },
      check: () => ({ ok: true, detail: `${gateway.broker.connectedClients} clients` }),
      // By the station's source: native stations their retained config, ChirpStack devices a downlink (docs/devices.md).
      configPublisher: routingConfigPublisher({
        stations: parts.stations,
        native: brokerConfigPublisher(gateway.broker),
        chirpstack: { broker: gateway.broker, applications: chirpstackApplications(memory) },
        ttn: parts.ttnDownlink,
        logger: parts.logger.child({ module: 'config-publisher' }),
      }),
      start: async () => {
        ports = await gateway.listen(listen);
      },
      close: () => gateway.close(),
    };
  };
}

/** `frostwatch server`: a persistent-session MQTT client of any broker, PUBACK after the spool has the reading. */
export interface ConsumerEdge extends BrokerEdge {
  /** The client, once start() connected it; null before. */
  readonly consumer: MqttConsumer | null;
}

export type ConsumerEdgeOptions = Pick<MqttConsumerOptions, 'url' | 'clientId' | 'ca' | 'limits'>;

export function consumerEdge(options: ConsumerEdgeOptions): EdgeFactory<ConsumerEdge> {
  return (parts) => {
    const logger = parts.logger.child({ module: 'mqtt-consumer' });
    // The same reject log as the in-process gateway's, on the consumer's own metric.
    const rejects = createRejectLog(
      ingestRejectedCounter(parts.metrics),
      parts.logger.child({ module: 'ingest' }),
      parts.clock,
      parts.refusals,
    );
    let consumer: MqttConsumer | null = null;
    return {
      get consumer() {
        return consumer;
      },
      check: () => (consumer?.client.connected ? { ok: true } : { ok: false, detail: 'not connected to the broker' }),
      configPublisher: {
        publish: (stationId, config) =>
          consumer
            ? clientConfigPublisher(consumer.client).publish(stationId, config)
            : Promise.reject(new Error('not connected to the broker')),
      },
      start: () => {
        consumer ??= startMqttConsumer({
          ...options,
          sink: parts.sink,
          rejects,
          isKnownStation: (id) => parts.stations.get(id) !== null,
          clock: parts.clock,
          logger,
        });
        return Promise.resolve();
      },
      close: () => consumer?.close() ?? Promise.resolve(),
    };
  };
}
