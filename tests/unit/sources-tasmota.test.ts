import { describe, expect, it } from 'vitest';
import type { FieldMap } from '../../contracts/index.js';
import { decodeMessage } from '../../gateway/sources/index.js';
import { deviceFixture, deviceFixtures, oneDevice, plain, stationMessage } from '../helpers/device-fixtures.js';

const STATION = 'ld-tasmota-01';
const NOW = Date.UTC(2026, 0, 15, 21, 30, 0);

/** Decode one fixture as the station whose device topic is the fixture's own (tele/<topic>/…). */
function decodeFixture(file: string, fieldMap: FieldMap | null = null, text?: string): Record<string, unknown> {
  const fixture = deviceFixture('tasmota', file);
  const deviceId = fixture.topic.split('/')[1] ?? '';
  const { devices } = oneDevice(STATION, 'tasmota', deviceId, fieldMap);
  return plain(decodeMessage(stationMessage(STATION, fixture.topic, text ?? fixture.text, NOW, devices)));
}

const reading = (fields: Record<string, number>) => ({
  kind: 'readings',
  stationId: STATION,
  readings: [{ ...fields, ts: NOW }],
  rejects: {},
});
const refused = (reason: string) => ({ kind: 'refused', stationId: STATION, reason, rejects: { [reason]: 1 } });
const ignored = { kind: 'ignored', stationId: STATION, rejects: {} };

describe('Tasmota decoder over every fixture', () => {
  const expected: Record<string, Record<string, unknown>> = {
    'edge-sensor-malformed-derived.json': refused('bad_json'),
    // Tasmota's NaN is JSON null: no value, counted as a failed read.
    'edge-sensor-nan-null-derived.json': refused('non_finite'),
    // Two SHT3x: the first one is the air sensor.
    'edge-sensor-sht3x-two-sensors-derived.json': reading({ airTempC: -1.4, rhPct: 96.2 }),
    'lwt-offline-docs.json': { kind: 'status', stationId: STATION, status: { online: false }, rejects: {} },
    'lwt-online-docs.json': { kind: 'status', stationId: STATION, status: { online: true }, rejects: {} },
    'sensor-aht1x-address-suffix-docs.json': reading({ airTempC: 24.7, rhPct: 61.9 }),
    'sensor-am2301-docs.json': reading({ airTempC: 24.6, rhPct: 58.2 }),
    'sensor-bme280-docs.json': reading({ airTempC: 21.7, rhPct: 66.6 }),
    'sensor-ds18b20-legacy-docs.json': reading({ airTempC: 20.6 }),
    'sensor-ds18b20-multi-docs.json': reading({ airTempC: 13.3 }),
    'sensor-ds18b20-single-docs.json': reading({ airTempC: 20.9 }),
    // No temperature sensor at all: refused, so a board wired wrong shows in the reject counts.
    'sensor-switches-only-retained-docs.json': refused('missing_field'),
    'state-docs.json': ignored,
    'state-with-tz-offset-docs.json': ignored,
    'status10-am2301-legacy-time-docs.json': reading({ airTempC: 15.5, rhPct: 50.6 }),
    // TempUnit F: the first humidity sensor (DHT11, 78.8 °F) in °C.
    'status10-sht3x-dht11-fahrenheit-docs.json': reading({ airTempC: 26, rhPct: 27 }),
  };

  it('has an expectation for each fixture', () => {
    expect(deviceFixtures('tasmota').map((f) => f.file)).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s', (file, want) => {
    expect(decodeFixture(file)).toEqual(want);
  });
});

