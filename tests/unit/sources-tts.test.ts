import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type DeviceDirectory,
  type DevicePreset,
  type StationDeviceInfo,
  type StationId,
  DEFAULT_PAYLOAD_LIMITS,
} from '../../contracts/index.js';
import type { Decoded } from '../../gateway/intake.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { decodeTtsUplink, summarizeTtsUplink } from '../../gateway/sources/tts.js';
import { parseStorageBody } from '../../server/sources/tts-storage.js';

const DIR = 'tests/fixtures/devices/tts';

interface Fixture {
  topic: string | null;
  payload: unknown;
}

const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Fixture;

/** Stations registered with source ttn, by DevEUI (lower case, as the registry keeps it). */
function directory(entries: Record<string, DevicePreset | null>): DeviceDirectory {
  const infos = new Map<string, StationDeviceInfo>(
    Object.entries(entries).map(([devEui, preset]) => [
      devEui,
      { stationId: `tts-${devEui.slice(-4)}` as StationId, source: 'ttn', deviceId: devEui, preset, fieldMap: null },
    ]),
  );
  return {
    ofStation: () => null,
    stationOf: (source, deviceId) => (source === 'ttn' ? (infos.get(deviceId) ?? null) : null),
  };
}

const DEVICES = directory({
  '0004a30b001c0530': null,
  a84041000181c5b1: 'dragino-lht65',
  '4200000000000000': null,
  '1111111111111111': null,
});

function decode(payload: unknown, nowMs: number, memory = new SourceMemory(), devices = DEVICES): Decoded {
  const bytes = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  return decodeTtsUplink({
    topic: '',
    payload: bytes,
    publisher: { kind: 'broker', isKnownStation: () => false },
    nowMs,
    limits: DEFAULT_PAYLOAD_LIMITS,
    devices,
    memory,
  });
}

const at = (iso: string): number => Date.parse(iso);
const clone = <T>(value: T): T => structuredClone(value);

