import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  ALL_READINGS_FILTER,
  ALL_STATUS_FILTER,
  type Clock,
  type IngestSink,
  type PayloadLimits,
  type RejectRecorder,
  type StationId,
  DEFAULT_PAYLOAD_LIMITS,
} from '../../contracts/index.js';
import { acceptDecoded, asError, decodeStationMessage } from '../../gateway/intake.js';

export interface MqttConsumerOptions {
  /** e.g. `mqtt://frostwatch-server:secret@gateway.local:1883`; credentials in the URL. */
  url: string;
  /** Stable, so the broker keeps our persistent session (clean: false) across restarts. */
  clientId: string;
  sink: IngestSink;
  rejects: RejectRecorder;
  /** Whether the registry knows this station (readings of unknown stations are refused). */
  isKnownStation: (id: StationId) => boolean;
  clock: Clock;
  logger: Logger;
  limits?: PayloadLimits;
  /** CAs to trust for mqtts:// and wss:// (system roots plus TLS_CA_FILE); undefined → Node's defaults. */
  ca?: string[] | undefined;
}

export interface MqttConsumer {
  readonly client: MqttClient;
  close(): Promise<void>;
}

/**
 * Consumes readings from any MQTT 3.1.1 broker (Mosquitto, EMQX, or the frostwatch gateway run apart).
 * At-least-once: an overridden `handleMessage` holds each PUBACK until the sink says the reading is durable, and the
 * persistent session (`clean: false`) makes the broker redeliver whatever we had not acknowledged when we died.
 * mqtt.js handles one incoming publish at a time, so this path is bounded by the spool's commit latency;
 * the in-process gateway (frostwatch up) does not have that bound.
 */
export function startMqttConsumer(options: MqttConsumerOptions): MqttConsumer {
  const { logger } = options;
  const client = mqtt.connect(options.url, {
    clientId: options.clientId,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    resubscribe: true,
    ...(options.ca ? { ca: options.ca } : {}),
  });
  // mqtt.js sends the PUBACK of a QoS 1 message only when `handleMessage` calls back (its `customHandleAcks`
  // applies to MQTT 5 only), so this is where the acknowledgement waits for the spool.
  client.handleMessage = (packet, callback) => {
    void handleMessage(options, packet.topic, packet.payload as Buffer).then((error) => {
      if (error === null) {
        callback();
        return;
      }
      // No PUBACK: drop the connection so the broker redelivers once we are back.
      logger.error({ err: error.message }, 'ingest failed; reconnecting so the broker redelivers');
      client.stream.destroy();
      callback(error);
    });
  };
  client.on('connect', (connack) => {
    // One PUBACK per message, each waiting on the previous: Nagle would hold each for the peer's delayed ACK (~40 ms).
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    logger.info({ url: redactUrl(options.url), sessionPresent: connack.sessionPresent }, 'ingest connected to broker');
    if (!connack.sessionPresent) {
      client.subscribe([ALL_READINGS_FILTER, ALL_STATUS_FILTER], { qos: 1 }, (err) => {
        if (err) logger.error({ err: err.message }, 'subscribe failed');
      });
    }
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'broker connection error'));
  client.on('offline', () => logger.warn('ingest lost the broker; reconnecting'));
  let closing: Promise<void> | null = null;
  return {
    client,
    close: () => (closing ??= client.endAsync(false).then(() => undefined)),
  };
}

/**
 * The same intake as the aedes hook's (gateway/intake.ts), but the broker vouches for nobody: the topic names the
 * station and the registry must know it. null → PUBACK (stored, or refused and counted); an Error → no PUBACK.
 */
async function handleMessage(options: MqttConsumerOptions, topic: string, payload: Buffer): Promise<Error | null> {
  try {
    const decoded = decodeStationMessage({
      topic,
      payload,
      publisher: { kind: 'broker', isKnownStation: options.isKnownStation },
      nowMs: options.clock.now(),
      limits: options.limits ?? DEFAULT_PAYLOAD_LIMITS,
    });
    return await acceptDecoded(decoded, options);
  } catch (err) {
    // A failing registry lookup is not the sender's fault: no PUBACK, and the broker redelivers.
    return asError(err);
  }
}

export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(invalid url)';
  }
}
