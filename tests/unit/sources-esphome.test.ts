import { describe, expect, it } from 'vitest';
import type { FieldMap, StationId } from '../../contracts/index.js';
import { isOwnCommandFilter } from '../../gateway/authorize-subscribe.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { decodeMessage } from '../../gateway/sources/index.js';
import { deviceFixture, deviceFixtures, oneDevice, plain, stationMessage } from '../helpers/device-fixtures.js';

const STATION = 'ld-esphome-01';
const NOW = Date.UTC(2026, 0, 15, 21, 30, 0);
/** The frost node's probes, named in the station's field map (their object ids say neither temp nor humid). */
const FROST_NODE_MAP: FieldMap = { frost_probe: 'airTempC', frost_probe_humidity: 'rhPct' };

const reading = (fields: Record<string, number>, ts = NOW) => ({
  kind: 'readings',
  stationId: STATION,
  readings: [{ ...fields, ts }],
  rejects: {},
});
const refused = (reason: string) => ({ kind: 'refused', stationId: STATION, reason, rejects: { [reason]: 1 } });
const ignored = { kind: 'ignored', stationId: STATION, rejects: {} };
const online = (on: boolean) => ({ kind: 'status', stationId: STATION, status: { online: on }, rejects: {} });

function decoderFor(deviceId: string, fieldMap: FieldMap | null, memory = new SourceMemory()) {
  const { devices } = oneDevice(STATION, 'esphome', deviceId, fieldMap);
  return (topic: string, payload: string, nowMs = NOW) =>
    plain(decodeMessage(stationMessage(STATION, topic, payload, nowMs, devices, memory)));
}

describe('ESPHome decoder over every fixture', () => {
  // The device of each fixture: its topic prefix (discovery names the node after the component).
  const expected: Record<string, [deviceId: string, Record<string, unknown>]> = {
    'discover-ip-response-docs.json': ['esp32-test', ignored],
    'discovery-sensor-config-derived.json': ['frost-node-1', ignored],
    // `21.5 °C` is not a number ESPHome prints; never parseFloat'd into 21.5.
    'edge-sensor-state-garbage-derived.json': ['frost-node-1', refused('wrong_type')],
    'edge-sensor-state-nan-derived.json': ['frost-node-1', refused('non_finite')],
    'edge-sensor-state-none-derived.json': ['frost-node-1', refused('non_finite')],
    'sensor-state-frost-derived.json': ['frost-node-1', reading({ airTempC: -2.31 })],
    // Humidity alone: kept for the next temperature.
    'sensor-state-integer-accuracy-derived.json': ['frost-node-1', ignored],
    'sensor-state-subdevice-derived.json': ['livingroom', reading({ airTempC: 22.5 })],
    'status-offline-docs.json': ['livingroom', online(false)],
    'status-online-docs.json': ['livingroom', online(true)],
  };

  it('has an expectation for each fixture', () => {
    expect(deviceFixtures('esphome').map((f) => f.file)).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s', (file, [deviceId, want]) => {
    const fixture = deviceFixture('esphome', file);
    const map = deviceId === 'frost-node-1' ? FROST_NODE_MAP : null;
    expect(decoderFor(deviceId, map)(fixture.topic, fixture.text)).toEqual(want);
  });
});

