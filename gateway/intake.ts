/**
 * The intake: what a station's message becomes before anything is acknowledged. Both deployments use it, so a
 * message is judged the same wherever it arrives — the aedes hook (gateway/authorize-publish.ts: the gateway in-process
 * or run alone) and the broker consumer (server/ingest/mqtt-consumer.ts: `frostwatch server` on any broker). It has two
 * steps: a pure `Decoder` (topic, payload, who published it, the receiver's time and limits → readings or a status for
 * one station, with the refused readings counted per reason, or the whole message refused with a reason), and
 * `acceptDecoded`, which records the refusals and hands what is left to the ingest sink. What each caller does around
 * them stays its own: the hook diverts, relays and counts its metrics; the consumer holds its PUBACK.
 *
 * Other message sources (a LoRaWAN network server's uplinks, Tasmota, ESPHome or Shelly topics) are meant to be
 * further `Decoder`s in front of the same `acceptDecoded`: each maps its own topic and payload to a station and
 * `Reading`s and returns a `Decoded`, so the refusal counting, the sink and the acknowledgement stay as they are.
 */
import type { SourceMemory } from './sources/memory.js';
import {
  type DeviceDirectory,
  type IngestSink,
  type IntegrationKind,
  type PayloadLimits,
  type Reading,
  type RejectReason,
  type RejectRecorder,
  type StationId,
  type StationStatus,
  parseReadingsPayload,
  parseStationTopic,
  parseStatusPayload,
} from '../contracts/index.js';
import { countByReason } from './reject-log.js';

/**
 * Who sent a message, as far as its source can vouch for it.
 * - `station`: a client this gateway authenticated as that station; it may publish on its own readings and status
 *   topics only. null: the will of a client already gone, which cannot be tied to a station.
 * - `broker`: a message consumed from a broker that authenticated its publishers itself (Mosquitto, EMQX, the
 *   frostwatch gateway run alone): the topic names the station, which the registry must know.
 */
export type Publisher =
  | { kind: 'station'; stationId: StationId | null }
  | { kind: 'broker'; isKnownStation: (id: StationId) => boolean }
  | { kind: 'integration'; integration: IntegrationKind };

export interface IntakeMessage {
  topic: string;
  payload: Uint8Array;
  publisher: Publisher;
  /** The receiver's clock (epoch ms): readings stamped too far ahead of it or behind it are refused. */
  nowMs: number;
  limits: PayloadLimits;
  /** Whose device a message is (other sources than native; gateway/sources/). Absent: native messages only. */
  devices?: DeviceDirectory | undefined;
  /** What the decoders of other sources remember between messages (dedupe ids, a sensor's last value). */
  memory?: SourceMemory | undefined;
}

/** How many readings or messages were refused, by reason: what `acceptDecoded` records. */
export type RejectCounts = ReadonlyMap<RejectReason, number>;

/**
 * A decoded message. `refused`: nothing to store; `reason` names it (for a batch with no good reading, its first
 * refused reading's reason) while `rejects` holds what is counted — each refused reading once, not the batch again.
 */
export type Decoded =
  | {
      kind: 'readings';
      stationId: StationId;
      readings: readonly Reading[];
      rejects: RejectCounts;
      /** The id the decoder marked as seen (an uplink's); forgotten again if storing fails, so a redelivery is stored. */
      dedupeKey?: string;
    }
  | { kind: 'status'; stationId: StationId; status: StationStatus; rejects: RejectCounts }
  | { kind: 'refused'; stationId: StationId | null; reason: RejectReason; rejects: RejectCounts }
  /** Nothing to store and nothing wrong: a duplicate uplink, a network server's other events, a value kept for the next reading. */
  | { kind: 'ignored'; stationId: StationId | null; why: string; rejects: RejectCounts };

/**
 * No clock and no side effects: time and limits come in with the message, so tests and the accelerated demo decide
 * them. The one lookup is the publisher's own (`isKnownStation`, the registry's answer).
 */
export type Decoder = (message: IntakeMessage) => Decoded;

export const NO_REJECTS: RejectCounts = new Map();

/** The frostwatch wire format of docs/protocol.md: `stations/{id}/readings` and `stations/{id}/status`. */
export const decodeStationMessage: Decoder = (message) => {
  const target = route(message.topic, message.publisher);
  if (target.kind === 'refused') return target;
  const { stationId } = target;
  if (target.kind === 'status') {
    const parsed = parseStatusPayload(message.payload);
    return parsed.ok ? { kind: 'status', stationId, status: parsed.status, rejects: NO_REJECTS } : refused(stationId, 'bad_status');
  }
  const { readings, rejects } = parseReadingsPayload(message.payload, message.nowMs, message.limits);
  const counts = countByReason(rejects);
  if (readings.length === 0) return { kind: 'refused', stationId, reason: rejects[0] ?? 'empty_batch', rejects: counts };
  return { kind: 'readings', stationId, readings, rejects: counts };
};

type Route = { kind: 'readings' | 'status'; stationId: StationId } | Extract<Decoded, { kind: 'refused' }>;

/** Which station a topic is for, and whether this publisher may speak for it. */
function route(topic: string, publisher: Publisher): Route {
  const parsed = parseStationTopic(topic);
  // An integration account publishes its own topics (gateway/sources/), never frostwatch's.
  if (publisher.kind === 'integration') return refused(null, 'forbidden_topic');
  if (publisher.kind === 'broker') {
    // The consumer subscribes to readings and status only; config is the server's own output, never input.
    if (parsed === null || parsed.kind === 'config') return refused(null, 'unknown_topic');
    if (!publisher.isKnownStation(parsed.stationId)) return refused(parsed.stationId, 'unknown_station');
    return { kind: parsed.kind, stationId: parsed.stationId };
  }
  const { stationId } = publisher;
  if (stationId === null) return refused(null, 'unknown_station');
  if (parsed === null) return refused(stationId, 'unknown_topic');
  // A station speaks for itself only, and never sets its own config (server → station).
  if (parsed.stationId !== stationId || parsed.kind === 'config') return refused(stationId, 'forbidden_topic');
  return { kind: parsed.kind, stationId };
}

export function refused(stationId: StationId | null, reason: RejectReason): Extract<Decoded, { kind: 'refused' }> {
  return { kind: 'refused', stationId, reason, rejects: new Map([[reason, 1]]) };
}

export interface AcceptDeps {
  rejects: RejectRecorder;
  /** Absent where this process stores nothing: the gateway run alone, whose server consumes from it and stores. */
  sink?: IngestSink | undefined;
  /** The decoders' memory: a message not stored is forgotten again (its dedupe id), so its redelivery counts. */
  memory?: SourceMemory | undefined;
}

/**
 * Records what was refused and hands what was accepted to the sink. Resolves null once the data is durable (or there
 * was nothing to store): the caller may acknowledge. Resolves the sink's error when storage failed: the caller must
 * not acknowledge, so the sender keeps the message and sends it again.
 */
export async function acceptDecoded(decoded: Decoded, deps: AcceptDeps): Promise<Error | null> {
  for (const [reason, count] of decoded.rejects) deps.rejects.reject(decoded.stationId, reason, count);
  try {
    if (decoded.kind === 'readings') await deps.sink?.acceptReadings(decoded.stationId, decoded.readings);
    else if (decoded.kind === 'status') await deps.sink?.acceptStatus(decoded.stationId, decoded.status);
    return null;
  } catch (err) {
    if (decoded.kind === 'readings' && decoded.dedupeKey !== undefined) deps.memory?.forget(decoded.dedupeKey);
    return asError(err);
  }
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
