import { createHash } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type Consumer,
  type JetStreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { type Clock, systemClock } from '../../contracts/clock.js';
import { type StationId, StationIdSchema } from '../../contracts/ids.js';
import type { IngestSink } from '../../contracts/ingest.js';
import { type Reading, ReadingSchema } from '../../contracts/reading.js';
import { type StationStatus, StationStatusSchema } from '../../contracts/station-messages.js';
import { JetStreamSetupRefused, untilJetStreamAnswers } from './nats-connection.js';
import { PARTITION_PREFIX, parsePartitionSubject, partitionFilter, readingsSubject, statusSubject } from './subjects.js';

export { connectReadingsLog, natsServers } from './nats-connection.js';
export {
  natsPartitionMapping,
  partitionFilter,
  parsePartitionSubject,
  readingsSubject,
  statusSubject,
  PARTITION_PREFIX,
  READINGS_IN_PREFIX,
  STATUS_IN_PREFIX,
} from './subjects.js';

/**
 * The durable, replicated readings log of a province cluster (issue 18) on NATS JetStream:
 * gateways append what stations sent (`JetStreamReadingsSink`), workers read one partition each (`PartitionConsumer`).
 * Subjects and the partition mapping: ./subjects.ts. Envelope: `encodeReadings` / `encodeStatus` below.
 */
export const READINGS_STREAM = 'FROSTWATCH_READINGS';

const DAY_MS = 86_400_000;

export interface ReadingsStreamOptions {
  /** P of the servers' subject mapping; recorded in the stream's description, and checked against it. */
  partitions: number;
  /** Copies on as many servers; 3 (the default) survives the loss of one. */
  replicas?: number;
  /** Messages older than this are dropped, consumed or not. Default 7 days: a worker may be down a week. */
  maxAgeMs?: number;
  /**
   * A publish with a `Nats-Msg-Id` seen within this window is acknowledged and not stored again: the gateway's resend
   * after a lost PubAck, or a station's resend after a lost PUBACK. Default 10 minutes. A resend later than that is
   * stored twice, which the readers tolerate (a reading is keyed by station + timestamp downstream).
   */
  duplicateWindowMs?: number;
  /** Bound on the stream's bytes (-1, the default: none besides the servers' max_file_store). */
  maxBytes?: number;
  /**
   * false: an existing stream is only checked (its P), not changed — for gateways, so that processes configured with
   * other replicas or ages do not take turns rewriting the stream. Default true.
   */
  updateExisting?: boolean;
  /**
   * Given: unanswered requests are asked again for up to a minute, each logged (`untilJetStreamAnswers`) — what a
   * gateway or worker starting beside others wants. Without: one try.
   */
  logger?: Logger;
}

/** The description that carries P: a worker or gateway configured with another P refuses to use the stream. */
export const streamDescription = (partitions: number): string => `frostwatch readings log; partitions=${partitions}`;

