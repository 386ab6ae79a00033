import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PAYLOAD_LIMITS,
  type RejectReason,
  type RejectRecorder,
  type StationId,
  configTopic,
  readingsTopic,
  statusTopic,
} from '../../contracts/index.js';
import { type Decoded, type IntakeMessage, type Publisher, acceptDecoded, decodeStationMessage } from '../../gateway/intake.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const A = 'ld-a' as StationId;
const B = 'ld-b' as StationId;
const NOW = Date.UTC(2026, 0, 15, 20, 0, 0);
const asStation: Publisher = { kind: 'station', stationId: A };
const fromBroker: Publisher = { kind: 'broker', isKnownStation: (id) => id === A };

function message(topic: string, payload: unknown, publisher: Publisher, extra: Partial<IntakeMessage> = {}): IntakeMessage {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return { topic, payload: Buffer.from(text, 'utf8'), publisher, nowMs: NOW, limits: DEFAULT_PAYLOAD_LIMITS, ...extra };
}

/** The decoded message with its counts as a plain object, for toEqual. */
function plain(decoded: Decoded): Record<string, unknown> {
  return { ...decoded, rejects: Object.fromEntries(decoded.rejects) };
}

/** The tests' RejectRecorder: every call, as made. */
function recorder(): RejectRecorder & { calls: Array<[string | null, RejectReason, number | undefined]> } {
  const calls: Array<[string | null, RejectReason, number | undefined]> = [];
  return { calls, reject: (stationId, reason, count) => calls.push([stationId, reason, count]) };
}

describe('decodeStationMessage: who may publish where', () => {
  const reading = { ts: NOW, airTempC: 1.5 };
  it.each<[string, IntakeMessage, Record<string, unknown>]>([
    [
      'a will of a client already gone',
      message(readingsTopic(A), reading, { kind: 'station', stationId: null }),
      { kind: 'refused', stationId: null, reason: 'unknown_station', rejects: { unknown_station: 1 } },
    ],
    [
      'a station on a topic that is not a station topic',
      message('weather/ld-a', reading, asStation),
      { kind: 'refused', stationId: A, reason: 'unknown_topic', rejects: { unknown_topic: 1 } },
    ],
    [
      "a station on another station's topic",
      message(readingsTopic(B), reading, asStation),
      { kind: 'refused', stationId: A, reason: 'forbidden_topic', rejects: { forbidden_topic: 1 } },
    ],
    [
      'a station setting its own config',
      message(configTopic(A), { intervalS: 10 }, asStation),
      { kind: 'refused', stationId: A, reason: 'forbidden_topic', rejects: { forbidden_topic: 1 } },
    ],
    [
      'a broker message on a config topic',
      message(configTopic(A), { intervalS: 10 }, fromBroker),
      { kind: 'refused', stationId: null, reason: 'unknown_topic', rejects: { unknown_topic: 1 } },
    ],
    [
      'a broker message for an id that is not a station id',
      message('stations/Not_An_Id/readings', reading, fromBroker),
      { kind: 'refused', stationId: null, reason: 'unknown_topic', rejects: { unknown_topic: 1 } },
    ],
    [
      'a broker message for a station the registry does not know',
      message(readingsTopic(B), reading, fromBroker),
      { kind: 'refused', stationId: B, reason: 'unknown_station', rejects: { unknown_station: 1 } },
    ],
    [
      'a station on its own readings topic',
      message(readingsTopic(A), reading, asStation),
      { kind: 'readings', stationId: A, readings: [reading], rejects: {} },
    ],
    [
      'a broker message for a known station',
      message(readingsTopic(A), reading, fromBroker),
      { kind: 'readings', stationId: A, readings: [reading], rejects: {} },
    ],
  ])('%s', (_name, input, expected) => expect(plain(decodeStationMessage(input))).toEqual(expected));
});

