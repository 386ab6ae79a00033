import type { AedesOptions, AedesPublishPacket, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import {
  type Clock,
  type IngestSink,
  type PayloadLimits,
  type RejectReason,
  type RejectRecorder,
  type StationId,
  REJECTED_TOPIC,
  parseStationTopic,
} from '../contracts/index.js';
import { type ConsumerRelay, RELAYED_TOPIC } from './consumer-relay.js';
import type { Identities } from './identity.js';
import { acceptDecoded, decodeStationMessage } from './intake.js';
import type { GatewayMetrics } from './metrics.js';

export type AuthorizePublishHandler = NonNullable<AedesOptions['authorizePublish']>;

export interface AuthorizePublishDeps {
  identities: Identities;
  /** Absent when the gateway runs alone: validate and forward, the server consumes from the broker. */
  sink?: IngestSink | undefined;
  /** Gateway run alone: a reading is acknowledged only once the server consuming from us has it. */
  relay?: ConsumerRelay | undefined;
  rejects: RejectRecorder;
  metrics: GatewayMetrics;
  clock: Clock;
  limits: PayloadLimits;
  logger: Logger;
}

/**
 * aedes `authorizePublish`. aedes writes the PUBACK of a QoS 1 publish only after this calls back, so valid
 * data is handed to the sink first and the PUBACK means "durable". Anything refused is NOT answered with an
 * error, because aedes would disconnect the station and it would resend the poison message forever: it is
 * diverted to REJECTED_TOPIC instead (not retained, no subscriber may listen there) and acknowledged.
 * Only a failing sink disconnects (no PUBACK), so the station keeps the reading and retries.
 */
export function createAuthorizePublish(deps: AuthorizePublishDeps): AuthorizePublishHandler {
  return (client, packet, callback) => {
    const stationId = deps.identities.stationOf(client);
    const isService = deps.identities.get(client)?.kind === 'service';
    authorize(deps, isService, stationId, packet).then(
      (error) => callback(error),
      (bug: unknown) => {
        // Never throw out of a hook: an unexpected failure drops this connection, the broker lives on.
        deps.logger.error({ err: bug, stationId, topic: packet.topic }, 'authorizePublish failed');
        callback(bug instanceof Error ? bug : new Error(String(bug)));
      },
    );
  };
}

/** Async even for the synchronous service check, so that a bug in either becomes a rejection, never a throw out of the hook. */
async function authorize(
  deps: AuthorizePublishDeps,
  isService: boolean,
  stationId: StationId | null,
  packet: PublishPacket,
): Promise<Error | null> {
  if (isService) return authorizeService(deps, packet);
  return authorizeStation(deps, stationId, packet);
}

/** Resolves null to let aedes forward (and PUBACK), or the sink's error to drop the connection unacknowledged. */
async function authorizeStation(deps: AuthorizePublishDeps, stationId: StationId | null, packet: PublishPacket): Promise<Error | null> {
  const decoded = decodeStationMessage({
    topic: packet.topic,
    payload: payloadOf(packet),
    publisher: { kind: 'station', stationId },
    nowMs: deps.clock.now(),
    limits: deps.limits,
  });
  const sinkError = await acceptDecoded(decoded, deps);
  if (sinkError !== null) {
    const count = decoded.kind === 'readings' ? { readings: decoded.readings.length } : {};
    deps.logger.error({ err: sinkError, stationId, ...count }, `sink refused ${decoded.kind}; not acknowledging`);
    return sinkError;
  }
  if (decoded.kind === 'refused') return divert(deps, packet, decoded.reason);
  if (decoded.kind === 'readings') {
    // Readings are a stream, never retained state; and subscribers see only the readings that passed.
    packet.retain = false;
    if (decoded.rejects.size > 0) packet.payload = Buffer.from(JSON.stringify(decoded.readings), 'utf8');
  }
  const relayError = await relayFirst(deps, decoded.stationId, packet);
  if (relayError !== null) return relayError;
  deps.metrics.messages.inc({ kind: decoded.kind });
  return null;
}

/** Gateway run alone: hand a copy to the server and wait for its PUBACK; the original then goes nowhere. */
async function relayFirst(deps: AuthorizePublishDeps, stationId: StationId, packet: PublishPacket): Promise<Error | null> {
  if (!deps.relay) return null;
  const error = await deps.relay.deliver(packet.topic, payloadOf(packet), packet.retain);
  if (error !== null) {
    deps.logger.warn({ err: error.message, stationId, topic: packet.topic }, 'not relayed to the server; not acknowledging');
    return error;
  }
  // Its copy went to the server (and, if retained, into the retained store) already; the original must not go twice.
  packet.topic = RELAYED_TOPIC;
  packet.retain = false;
  return null;
}

/** The server's service account may only set station configs (retained, server → station). */
function authorizeService(deps: AuthorizePublishDeps, packet: PublishPacket): null {
  if (parseStationTopic(packet.topic)?.kind !== 'config') {
    deps.rejects.reject(null, 'forbidden_topic');
    return divert(deps, packet, 'forbidden_topic');
  }
  deps.metrics.messages.inc({ kind: 'config' });
  return null;
}

/**
 * Acknowledge but deliver nowhere: rewrite the topic into the rejected namespace and drop the retain flag.
 * The refusal was already recorded (by the intake's accept step, or by the caller).
 */
function divert(deps: AuthorizePublishDeps, packet: PublishPacket, reason: RejectReason): null {
  deps.metrics.messages.inc({ kind: 'rejected' });
  packet.topic = `${REJECTED_TOPIC}/${reason}`;
  packet.retain = false;
  return null;
}

function payloadOf(packet: PublishPacket): Buffer {
  return typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
}

/** aedes `authorizeForward`: a last guard so nothing diverted can reach a client, whatever it subscribed. */
export function forwardUnlessRejected(_client: unknown, packet: AedesPublishPacket): AedesPublishPacket | null {
  return packet.topic.startsWith(`${REJECTED_TOPIC}/`) || packet.topic === RELAYED_TOPIC ? null : packet;
}
