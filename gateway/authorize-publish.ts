import type { AedesOptions, AedesPublishPacket, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import {
  type Clock,
  type IngestSink,
  type PayloadLimits,
  type RejectReason,
  type RejectRecorder,
  type DeviceDirectory,
  type StationId,
  REJECTED_TOPIC,
  parseStationTopic,
  readingsTopic,
  statusTopic,
} from '../contracts/index.js';
import { type ConsumerRelay, RELAYED_TOPIC } from './consumer-relay.js';
import type { Identities } from './identity.js';
import { type Publisher, acceptDecoded } from './intake.js';
import { decodeMessage, prepareDecoder } from './sources/index.js';
import type { SourceMemory } from './sources/memory.js';
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
  /** Whose device a message is, for sources other than native (gateway/sources/); absent: native only. */
  devices?: DeviceDirectory | undefined;
  memory?: SourceMemory | undefined;
}

/** Where an acknowledged message that carries nothing to deliver goes: nowhere (forwardUnlessRejected drops it). */
export const SETTLED_TOPIC = '$frostwatch/settled';

/**
 * aedes `authorizePublish`. aedes writes the PUBACK of a QoS 1 publish only after this calls back, so valid
 * data is handed to the sink first and the PUBACK means "durable". Anything refused is NOT answered with an
 * error, because aedes would disconnect the station and it would resend the poison message forever: it is
 * diverted to REJECTED_TOPIC instead (not retained, no subscriber may listen there) and acknowledged.
 * Only a failing sink disconnects (no PUBACK), so the station keeps the reading and retries.
 */
export function createAuthorizePublish(deps: AuthorizePublishDeps): AuthorizePublishHandler {
  return (client, packet, callback) => {
    const identity = deps.identities.get(client);
    const stationId = deps.identities.stationOf(client);
    const isService = identity?.kind === 'service';
    const publisher: Publisher =
      identity?.kind === 'integration' ? { kind: 'integration', integration: identity.integration } : { kind: 'station', stationId };
    authorize(deps, isService, publisher, packet).then(
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
  publisher: Publisher,
  packet: PublishPacket,
): Promise<Error | null> {
  if (isService) return authorizeService(deps, packet);
  return authorizeStation(deps, publisher, packet);
}

/** Resolves null to let aedes forward (and PUBACK), or the sink's error to drop the connection unacknowledged. */
async function authorizeStation(deps: AuthorizePublishDeps, publisher: Publisher, packet: PublishPacket): Promise<Error | null> {
  const preparing = prepareDecoder(publisher);
  if (preparing !== null) await preparing;
  const decoded = decodeMessage({
    topic: packet.topic,
    payload: payloadOf(packet),
    publisher,
    nowMs: deps.clock.now(),
    limits: deps.limits,
    devices: deps.devices,
    memory: deps.memory,
  });
  const stationId = decoded.stationId;
  const sinkError = await acceptDecoded(decoded, deps);
  if (sinkError !== null) {
    const count = decoded.kind === 'readings' ? { readings: decoded.readings.length } : {};
    deps.logger.error({ err: sinkError, stationId, ...count }, `sink refused ${decoded.kind}; not acknowledging`);
    return sinkError;
  }
  if (decoded.kind === 'refused') return divert(deps, packet, decoded.reason);
  if (decoded.kind === 'ignored') {
    packet.topic = SETTLED_TOPIC;
    packet.retain = false;
    return null;
  }
  if (decoded.kind === 'readings') {
    // Readings are a stream, never retained state; and subscribers see only the readings that passed.
    packet.retain = false;
    if (decoded.rejects.size > 0) packet.payload = Buffer.from(JSON.stringify(decoded.readings), 'utf8');
  }
  // Another source's message goes on in frostwatch's own form: the server consuming from a gateway run alone, and
  // any subscriber, read every station the same way.
  const native = decoded.kind === 'readings' ? readingsTopic(decoded.stationId) : statusTopic(decoded.stationId);
  if (packet.topic !== native) {
    packet.topic = native;
    packet.retain = decoded.kind === 'status';
    packet.payload = Buffer.from(JSON.stringify(decoded.kind === 'readings' ? decoded.readings : decoded.status), 'utf8');
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
  return packet.topic.startsWith(`${REJECTED_TOPIC}/`) || packet.topic === RELAYED_TOPIC || packet.topic === SETTLED_TOPIC ? null : packet;
}
