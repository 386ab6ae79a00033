import { describe, expect, it } from 'vitest';
import type { FieldMap } from '../../contracts/index.js';
import { SourceMemory } from '../../gateway/sources/memory.js';
import { decodeMessage } from '../../gateway/sources/index.js';
import { deviceFixture, deviceFixtures, oneDevice, plain, stationMessage } from '../helpers/device-fixtures.js';

const STATION = 'ld-shelly-01';
/** The receive time: a second after the frame's own `params.ts` where it has one. */
const NOW = Date.UTC(2026, 0, 15, 21, 30, 0);

const reading = (fields: Record<string, number>, ts: number) => ({
  kind: 'readings',
  stationId: STATION,
  readings: [{ ...fields, ts }],
  rejects: {},
});
const refused = (reason: string) => ({ kind: 'refused', stationId: STATION, reason, rejects: { [reason]: 1 } });
const ignored = { kind: 'ignored', stationId: STATION, rejects: {} };
const online = (on: boolean) => ({ kind: 'status', stationId: STATION, status: { online: on }, rejects: {} });

function decoderFor(deviceId: string, fieldMap: FieldMap | null = null, memory = new SourceMemory()) {
  const { devices } = oneDevice(STATION, 'shelly', deviceId, fieldMap);
  return (topic: string, payload: string, nowMs = NOW) =>
    plain(decodeMessage(stationMessage(STATION, topic, payload, nowMs, devices, memory)));
}

/** The frame's `params.ts` in ms, or null. */
function frameTs(json: unknown): number | null {
  const ts = (json as { params?: { ts?: unknown } } | null)?.params?.ts;
  return typeof ts === 'number' ? Math.round(ts * 1_000) : null;
}

describe('Shelly decoder over every fixture', () => {
  const expected: Record<string, Record<string, unknown>> = {
    'edge-rpc-frame-not-json-derived.json': refused('bad_json'),
    // tC null with errors: a failed read, counted.
    'edge-temperature-sensor-error-derived.json': refused('non_finite'),
    // On USB power the battery reads 0.43 V: not a battery voltage, so nothing to keep.
    'edge-usb-powered-battery-zero-derived.json': ignored,
    'notifyfullstatus-htg3-low-battery-derived.json': reading({ airTempC: 24, rhPct: 55.5, batteryV: 4.25 }, 1779359341520),
    'notifyfullstatus-plusht-derived.json': reading({ airTempC: 23.9, rhPct: 54.9, batteryV: 5.58 }, 1779359235520),
    'notifystatus-temperature-derived.json': reading({ airTempC: -1.3 }, 1736915520310),
    'online-false-derived.json': online(false),
    'online-true-derived.json': online(true),
    // "Generic status update" topics: one component, stamped on arrival.
    'status-ntf-devicepower-0-plusht-derived.json': ignored,
    'status-ntf-humidity-0-plusht-derived.json': ignored,
    // A two-level prefix (`shellies/<id>`) cannot be a station's device id (one topic level): not its topic.
    'status-ntf-humidity-custom-prefix-example.json': refused('forbidden_topic'),
    'status-ntf-temperature-0-plusht-derived.json': reading({ airTempC: 25.7 }, NOW),
  };

  it('has an expectation for each fixture', () => {
    expect(deviceFixtures('shelly').map((f) => f.file)).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))('%s', (file, want) => {
    const fixture = deviceFixture('shelly', file);
    const deviceId = fixture.topic.startsWith('shellies/') ? 'shellyplusht-xxx' : (fixture.topic.split('/')[0] ?? '');
    const nowMs = (frameTs(fixture.json) ?? NOW - 1_000) + 1_000;
    expect(decoderFor(deviceId)(fixture.topic, fixture.text, nowMs)).toEqual(want);
  });
});

describe('Shelly: partial NotifyStatus frames', () => {
  const device = 'shellyplusht-fcb467261fd4';
  const topic = `${device}/events/rpc`;
  const frame = (params: Record<string, unknown>) => JSON.stringify({ src: device, method: 'NotifyStatus', params });
  const t0 = 1736915400;

  it('keeps a humidity-only status and pairs it with the next temperature', () => {
    const decode = decoderFor(device);
    expect(decode(topic, frame({ ts: t0 + 0.12, 'humidity:0': { id: 0, rh: 93.4 } }), t0 * 1_000)).toEqual(ignored);
    expect(
      decode(
        topic,
        frame({ ts: t0 + 1.5, 'devicepower:0': { id: 0, battery: { V: 5.1, percent: 60 }, external: { present: false } } }),
        t0 * 1_000,
      ),
    ).toEqual(ignored);
    const temperature = deviceFixture('shelly', 'notifystatus-temperature-derived.json');
    expect(decode(topic, temperature.text, 1736915521000)).toEqual(reading({ airTempC: -1.3, rhPct: 93.4, batteryV: 5.1 }, 1736915520310));
  });

  it('judges params.ts by the native clock window', () => {
    const decode = decoderFor(device);
    const full = deviceFixture('shelly', 'notifyfullstatus-plusht-derived.json');
    expect(decode(full.topic.replace('shellyplusht-fcb467261fd4', device), full.text, 1779359235520 - 10 * 60_000)).toEqual(
      refused('clock_future'),
    );
    expect(decode(topic, frame({ ts: 'soon', 'temperature:0': { tC: 1 } }))).toEqual(refused('bad_timestamp'));
  });

  it('ignores other RPC methods and reads a mapped add-on probe', () => {
    expect(decoderFor(device)(topic, JSON.stringify({ method: 'NotifyEvent', params: { ts: t0, events: [] } }))).toEqual(ignored);
    const decode = decoderFor(device, { 'temperature:100': 'airTempC', 'temperature:0': 'leafTempC' });
    const params = { ts: t0, 'temperature:0': { tC: 2.5 }, 'temperature:100': { tC: -0.5 }, 'humidity:0': { rh: 88 } };
    expect(decode(topic, frame(params), t0 * 1_000)).toEqual(reading({ airTempC: -0.5, leafTempC: 2.5, rhPct: 88 }, t0 * 1_000));
  });

  it("refuses a device publishing under another device's prefix", () => {
    const full = deviceFixture('shelly', 'notifyfullstatus-plusht-derived.json');
    expect(decoderFor('shellyhtg3-3030f9ec8468')(full.topic, full.text, 1779359236000)).toEqual(refused('forbidden_topic'));
    expect(decoderFor(device)(`${device}/online`, 'maybe')).toEqual(refused('bad_status'));
  });
});