describe('ESPHome: pairing the separately published sensors', () => {
  const humidity = deviceFixture('esphome', 'sensor-state-integer-accuracy-derived.json');
  const frost = deviceFixture('esphome', 'sensor-state-frost-derived.json');

  it('carries the humidity of the last 15 minutes into the temperature reading', () => {
    const decode = decoderFor('frost-node-1', FROST_NODE_MAP);
    expect(decode(humidity.topic, humidity.text, NOW - 14 * 60_000)).toEqual(ignored);
    expect(decode(frost.topic, frost.text)).toEqual(reading({ airTempC: -2.31, rhPct: 97 }));
  });

  it('does not carry a humidity older than 15 minutes', () => {
    const decode = decoderFor('frost-node-1', FROST_NODE_MAP);
    decode(humidity.topic, humidity.text, NOW - 16 * 60_000);
    expect(decode(frost.topic, frost.text)).toEqual(reading({ airTempC: -2.31 }));
  });

  it("keeps each station's values apart", () => {
    const memory = new SourceMemory();
    decoderFor('frost-node-1', FROST_NODE_MAP, memory)(humidity.topic, humidity.text);
    const other = oneDevice('ld-esphome-02', 'esphome', 'frost-node-1', FROST_NODE_MAP);
    const decoded = plain(decodeMessage(stationMessage('ld-esphome-02', frost.topic, frost.text, NOW, other.devices, memory)));
    expect(decoded).toMatchObject({ kind: 'readings', readings: [{ airTempC: -2.31, ts: NOW }] });
    expect(decoded['readings']).toEqual([{ airTempC: -2.31, ts: NOW }]);
  });

  it('names fields by object id without a map: temp, humid, battery voltage; never the chip temperature', () => {
    const decode = decoderFor('node-7', null);
    expect(decode('node-7/sensor/outdoor_humidity/state', '91.5')).toEqual(ignored);
    expect(decode('node-7/sensor/battery_voltage/state', '3.71')).toEqual(ignored);
    expect(decode('node-7/sensor/internal_temperature/state', '41.2')).toEqual(ignored);
    expect(decode('node-7/sensor/wifi_signal/state', '-61')).toEqual(ignored);
    expect(decode('node-7/sensor/outdoor_temperature/state', '0.4')).toEqual(reading({ airTempC: 0.4, rhPct: 91.5, batteryV: 3.71 }));
  });

  it('with a map, reads the mapped ids only', () => {
    const decode = decoderFor('node-7', { canopy: 'leafTempC', air: 'airTempC' });
    expect(decode('node-7/sensor/outdoor_temperature/state', '0.4')).toEqual(ignored);
    expect(decode('node-7/sensor/canopy/state', '-1.5')).toEqual(ignored);
    expect(decode('node-7/sensor/air/state', '0.4')).toEqual(reading({ airTempC: 0.4, leafTempC: -1.5 }));
  });

  it('refuses a humidity out of bounds instead of keeping it, so it cannot spoil the temperature', () => {
    const decode = decoderFor('frost-node-1', FROST_NODE_MAP);
    expect(decode(humidity.topic, '180')).toEqual(refused('out_of_range'));
    expect(decode(frost.topic, frost.text)).toEqual(reading({ airTempC: -2.31 }));
    expect(decode(frost.topic, '95')).toEqual(refused('out_of_range'));
  });
});

describe('ESPHome: topics', () => {
  const decode = decoderFor('frost-node-1', FROST_NODE_MAP);
  it("refuses a board publishing under another device's prefix", () => {
    expect(decode('frost-node-2/sensor/frost_probe/state', '1.0')).toEqual(refused('forbidden_topic'));
    expect(decode('frost-node-2/status', 'offline')).toEqual(refused('forbidden_topic'));
    expect(decode('stations/ld-esphome-01/readings', '{}')).toEqual(refused('forbidden_topic'));
  });
  it('ignores its other entities and refuses an unknown availability payload', () => {
    expect(decode('frost-node-1/binary_sensor/door/state', 'ON')).toEqual(ignored);
    expect(decode('frost-node-1/debug', 'boot')).toEqual(ignored);
    expect(decode('frost-node-1/status', 'asleep')).toEqual(refused('bad_status'));
  });
});

describe('ESPHome and Shelly subscriptions', () => {
  it('grant filters under the own prefix only, and never for a prefix that is a shared first level', () => {
    const own = oneDevice(STATION, 'esphome', 'frost-node-1');
    expect(isOwnCommandFilter('frost-node-1/switch/heater/command', STATION as StationId, own.devices)).toBe(true);
    expect(isOwnCommandFilter('frost-node-2/#', STATION as StationId, own.devices)).toBe(false);
    expect(isOwnCommandFilter('homeassistant/status', STATION as StationId, own.devices)).toBe(false);
    const shared = oneDevice(STATION, 'shelly', 'stations');
    expect(isOwnCommandFilter('stations/#', STATION as StationId, shared.devices)).toBe(false);
    const native = oneDevice(STATION, 'native', 'frost-node-1');
    expect(isOwnCommandFilter('frost-node-1/#', STATION as StationId, native.devices)).toBe(false);
  });
});