export function partitionsOf(info: StreamInfo): number | null {
  const match = /partitions=(\d+)/.exec(info.config.description ?? '');
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * Creates `FROSTWATCH_READINGS` or brings an existing one to these settings (replicas, max age, duplicate window can
 * change in place). Throws when the stream was made for another number of partitions: changing P moves stations
 * between partitions, so it takes draining the stream, not a setting.
 */
export async function ensureReadingsStream(nc: NatsConnection, opts: ReadingsStreamOptions): Promise<StreamInfo> {
  if (opts.logger === undefined) return ensureOnce(nc, opts);
  return untilJetStreamAnswers('the readings stream', () => ensureOnce(nc, opts), { logger: opts.logger });
}

async function ensureOnce(nc: NatsConnection, opts: ReadingsStreamOptions): Promise<StreamInfo> {
  const jsm = await jetstreamManager(nc);
  const config = {
    name: READINGS_STREAM,
    description: streamDescription(opts.partitions),
    subjects: [`${PARTITION_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: opts.replicas ?? 3,
    max_age: nanos(opts.maxAgeMs ?? 7 * DAY_MS),
    duplicate_window: nanos(opts.duplicateWindowMs ?? 10 * 60_000),
    max_bytes: opts.maxBytes ?? -1,
    discard: DiscardPolicy.Old,
  } satisfies Partial<StreamConfig>;
  const existing = await streamInfo(jsm);
  if (existing === null) return jsm.streams.add(config);
  const had = partitionsOf(existing);
  if (had !== opts.partitions) {
    throw new JetStreamSetupRefused(
      `stream ${READINGS_STREAM} was made for ${had ?? 'an unknown number of'} partitions, not ${opts.partitions}`,
    );
  }
  if (opts.updateExisting === false) return existing;
  const current = existing.config;
  if (
    current.num_replicas === config.num_replicas &&
    current.max_age === config.max_age &&
    current.duplicate_window === config.duplicate_window &&
    current.max_bytes === config.max_bytes
  ) {
    return existing;
  }
  return jsm.streams.update(READINGS_STREAM, config);
}

async function streamInfo(jsm: JetStreamManager): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(READINGS_STREAM);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The envelope. Version 1, JSON, short keys (a message a reading, most of the time):
//   readings on fw.readings.in.<id>:  {"v":1,"s":"<stationId>","r":[<Reading>, …]}   Reading as contracts/reading.ts,
//                                      ts in epoch ms, oldest first, as the intake accepted them
//   status on fw.status.in.<id>:      {"v":1,"s":"<stationId>","st":<StationStatus>,"at":<received, epoch ms>}
// A reader that meets a higher `v` leaves the message for a newer reader (nak with a delay), never drops it.

export const ENVELOPE_VERSION = 1;

const ReadingRecordSchema = ReadingSchema.extend({ ts: z.number().int() });
const ReadingsEnvelopeSchema = z.object({ v: z.literal(1), s: StationIdSchema, r: z.array(ReadingRecordSchema).min(1) });
const StatusEnvelopeSchema = z.object({ v: z.literal(1), s: StationIdSchema, st: StationStatusSchema, at: z.number().int() });

export function encodeReadings(stationId: StationId, readings: readonly Reading[]): Uint8Array {
  return Buffer.from(JSON.stringify({ v: ENVELOPE_VERSION, s: stationId, r: readings }));
}

export function encodeStatus(stationId: StationId, status: StationStatus, receivedAtMs: number): Uint8Array {
  return Buffer.from(JSON.stringify({ v: ENVELOPE_VERSION, s: stationId, st: status, at: receivedAtMs }));
}

/**
 * The `Nats-Msg-Id` of a batch: `<stationId>:<ts>` for one reading (the live case); for several,
 * `<stationId>:<first ts>-<last ts>:<count>:<hash of every ts>` — two batches that share their first reading but not
 * the rest (a live reading, then the backfill that starts with it) must not be taken for one another. Equal ids mean
 * the same station and timestamps, i.e. the same readings.
 */
export function readingsMsgId(stationId: StationId, readings: readonly Reading[]): string {
  const first = readings[0];
  const last = readings[readings.length - 1];
  if (first === undefined || last === undefined) throw new Error('readingsMsgId: no readings');
  if (readings.length === 1) return `${stationId}:${first.ts}`;
  const hash = createHash('sha256');
  for (const r of readings) hash.update(`${r.ts},`);
  return `${stationId}:${first.ts}-${last.ts}:${readings.length}:${hash.digest('hex').slice(0, 16)}`;
}

export type DecodedEntry =
  | { kind: 'readings'; stationId: StationId; readings: Reading[] }
  | { kind: 'status'; stationId: StationId; status: StationStatus; receivedAtMs: number }
  | { kind: 'invalid'; reason: string }
  | { kind: 'newer'; version: number };

/** A stored message as the reader sees it: checked against its subject and the schemas of `contracts/`. */
export function decodeEntry(subject: string, data: Uint8Array): DecodedEntry {
  const where = parsePartitionSubject(subject);
  if (where === null) return { kind: 'invalid', reason: `not a partition subject: ${subject}` };
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  const version = typeof body === 'object' && body !== null && 'v' in body ? body.v : undefined;
  if (typeof version === 'number' && version > ENVELOPE_VERSION) return { kind: 'newer', version };
  if (where.kind === 'readings') {
    const parsed = ReadingsEnvelopeSchema.safeParse(body);
    if (!parsed.success) return { kind: 'invalid', reason: `readings envelope: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    if (parsed.data.s !== where.stationId) return { kind: 'invalid', reason: `station ${parsed.data.s} on ${subject}` };
    return { kind: 'readings', stationId: parsed.data.s, readings: parsed.data.r };
  }
  const parsed = StatusEnvelopeSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', reason: `status envelope: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  if (parsed.data.s !== where.stationId) return { kind: 'invalid', reason: `station ${parsed.data.s} on ${subject}` };
  return { kind: 'status', stationId: parsed.data.s, status: parsed.data.st, receivedAtMs: parsed.data.at };
}

// ---------------------------------------------------------------------------------------------------------------------
// The gateway's side.

export interface JetStreamSinkOptions {
  /** How long a publish waits for its PubAck before the sink rejects (and the gateway does not PUBACK). Default 5 s. */
  timeoutMs?: number;
  /** Stamps a status with its arrival, as the spool does. */
  clock?: Clock;
}

/**
 * An `IngestSink` that appends to the readings log: `acceptReadings` resolves only once JetStream has acknowledged
 * the message, i.e. a quorum of the stream's replicas holds it; a timeout, no responders (no stream, no quorum), or an
 * ack from any other stream rejects, so the gateway does not PUBACK and the station sends again. The resend carries
 * the same `Nats-Msg-Id`, so a message stored before its ack was lost is stored once.
 *
 * A status goes into the same stream and partition as the station's readings (`fw.status.in.<id>`, mapped to
 * `fw.readings.part.<p>.<id>.status`), so a worker sees both in the order they arrived. It has no message id: a resent
 * status is a new arrival.
 */
export class JetStreamReadingsSink implements IngestSink {
  private readonly js: JetStreamClient;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(nc: NatsConnection, opts: JetStreamSinkOptions = {}) {
    this.js = jetstream(nc, { timeout: opts.timeoutMs ?? 5_000 });
    this.timeoutMs = opts.timeoutMs ?? 5_000;
    this.clock = opts.clock ?? systemClock;
  }

  async acceptReadings(stationId: StationId, readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.js.publish(readingsSubject(stationId), encodeReadings(stationId, readings), {
      msgID: readingsMsgId(stationId, readings),
      expect: { streamName: READINGS_STREAM },
      timeout: this.timeoutMs,
    });
  }

  async acceptStatus(stationId: StationId, status: StationStatus): Promise<void> {
    const receivedAtMs = Math.round(this.clock.now());
    await this.js.publish(statusSubject(stationId), encodeStatus(stationId, status, receivedAtMs), {
      expect: { streamName: READINGS_STREAM },
      timeout: this.timeoutMs,
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The worker's side.

interface EntryControl {
  /** The stream sequence: one per stored message, so the same number twice is a redelivery. */
  readonly seq: number;
  /** 1 on first delivery; more when an ack did not arrive within the ack wait, or after a nak. */
  readonly deliveryCount: number;
  /** Acknowledges and waits for the server to confirm; rejects when it did not (the entry comes again). */
  ack(): Promise<void>;
  /** Asks for it again, after `delayMs` (at once by default). */
  nak(delayMs?: number): void;
  /** Still being handled: the ack wait starts again (no redelivery of an entry a slow batch holds). */
  working(): void;
  readonly settled: boolean;
}

export type LogEntry = EntryControl &
  (
    | { readonly kind: 'readings'; readonly stationId: StationId; readonly readings: Reading[] }
    | { readonly kind: 'status'; readonly stationId: StationId; readonly status: StationStatus; readonly receivedAtMs: number }
  );

export interface PartitionConsumerOptions {
  partition: number;
  /** A delivered entry not acked in this time is delivered again. Default 30 s. */
  ackWaitMs?: number;
  /** Entries delivered and not yet acked, at most; the server holds the rest back. Default 1,000. */
  maxAckPending?: number;
  /** How long ack() waits for the server's confirmation. Default 5 s. */
  ackTimeoutMs?: number;
  /**
   * Told of a stored message this reader cannot read: `invalid` ones are terminated (never delivered again), ones of a
   * newer envelope version are left for a newer reader (nak after a minute).
   */
  onUnreadable?: (problem: { seq: number; subject: string; reason: string }) => void;
}

export interface FetchOptions {
  /** Most entries in one batch. Default 500. */
  max?: number;
  /** How long one pull request waits (least 1 s; the client refuses less). fetch: default 1 s; consume: default 5 s. */
  expiresMs?: number;
}

export const consumerName = (partition: number): string => `part-${partition}`;

/**
 * Partition p's durable pull consumer, `part-<p>`: filter `fw.readings.part.<p>.>`, explicit acks, a bounded number
 * pending, and `max_deliver` unlimited — an entry is never given up on, only acked. Replicated as the stream is.
 * It does not make its reader the only one: that is the partition lease's job.
 */
export class PartitionConsumer {
  readonly partition: number;
  readonly name: string;
  /** The consumer's ack wait, as this reader configured it. */
  readonly ackWaitMs: number;
  private readonly ackTimeoutMs: number;
  private readonly onUnreadable: NonNullable<PartitionConsumerOptions['onUnreadable']>;
  private consumer: Consumer | null = null;

  private constructor(
    private readonly js: JetStreamClient,
    opts: PartitionConsumerOptions,
  ) {
    this.partition = opts.partition;
    this.name = consumerName(opts.partition);
    this.ackWaitMs = opts.ackWaitMs ?? 30_000;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.onUnreadable = opts.onUnreadable ?? (() => undefined);
  }

  /** Creates the durable consumer, or updates its ack wait and pending bound, and returns a reader of it. */
  static async open(nc: NatsConnection, opts: PartitionConsumerOptions): Promise<PartitionConsumer> {
    if (!Number.isInteger(opts.partition) || opts.partition < 0) throw new Error(`bad partition ${opts.partition}`);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(READINGS_STREAM);
    const partitions = partitionsOf(info);
    if (partitions !== null && opts.partition >= partitions) throw new Error(`partition ${opts.partition} of ${partitions}`);
    const config = {
      durable_name: consumerName(opts.partition),
      filter_subject: partitionFilter(opts.partition),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs ?? 30_000),
      max_ack_pending: opts.maxAckPending ?? 1_000,
      max_deliver: -1,
    };
    try {
      const existing = await jsm.consumers.info(READINGS_STREAM, config.durable_name);
      if (existing.config.ack_wait !== config.ack_wait || existing.config.max_ack_pending !== config.max_ack_pending) {
        await jsm.consumers.update(READINGS_STREAM, config.durable_name, {
          ack_wait: config.ack_wait,
          max_ack_pending: config.max_ack_pending,
        });
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(READINGS_STREAM, config);
    }
    return new PartitionConsumer(jetstream(nc), opts);
  }

  /**
   * One batch: up to `max` entries in stream order, waiting up to `expiresMs` for the first. The caller stores and
   * evaluates them, then acks each (or naks what failed). Unreadable messages are settled here and left out.
   */
  async fetch(opts: FetchOptions = {}): Promise<LogEntry[]> {
    // The handle names stream and consumer only; it stays valid when the consumer's leader moves.
    this.consumer ??= await this.js.consumers.get(READINGS_STREAM, this.name);
    const consumer = this.consumer;
    const messages = await consumer.fetch({ max_messages: opts.max ?? 500, expires: Math.max(1_000, opts.expiresMs ?? 1_000) });
    const entries: LogEntry[] = [];
    try {
      for await (const m of messages) {
        const entry = this.toEntry(m);
        if (entry) entries.push(entry);
      }
    } catch (err) {
      // The fetch broke off (heartbeats missed, a server lost). What it had delivered is handed on: its acks are
      // confirmed by the server (ackAck), so an entry whose ack fails comes again, as any other. Nak'ing them here
      // turned a worker whose event loop was held by a batch (synchronous PostgreSQL calls, seconds with 500 distinct
      // stations a batch) into a livelock: the other partitions' fetches missed their heartbeats, gave back what they
      // had, and took it again (BENCHMARKS.md, "Sizing a province cluster").
      if (entries.length > 0) return entries;
      throw err;
    }
    return entries;
  }

  /**
   * Reads the partition until stopped and hands what has arrived to `handle`, batch by batch: a batch is what is there
   * once the first entry is, up to `max`, gathered for at most `lingerMs` more. JetStream's `consume` keeps pull
   * requests open (with heartbeats, and pulls again when they are missed), so an entry is handed on as it arrives —
   * a fetch of 500 waits up to its expiry (1 s at least) when fewer come, and a reading then waits that long for its
   * decision. What `handle` neither acked nor nak'ed — because it threw, or forgot — is nak'ed, so it comes again at
   * once rather than after the ack wait; so is what had arrived when the reader stops (the partition moves on). Errors
   * (a server lost, the consumer's leader being elected) go to `onError`, and reading starts again after a pause.
   */
  consume(
    handle: (batch: LogEntry[]) => Promise<void>,
    opts: FetchOptions & { onError?: (err: unknown) => void; retryMs?: number; lingerMs?: number } = {},
  ): { stop(): Promise<void> } {
    const stopped = new AbortController();
    // A function, not the property: it changes while this awaits, which narrowing would not see.
    const isStopped = (): boolean => stopped.signal.aborted;
    const max = opts.max ?? 500;
    const lingerMs = opts.lingerMs ?? 10;
    // The open `consume` (read from callbacks and the loop alike, so an object, not a narrowed local).
    const reading: { messages: { stop(): void } | null } = { messages: null };
    const pause = (ms: number): Promise<null> => new Promise((resolve) => setTimeout(() => resolve(null), ms));
    const settleRest = (batch: LogEntry[]): void => {
      for (const entry of batch) if (!entry.settled) entry.nak();
    };
    const readOnce = async (): Promise<void> => {
      this.consumer ??= await this.js.consumers.get(READINGS_STREAM, this.name);
      // A pull left open at a server that died is noticed by two missed heartbeats (half the expiry each), so the
      // expiry bounds how long a partition sits still after a NATS node dies: 5 s here, not the client's 30 s (the
      // readings-log test drained its 10,000 readings 54 s after the kill with 30 s, 1–3 s with 1 s).
      const messages = await this.consumer.consume({ max_messages: max, expires: Math.max(1_000, opts.expiresMs ?? 5_000) });
      reading.messages = messages;
      if (isStopped()) messages.stop();
      const it = messages[Symbol.asyncIterator]();
      let next = it.next();
      for (;;) {
        const first = await next;
        if (first.done === true) return;
        next = it.next();
        const batch: LogEntry[] = [];
        const firstEntry = this.toEntry(first.value);
        if (firstEntry) batch.push(firstEntry);
        let ended = false;
        while (batch.length < max) {
          const more = await Promise.race([next, pause(lingerMs)]);
          if (more === null) break;
          if (more.done === true) {
            ended = true;
            break;
          }
          next = it.next();
          const entry = this.toEntry(more.value);
          if (entry) batch.push(entry);
        }
        // A batch that takes longer than half the ack wait (a slow database) says it is still at work, so a short ack
        // wait — what bounds the wait for a dead reader's deliveries — never redelivers what is being handled.
        const keepAlive = setInterval(() => {
          for (const entry of batch) entry.working();
        }, this.ackWaitMs / 2);
        try {
          // Stopping: what arrived goes back at once, for the partition's next reader.
          if (!isStopped() && batch.length > 0) await handle(batch);
        } finally {
          clearInterval(keepAlive);
          settleRest(batch);
        }
        if (ended) return;
      }
    };
    const loop = (async () => {
      while (!isStopped()) {
        try {
          await readOnce();
        } catch (err) {
          if (isStopped()) break;
          opts.onError?.(err);
        } finally {
          reading.messages?.stop();
          reading.messages = null;
        }
        if (!isStopped()) await pause(opts.retryMs ?? 250);
      }
    })();
    return {
      stop: async () => {
        stopped.abort();
        reading.messages?.stop();
        await loop;
      },
    };
  }

  private toEntry(m: JsMsg): LogEntry | null {
    const decoded = decodeEntry(m.subject, m.data);
    if (decoded.kind === 'invalid') {
      m.term(decoded.reason);
      this.onUnreadable({ seq: m.seq, subject: m.subject, reason: decoded.reason });
      return null;
    }
    if (decoded.kind === 'newer') {
      m.nak(60_000);
      this.onUnreadable({ seq: m.seq, subject: m.subject, reason: `envelope version ${decoded.version}, newer than ${ENVELOPE_VERSION}` });
      return null;
    }
    let settled = false;
    const timeout = this.ackTimeoutMs;
    const control: EntryControl = {
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      get settled() {
        return settled;
      },
      async ack() {
        if (settled) return;
        settled = true;
        if (!(await m.ackAck({ timeout }))) throw new Error(`ack of ${m.seq} not sent`);
      },
      nak(delayMs?: number) {
        if (settled) return;
        settled = true;
        m.nak(delayMs);
      },
      working() {
        if (!settled) m.working();
      },
    };
    return Object.assign(control, decoded);
  }
}

/**
 * The partition nats-server's `partition(P, 1)` gives a station: FNV-1a (32-bit) of the id's bytes, modulo P. For
 * operators and tests (which partition, so which worker, has this station); the servers decide, this only predicts.
 */
export function stationPartition(stationId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(stationId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