describe('decodeStationMessage: payloads', () => {
  it('keeps the good readings of a batch and counts each refused one by reason', () => {
    const batch = [
      { ts: NOW - 120_000, airTempC: 3.1, seq: 1 },
      { ts: NOW - 60_000, airTempC: 500, seq: 2 },
      { ts: NOW, airTempC: 'cold', seq: 3 },
      { ts: NOW, airTempC: 2.9, seq: 4 },
      { ts: NOW, airTempC: 'warm', seq: 5 },
    ];
    const decoded = decodeStationMessage(message(readingsTopic(A), batch, asStation));
    expect(decoded.kind).toBe('readings');
    expect(decoded.kind === 'readings' && decoded.readings.map((r) => r.seq)).toEqual([1, 4]);
    expect(Object.fromEntries(decoded.rejects)).toEqual({ out_of_range: 1, wrong_type: 2 });
  });

  it('refuses a batch with no good reading under its first reason, counting each reading once', () => {
    const batch = [{ ts: NOW, airTempC: 500 }, { ts: NOW, airTempC: 'x' }, { ts: NOW }, { ts: NOW, airTempC: 600 }];
    expect(plain(decodeStationMessage(message(readingsTopic(A), batch, fromBroker)))).toEqual({
      kind: 'refused',
      stationId: A,
      reason: 'out_of_range',
      rejects: { out_of_range: 2, wrong_type: 1, missing_field: 1 },
    });
  });

  it.each<[string, string, RejectReason]>([
    ['bad JSON', '{"ts": 1, "airTempC": ', 'bad_json'],
    ['an empty batch', '[]', 'empty_batch'],
    ['a number', '42', 'not_object'],
  ])('refuses %s', (_name, payload, reason) => {
    expect(plain(decodeStationMessage(message(readingsTopic(A), payload, asStation)))).toEqual({
      kind: 'refused',
      stationId: A,
      reason,
      rejects: { [reason]: 1 },
    });
  });

  it("judges timestamps by the receiver's time and sizes by the limits passed in, not by anything global", () => {
    const ahead = { ts: NOW + 3_600_000, airTempC: 1 };
    expect(decodeStationMessage(message(readingsTopic(A), ahead, asStation)).kind).toBe('refused');
    expect(decodeStationMessage(message(readingsTopic(A), ahead, asStation, { nowMs: NOW + 3_600_000 })).kind).toBe('readings');
    const small = { ...DEFAULT_PAYLOAD_LIMITS, maxBytes: 16 };
    expect(plain(decodeStationMessage(message(readingsTopic(A), { ts: NOW, airTempC: 1 }, asStation, { limits: small })))).toMatchObject({
      reason: 'too_large',
      rejects: { too_large: 1 },
    });
  });

  it('takes a valid status and refuses an invalid one as bad_status', () => {
    expect(plain(decodeStationMessage(message(statusTopic(A), { online: true, fw: '1.2.0' }, asStation)))).toEqual({
      kind: 'status',
      stationId: A,
      status: { online: true, fw: '1.2.0' },
      rejects: {},
    });
    expect(plain(decodeStationMessage(message(statusTopic(A), { online: 'yes' }, fromBroker)))).toEqual({
      kind: 'refused',
      stationId: A,
      reason: 'bad_status',
      rejects: { bad_status: 1 },
    });
  });
});

describe('acceptDecoded', () => {
  const mixed = [
    { ts: NOW - 60_000, airTempC: 0.4, seq: 1 },
    { ts: NOW, airTempC: 'cold', seq: 2 },
    { ts: NOW, airTempC: 'colder', seq: 3 },
  ];

  it('records the refused readings with their station and stores the rest', async () => {
    const sink = new RecordingSink();
    const rejects = recorder();
    expect(await acceptDecoded(decodeStationMessage(message(readingsTopic(A), mixed, asStation)), { sink, rejects })).toBeNull();
    expect(rejects.calls).toEqual([[A, 'wrong_type', 2]]);
    expect(sink.readingsOf(A).map((r) => r.seq)).toEqual([1]);
  });

  it('records a refusal once and stores nothing', async () => {
    const sink = new RecordingSink();
    const rejects = recorder();
    expect(await acceptDecoded(decodeStationMessage(message(readingsTopic(B), mixed, asStation)), { sink, rejects })).toBeNull();
    expect(await acceptDecoded(decodeStationMessage(message(statusTopic(A), '{', fromBroker)), { sink, rejects })).toBeNull();
    expect(rejects.calls).toEqual([
      [A, 'forbidden_topic', 1],
      [A, 'bad_status', 1],
    ]);
    expect(sink.readings).toEqual([]);
    expect(sink.statuses).toEqual([]);
  });

  it('resolves only once the sink has the data durable', async () => {
    const sink = new RecordingSink();
    sink.hold();
    let settled = false;
    const accepted = acceptDecoded(decodeStationMessage(message(statusTopic(A), { online: true }, asStation)), {
      sink,
      rejects: recorder(),
    }).then((error) => {
      settled = true;
      return error;
    });
    await sink.waitFor('the status to be held', () => sink.heldCount === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    sink.release();
    expect(await accepted).toBeNull();
    expect(sink.statuses).toEqual([{ stationId: A, status: { online: true } }]);
  });

  it("resolves the sink's error when storage fails, after recording the refused readings", async () => {
    const sink = new RecordingSink();
    sink.fail(new Error('disk gone'));
    const rejects = recorder();
    const error = await acceptDecoded(decodeStationMessage(message(readingsTopic(A), mixed, fromBroker)), { sink, rejects });
    expect(error?.message).toBe('disk gone');
    expect(rejects.calls).toEqual([[A, 'wrong_type', 2]]);
  });

  it('forgets the uplink id it had marked when storage fails, so the redelivery is stored; keeps it when stored', async () => {
    const memory = new SourceMemory();
    const decoded = decodeStationMessage(message(readingsTopic(A), mixed, asStation));
    if (decoded.kind !== 'readings') throw new Error('expected readings');
    const failing = new RecordingSink();
    failing.fail(new Error('disk gone'));
    expect(memory.seen('chirpstack:dedup-1')).toBe(false);
    await acceptDecoded({ ...decoded, dedupeKey: 'chirpstack:dedup-1' }, { sink: failing, rejects: recorder(), memory });
    expect(memory.seen('chirpstack:dedup-1')).toBe(false); // forgotten: the redelivered uplink counts again
    await acceptDecoded({ ...decoded, dedupeKey: 'chirpstack:dedup-1' }, { sink: new RecordingSink(), rejects: recorder(), memory });
    expect(memory.seen('chirpstack:dedup-1')).toBe(true);
  });

  it('without a sink (the gateway run alone) stores nothing and still counts', async () => {
    const rejects = recorder();
    expect(await acceptDecoded(decodeStationMessage(message(readingsTopic(A), mixed, asStation)), { rejects })).toBeNull();
    expect(rejects.calls).toEqual([[A, 'wrong_type', 2]]);
  });
});