describe('decodeTtsUplink over the TTS fixtures', () => {
  it('covers every fixture of tests/fixtures/devices/tts', () => {
    const covered = new Set([
      'up-data-formats-docs-example.json',
      'up-dragino-lht65-frost-derived.json',
      'up-mqtt-docs-example.json',
      'up-normalized-payload-derived.json',
      'edge-up-decoder-error-derived.json',
      'edge-up-simulated-derived.json',
      'down-ack-docs-example.json',
      'down-push-docs-example.json',
      'down-push-confirmed-docs-example.json',
      'storage-uplink-message-ndjson-docs.json',
      'storage-uplink-message-event-stream-docs.json',
      'edge-storage-truncated-stream-derived.json',
      'storage-field-mask-docs.json',
      'storage-cli-simulated-docs.json',
    ]);
    expect(
      readdirSync(DIR)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual([...covered].sort());
  });

  it('data-formats example: generic temperature, the gateway time, the RSSI', () => {
    const decoded = decode(fixture('up-data-formats-docs-example.json').payload, at('2020-02-12T15:16:00Z'));
    expect(decoded).toMatchObject({
      kind: 'readings',
      stationId: 'tts-0530',
      readings: [{ airTempC: 1, rssiDbm: -35, seq: 1, ts: at('2020-02-12T15:15:45.787Z') }],
    });
  });

  it('Dragino LHT65 frost uplink: the preset reads air, humidity, probe and battery', () => {
    const decoded = decode(fixture('up-dragino-lht65-frost-derived.json').payload, at('2020-02-12T15:16:00Z'));
    expect(decoded).toMatchObject({
      kind: 'readings',
      stationId: 'tts-c5b1',
      readings: [{ airTempC: -2.5, rhPct: 88.6, leafTempC: -3.14, batteryV: 3.062, rssiDbm: -35, ts: at('2020-02-12T15:15:45.787Z') }],
    });
  });

  it('the MQTT docs example has no decoded payload (no formatter): refused no_decoded_payload', () => {
    const decoded = decode(fixture('up-mqtt-docs-example.json').payload, at('2019-01-29T13:03:00Z'));
    expect(decoded).toMatchObject({ kind: 'refused', stationId: 'tts-0000', reason: 'no_decoded_payload' });
    expect([...decoded.rejects]).toEqual([['no_decoded_payload', 1]]);
  });

  it('a formatter error drops decoded_payload: refused no_decoded_payload, not a crash', () => {
    const decoded = decode(fixture('edge-up-decoder-error-derived.json').payload, at('2020-02-12T15:16:00Z'));
    expect(decoded).toMatchObject({ kind: 'refused', stationId: 'tts-0530', reason: 'no_decoded_payload' });
  });

  it('normalized payload: read when the decoded payload has nothing usable', () => {
    const payload = fixture('up-normalized-payload-derived.json').payload as { uplink_message: Record<string, unknown> };
    expect(decode(payload, at('2020-02-12T15:16:00Z'))).toMatchObject({ kind: 'readings', readings: [{ airTempC: -21.3 }] });
    const normalizedOnly = clone(payload);
    delete normalizedOnly.uplink_message['decoded_payload'];
    normalizedOnly.uplink_message['normalized_payload'] = [
      { air: { temperature: -1.5, relativeHumidity: 97 }, wind: { speed: 0.4 }, battery: 3.6 },
      { air: { temperature: 9 } },
    ];
    const decoded = decode(normalizedOnly, at('2020-02-12T15:16:00Z'));
    expect(decoded).toMatchObject({ kind: 'readings', readings: [{ airTempC: -1.5, rhPct: 97, windMs: 0.4, batteryV: 3.6 }] });
    // The decoded payload's battery in millivolts is not read as volts (generic names only).
    expect(decode(payload, at('2020-02-12T15:16:00Z'))).not.toMatchObject({ readings: [{ batteryV: 3250 }] });
  });

  it('a Console-simulated uplink is ignored', () => {
    expect(decode(fixture('edge-up-simulated-derived.json').payload, at('2020-02-12T15:16:00Z'))).toMatchObject({
      kind: 'ignored',
      why: 'simulated uplink',
    });
    for (const uplink of fixture('storage-cli-simulated-docs.json').payload as unknown[])
      expect(decode(uplink, at('2021-02-04T20:00:00Z')).kind).toBe('ignored');
  });

  it('downlink messages are not uplinks: ignored', () => {
    for (const name of ['down-ack-docs-example.json', 'down-push-docs-example.json', 'down-push-confirmed-docs-example.json'])
      expect(decode(fixture(name).payload, at('2020-02-12T15:16:00Z'))).toMatchObject({ kind: 'ignored', why: 'not an uplink' });
  });

  it('storage answers, NDJSON and event-stream, give the same results; stored uplinks decode like live ones', () => {
    const ndjson = parseStorageBody(fixture('storage-uplink-message-ndjson-docs.json').payload as string);
    const stream = parseStorageBody(fixture('storage-uplink-message-event-stream-docs.json').payload as string);
    expect(ndjson.cutShort).toBeNull();
    expect(stream.cutShort).toBeNull();
    expect(ndjson.results).toHaveLength(2);
    expect(stream.results).toEqual(ndjson.results);
    expect(ndjson.results.map((r) => summarizeTtsUplink(r))).toEqual([
      { devEui: '1111111111111111', deviceId: 'dev1', receivedAtMs: at('2020-08-24T10:08:44.868Z') },
      { devEui: '1111111111111111', deviceId: 'dev1', receivedAtMs: at('2020-08-24T10:08:49.144Z') },
    ]);
    // No decoded payload stored (no formatter): refused by reason, each one; no correlation ids, still two distinct uplinks.
    const memory = new SourceMemory();
    for (const result of ndjson.results)
      expect(decode(result, at('2020-08-24T10:10:00Z'), memory)).toMatchObject({ kind: 'refused', reason: 'no_decoded_payload' });
    const withTemp = ndjson.results.map((r) => {
      const copy = clone(r) as { uplink_message: Record<string, unknown> };
      copy.uplink_message['decoded_payload'] = { temperature: 2 };
      return copy;
    });
    const fresh = new SourceMemory();
    expect(withTemp.map((r) => decode(r, at('2020-08-24T10:10:00Z'), fresh).kind)).toEqual(['readings', 'readings']);
    expect(withTemp.map((r) => decode(r, at('2020-08-24T10:10:00Z'), fresh).kind)).toEqual(['ignored', 'ignored']);
  });

  it('a storage answer cut mid-object: the complete results are kept, the rest is reported', () => {
    const page = parseStorageBody(fixture('edge-storage-truncated-stream-derived.json').payload as string);
    expect(page.results).toHaveLength(1);
    expect(page.cutShort).toMatch(/cut short/);
    const ndjsonCut = (fixture('storage-uplink-message-ndjson-docs.json').payload as string).slice(0, -40);
    const cut = parseStorageBody(ndjsonCut);
    expect(cut.results).toHaveLength(1);
    expect(cut.cutShort).toMatch(/cut short/);
    expect(parseStorageBody('{"result":{"a":1}}\n{"error":{"code":14,"message":"unavailable"}}\n')).toEqual({
      results: [{ a: 1 }],
      cutShort: 'storage stream error: unavailable',
    });
  });

  it('a field-masked storage result has no DevEUI: refused as an unknown station', () => {
    const { result } = fixture('storage-field-mask-docs.json').payload as { result: unknown };
    expect(decode(result, at('2021-02-04T20:00:00Z'))).toMatchObject({ kind: 'refused', stationId: null, reason: 'unknown_station' });
  });
});

describe('decodeTtsUplink rules', () => {
  const base = fixture('up-data-formats-docs-example.json').payload as {
    correlation_ids: string[];
    end_device_ids: Record<string, unknown>;
    uplink_message: Record<string, unknown> & { rx_metadata: Array<Record<string, unknown>> };
    received_at?: string;
  };
  const now = at('2020-02-12T15:16:00Z');

  it('an unknown DevEUI is refused unknown_station; the DevEUI is matched in lower case', () => {
    const other = clone(base);
    other.end_device_ids['dev_eui'] = 'FFFFFFFFFFFFFFFF';
    expect(decode(other, now)).toMatchObject({ kind: 'refused', stationId: null, reason: 'unknown_station' });
    expect([...decode(other, now).rejects]).toEqual([['unknown_station', 1]]);
    expect(decode(base, now).kind).toBe('readings'); // sent as 0004A30B001C0530
  });

  it('bad JSON is refused bad_json; a JSON non-object not_object', () => {
    expect(decode('{"end_device_ids":', now)).toMatchObject({ kind: 'refused', reason: 'bad_json' });
    expect(decode('[1,2]', now)).toMatchObject({ kind: 'refused', reason: 'not_object' });
  });

  it('the same uplink twice (correlation ids in any order) is stored once', () => {
    const memory = new SourceMemory();
    expect(decode(base, now, memory).kind).toBe('readings');
    const again = clone(base);
    again.correlation_ids.reverse();
    expect(decode(again, now, memory)).toMatchObject({ kind: 'ignored', why: 'duplicate uplink' });
    const next = clone(base);
    next.correlation_ids = ['as:up:01NEXT'];
    expect(decode(next, now, memory).kind).toBe('readings');
  });

  it('time: the earliest real gateway time, zero times skipped; then the NS time; then the AS time', () => {
    const several = clone(base);
    several.uplink_message.rx_metadata = [
      { gateway_ids: { gateway_id: 'a' }, time: '0001-01-01T00:00:00Z', rssi: -120 },
      { gateway_ids: { gateway_id: 'b' }, time: '2020-02-12T15:15:45.900Z', rssi: -60, channel_rssi: -61 },
      { gateway_ids: { gateway_id: 'c' }, time: '2020-02-12T15:15:45.800Z', channel_rssi: -90 },
    ];
    expect(decode(several, now)).toMatchObject({ readings: [{ ts: at('2020-02-12T15:15:45.800Z'), rssiDbm: -60 }] });

    const noGatewayTime = clone(base);
    noGatewayTime.uplink_message.rx_metadata = [{ gateway_ids: { gateway_id: 'a' }, rssi: -80 }];
    expect(decode(noGatewayTime, now)).toMatchObject({ readings: [{ ts: at('2020-02-12T15:15:45.789Z'), rssiDbm: -80 }] });

    const asOnly = clone(noGatewayTime);
    delete asOnly.uplink_message['received_at'];
    expect(decode(asOnly, now)).toMatchObject({ readings: [{ ts: at('2020-02-12T15:15:46.014Z') }] });

    const none = clone(asOnly);
    delete none.received_at;
    expect(decode(none, now)).toMatchObject({ kind: 'refused', reason: 'bad_timestamp' });
  });

  it('the receiver clock window applies as to native readings', () => {
    expect(decode(base, at('2020-04-01T00:00:00Z'))).toMatchObject({ kind: 'refused', reason: 'clock_past' });
    expect(decode(base, at('2020-02-12T15:00:00Z'))).toMatchObject({ kind: 'refused', reason: 'clock_future' });
  });

  it('a decoded payload without an air temperature is refused missing_field', () => {
    const other = clone(base);
    other.uplink_message['decoded_payload'] = { luminosity: 0.64 };
    expect(decode(other, now)).toMatchObject({ kind: 'refused', reason: 'missing_field' });
  });

  it('a station field map reads its own decoded names', () => {
    const devices: DeviceDirectory = {
      ofStation: () => null,
      stationOf: () => ({
        stationId: 'tts-map' as StationId,
        source: 'ttn',
        deviceId: '0004a30b001c0530',
        preset: null,
        fieldMap: { luminosity: 'rhPct' },
      }),
    };
    expect(decode(base, now, new SourceMemory(), devices)).toMatchObject({ readings: [{ airTempC: 1, rhPct: 0.64 }] });
  });
});
