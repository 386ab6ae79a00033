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
  parseReadingsPayload,
  parseStationTopic,
  parseStatusPayload,
} from '../contracts/index.js';
import { type ConsumerRelay, RELAYED_TOPIC } from './consumer-relay.js';
import type { Identities } from './identity.js';
import type { GatewayMetrics } from './metrics.js';
import { countByReason } from './reject-log.js';

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
  // A will left behind by a client that is gone (client null) cannot be tied to a station.
  if (stationId === null) return divert(deps, packet, null, 'unknown_station');
  const topic = parseStationTopic(packet.topic);
  if (topic === null) return divert(deps, packet, stationId, 'unknown_topic');
  if (topic.stationId !== stationId || topic.kind === 'config') return divert(deps, packet, stationId, 'forbidden_topic');
  return topic.kind === 'readings' ? acceptReadings(deps, stationId, packet) : acceptStatus(deps, stationId, packet);
}

async function acceptReadings(deps: AuthorizePublishDeps, stationId: StationId, packet: PublishPacket): Promise<Error | null> {
  const { readings, rejects } = parseReadingsPayload(payloadOf(packet), deps.clock.now(), deps.limits);
  for (const [reason, count] of countByReason(rejects)) deps.rejects.reject(stationId, reason, count);
  const firstReject = rejects[0];
  if (readings.length === 0) return divert(deps, packet, stationId, firstReject ?? 'empty_batch', false);
  try {
    await deps.sink?.acceptReadings(stationId, readings);
  } catch (err) {
    deps.logger.error({ err, stationId, readings: readings.length }, 'sink refused readings; not acknowledging');
    return err instanceof Error ? err : new Error(String(err));
  }
  // Readings are a stream, never retained state; and subscribers see only the readings that passed.
  packet.retain = false;
  if (firstReject !== undefined) packet.payload = Buffer.from(JSON.stringify(readings), 'utf8');
  const relayError = await relayFirst(deps, stationId, packet);
  if (relayError !== null) return relayError;
  deps.metrics.messages.inc({ kind: 'readings' });
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

async function acceptStatus(deps: AuthorizePublishDeps, stationId: StationId, packet: PublishPacket): Promise<Error | null> {
  const parsed = parseStatusPayload(payloadOf(packet));
  if (!parsed.ok) return divert(deps, packet, stationId, 'bad_status');
  try {
    await deps.sink?.acceptStatus(stationId, parsed.status);
  } catch (err) {
    deps.logger.error({ err, stationId }, 'sink refused status; not acknowledging');
    return err instanceof Error ? err : new Error(String(err));
  }
  const relayError = await relayFirst(deps, stationId, packet);
  if (relayError !== null) return relayError;
  deps.metrics.messages.inc({ kind: 'status' });
  return null;
}

/** The server's service account may only set station configs (retained, server → station). */
function authorizeService(deps: AuthorizePublishDeps, packet: PublishPacket): null {
  if (parseStationTopic(packet.topic)?.kind !== 'config') return divert(deps, packet, null, 'forbidden_topic');
  deps.metrics.messages.inc({ kind: 'config' });
  return null;
}

/** Acknowledge but deliver nowhere: rewrite the topic into the rejected namespace and drop the retain flag. */
function divert(deps: AuthorizePublishDeps, packet: PublishPacket, stationId: StationId | null, reason: RejectReason, count = true): null {
  if (count) deps.rejects.reject(stationId, reason);
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
