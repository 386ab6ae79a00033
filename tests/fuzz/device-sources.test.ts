import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PAYLOAD_LIMITS,
  type DevicePreset,
  type DeviceDirectory,
  RejectReasonSchema,
  type StationDeviceInfo,
  type StationId,
  type StationSource,
} from '../../contracts/index.js';
import type { Decoded, Publisher } from '../../gateway/intake.js';
import { decodeMessage, prepareDecoder } from '../../gateway/sources/index.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { fuzzRuns } from './fuzz-settings.js';

/**
 * Every source's decoder (docs/devices.md), whatever a device or a network server publishes: an answer, never a
 * throw; a refusal always with a known reason; and any reading it lets through within the native bounds and clock
 * window — the same promise the native intake makes (tests/fuzz/mqtt-payloads.test.ts).
 */
const NOW = Date.UTC(2026, 0, 15, 22, 0, 0);
const EUI = 'a84041000181c62d';

function directory(source: StationSource, deviceId: string, preset: DevicePreset | null): DeviceDirectory {
  const device: StationDeviceInfo = { stationId: 'ld-dev-01' as StationId, source, deviceId, preset, fieldMap: null };
  return { ofStation: () => device, stationOf: (s, d) => (s === source && d === deviceId ? device : null) };
}

const CASES: { source: StationSource; deviceId: string; publisher: Publisher; topics: string[] }[] = [
  {
    source: 'tasmota',
    deviceId: 'frost-01',
    publisher: { kind: 'station', stationId: 'ld-dev-01' as StationId },
    topics: ['tele/frost-01/SENSOR', 'tele/frost-01/LWT', 'tele/frost-01/STATE', 'stat/frost-01/STATUS10', 'tele/other/SENSOR'],
  },
  {
    source: 'esphome',
    deviceId: 'frost-02',
    publisher: { kind: 'station', stationId: 'ld-dev-01' as StationId },
    topics: ['frost-02/sensor/air_temperature/state', 'frost-02/sensor/humidity/state', 'frost-02/status', 'frost-02/x/y/z'],
  },
  {
    source: 'shelly',
    deviceId: 'shellyhtg3-01',
    publisher: { kind: 'station', stationId: 'ld-dev-01' as StationId },
    topics: ['shellyhtg3-01/events/rpc', 'shellyhtg3-01/online', 'shellyhtg3-01/status/temperature:0'],
  },
  {
    source: 'chirpstack',
    deviceId: EUI,
    publisher: { kind: 'integration', integration: 'chirpstack' },
    topics: [`application/1/device/${EUI}/event/up`, `application/1/device/${EUI}/event/status`, 'application/1/device/x/event/up'],
  },
];

/** JSON-ish payloads shaped like each source's, with arbitrary values where the fields go, or arbitrary bytes. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({
      Time: fc.string(),
      SHT3X: fc.record({ Temperature: fc.oneof(fc.double(), fc.constant(null), fc.string()), Humidity: fc.jsonValue() }),
      TempUnit: fc.constantFrom('C', 'F', 'K', ''),
    })
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({
      method: fc.constantFrom('NotifyStatus', 'NotifyFullStatus', 'Other'),
      params: fc.record({ ts: fc.oneof(fc.double(), fc.string()), 'temperature:0': fc.record({ tC: fc.jsonValue() }) }),
    })
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .record({
      deduplicationId: fc.uuid(),
      time: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      deviceInfo: fc.record({ devEui: fc.constantFrom(EUI, EUI.toUpperCase(), '0000000000000000') }),
      fCnt: fc.jsonValue(),
      fPort: fc.integer({ min: -1, max: 300 }),
      data: fc.base64String({ maxLength: 40 }),
      object: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ TempC_SHT: fc.double(), Hum_SHT: fc.double(), BatV: fc.jsonValue() })),
    })
    .map((v) => Buffer.from(JSON.stringify(v))),
  fc
    .oneof(fc.double(), fc.constantFrom('nan', 'None', 'online', 'offline', 'Online', 'Offline', 'true'))
    .map((v) => Buffer.from(String(v))),
);

function expectSound(decoded: Decoded): void {
  if (decoded.kind === 'refused') expect(RejectReasonSchema.options).toContain(decoded.reason);
  for (const reason of decoded.rejects.keys()) expect(RejectReasonSchema.options).toContain(reason);
  if (decoded.kind !== 'readings') return;
  expect(decoded.readings.length).toBeGreaterThan(0);
  for (const r of decoded.readings) {
    expect(Number.isFinite(r.airTempC)).toBe(true);
    expect(r.airTempC).toBeGreaterThanOrEqual(-80);
    expect(r.airTempC).toBeLessThanOrEqual(80);
    if (r.rhPct !== undefined) expect(r.rhPct).toBeGreaterThanOrEqual(0);
    expect(Math.abs(r.ts - NOW)).toBeLessThan(400 * 86_400_000);
  }
}

describe('device sources: any message, a sound answer', () => {
  // As the gateway does before a ChirpStack uplink: its codecs' WebAssembly runtime is loaded at the first one.
  beforeAll(() => prepareDecoder({ kind: 'integration', integration: 'chirpstack' }) ?? undefined);

  for (const c of CASES) {
    it(`${c.source}: never throws, refuses with a known reason, lets through only bounded readings`, () => {
      const devices = directory(c.source, c.deviceId, c.source === 'chirpstack' ? 'dragino-lht65' : null);
      const memory = new SourceMemory();
      fc.assert(
        fc.property(fc.constantFrom(...c.topics), payload, (topic, bytes) => {
          const decoded = decodeMessage({
            topic,
            payload: bytes,
            publisher: c.publisher,
            nowMs: NOW,
            limits: DEFAULT_PAYLOAD_LIMITS,
            devices,
            memory,
          });
          expectSound(decoded);
        }),
        fuzzRuns(300),
      );
    });
  }
});