describe('Tasmota: the field map chooses sensors explicitly', () => {
  const multi = 'sensor-ds18b20-multi-docs.json';
  it.each<[string, FieldMap, Record<string, number>]>([
    ['a DS18B20 by its key', { 'DS18B20-2': 'airTempC' }, { airTempC: 1.2 }],
    ['a DS18B20 by its Id', { '000005937C90': 'airTempC' }, { airTempC: 22.5 }],
    ['an Id in lower case', { '000005937c90': 'airTempC' }, { airTempC: 22.5 }],
    ['a leaf probe beside the automatic air sensor', { 'DS18B20-2': 'leafTempC' }, { airTempC: 13.3, leafTempC: 1.2 }],
    ['the SetOption64 spelling of a key', { DS18B20_3: 'airTempC' }, { airTempC: 22.5 }],
  ])('%s', (_name, map, fields) => {
    expect(decodeFixture(multi, map)).toEqual(reading(fields));
  });

  it('reads sensor.field keys, and the humidity of the mapped air sensor', () => {
    const two = 'edge-sensor-sht3x-two-sensors-derived.json';
    expect(decodeFixture(two, { 'SHT3X-45.Temperature': 'airTempC' })).toEqual(reading({ airTempC: -0.9, rhPct: 94.8 }));
    expect(decodeFixture(two, { 'SHT3X-45': 'airTempC', 'SHT3X-44.Humidity': 'rhPct' })).toEqual(reading({ airTempC: -0.9, rhPct: 96.2 }));
  });

  it('refuses a reading whose mapped air sensor is absent, rather than taking another', () => {
    expect(decodeFixture(multi, { 'DS18B20-9': 'airTempC' })).toEqual(refused('missing_field'));
  });

  it('reads the older SHT3X-0x44 key and converts leaf temperatures from °F too', () => {
    const text = JSON.stringify({
      Time: '2025-01-15T05:10:00',
      'SHT3X-0x44': { Temperature: 30.2, Humidity: 97.1 },
      DS18B20: { Id: '01', Temperature: 28.4 },
      TempUnit: 'F',
    });
    expect(decodeFixture('edge-sensor-sht3x-two-sensors-derived.json', { '01': 'leafTempC' }, text)).toEqual(
      reading({ airTempC: -1, rhPct: 97.1, leafTempC: -2 }),
    );
  });

  it('ignores the chip temperature of an ESP32 and takes a DS18B20', () => {
    const text = JSON.stringify({
      Time: '2025-01-15T05:10:00',
      ESP32: { Temperature: 44.1 },
      DS18B20: { Temperature: 0.5 },
      TempUnit: 'C',
    });
    expect(decodeFixture('sensor-ds18b20-single-docs.json', null, text)).toEqual(reading({ airTempC: 0.5 }));
  });

  it('judges values with the native bounds', () => {
    const text = JSON.stringify({ Time: '2025-01-15T05:10:00', AM2301: { Temperature: 99.9, Humidity: 50 }, TempUnit: 'C' });
    expect(decodeFixture('sensor-am2301-docs.json', null, text)).toEqual(refused('out_of_range'));
  });
});

describe('Tasmota: topics', () => {
  const { devices } = oneDevice(STATION, 'tasmota', 'frost-01');
  const decode = (topic: string, payload: string) => plain(decodeMessage(stationMessage(STATION, topic, payload, NOW, devices)));
  const sensor = deviceFixture('tasmota', 'sensor-am2301-docs.json').text;

  it("refuses a board publishing on another device's topic", () => {
    expect(decode('tele/frost-02/SENSOR', sensor)).toEqual(refused('forbidden_topic'));
    expect(decode('tele/frost-02/LWT', 'Offline')).toEqual(refused('forbidden_topic'));
  });

  it('refuses commands and topics that are not Tasmota', () => {
    expect(decode('cmnd/frost-01/TelePeriod', '10')).toEqual(refused('forbidden_topic'));
    expect(decode('stations/ld-tasmota-01/readings', JSON.stringify({ ts: NOW, airTempC: 1 }))).toEqual(refused('unknown_topic'));
    expect(decode('frost-01/tele/SENSOR', sensor)).toEqual(refused('unknown_topic'));
  });

  it('ignores what else the board says on its own topic, and its discovery', () => {
    expect(decode('tele/frost-01/INFO1', '{}')).toEqual(ignored);
    expect(decode('stat/frost-01/RESULT', '{"POWER":"ON"}')).toEqual(ignored);
    expect(decode('tasmota/discovery/A0B1C2D3E4F5/config', '{}')).toEqual(ignored);
  });

  it('refuses an LWT that is neither Online nor Offline', () => {
    expect(decode('tele/frost-01/LWT', 'Sleeping')).toEqual(refused('bad_status'));
  });

  it('stamps readings with the receive time, whatever Time says', () => {
    const text = JSON.stringify({ Time: '2021-06-27T15:03:44+02:00', AM2301: { Temperature: 1.5, Humidity: 90 }, TempUnit: 'C' });
    expect(decode('tele/frost-01/SENSOR', text)).toEqual(reading({ airTempC: 1.5, rhPct: 90 }));
  });
});
