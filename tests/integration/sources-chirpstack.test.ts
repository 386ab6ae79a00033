import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type ReadingOut, type StationId, ChirpstackDownlinkSchema, integrationUsername } from '../../contracts/index.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';
import { eventually, metricValue } from '../helpers/mqtt.js';

/**
 * ChirpStack v4's MQTT integration on real components: the server as `frostwatch up` assembles it (its in-process
 * Aedes gateway listening on a free port, a real influxd), an integration account made through the API, and a real
 * mqtt.js client publishing the fixture uplinks exactly as ChirpStack does.
 */
const FIXTURES = join(import.meta.dirname, '../fixtures/devices/chirpstack');
/** Just after the fixtures' uplinks (2025-01-15 04:12–05:22 UTC), so their `time` is "recent". */
const NOW = Date.UTC(2025, 0, 15, 5, 30, 0);
const clock: Clock = { now: () => NOW, speed: 1 };
const LHT65 = 'ld-lora-lht65' as StationId;
const EM300 = 'ld-lora-em300';
const LHT65_EUI = 'a84041000181c5b1';
const EM300_EUI = '24e124136b502217';
const APPLICATION = '17c82e96-be03-4f38-aef3-f83d48582d97';

interface Fixture {
  topic: string;
  payload: unknown;
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
const bodyOf = (f: Fixture): string => (typeof f.payload === 'string' ? f.payload : JSON.stringify(f.payload));

let fx: FullApp;
let mqttUrl: string;
let username: string;
let password: string;
const clients: MqttClient[] = [];

async function connect(user: string, pass: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(mqttUrl, {
    username: user,
    password: pass,
    clientId: `chirpstack-${clients.length}`,
    reconnectPeriod: 0,
  });
  clients.push(client);
  return client;
}

async function readings(stationId: string): Promise<ReadingOut[]> {
  const from = new Date(NOW - 3 * 3_600_000).toISOString();
  const to = new Date(NOW).toISOString();
  const res = await fx.app.inject({
    method: 'GET',
    url: `/api/stations/${stationId}/readings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    headers: fx.headers['admin-token'],
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ readings: ReadingOut[] }>().readings;
}

const rejected = (reason: string): Promise<number> => metricValue(fx.server.metrics, 'frostwatch_gateway_rejected_total', { reason });

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.server.edge!.start();
  mqttUrl = `mqtt://127.0.0.1:${fx.server.edge!.ports!.mqttPort}`;
  for (const [id, eui, preset] of [
    [LHT65, LHT65_EUI, 'dragino-lht65'],
    [EM300, EM300_EUI, 'milesight-em300-th'],
  ] as const) {
    const res = await fx.app.inject({
      method: 'POST',
      url: '/api/stations',
      headers: fx.headers['admin-token'],
      payload: stationBody(id, { source: 'chirpstack', deviceId: eui, preset }),
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const created = await fx.app.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: fx.headers.admin,
    payload: { kind: 'chirpstack', name: 'lac-duong' },
  });
  expect(created.statusCode, created.body).toBe(201);
  ({ username, password } = created.json<{ username: string; password: string }>());
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.endAsync(true).catch(() => undefined);
  await (fx as FullApp | undefined)?.close();
});

describe('integration accounts through the API', () => {
  it('shows the password once, lists without secrets, refuses a duplicate, removes', async () => {
    expect(username).toBe(integrationUsername('chirpstack', 'lac-duong'));
    expect(password.length).toBeGreaterThanOrEqual(32);
    const list = await fx.app.inject({ method: 'GET', url: '/api/integrations', headers: fx.headers.admin });
    expect(list.json()).toEqual([expect.objectContaining({ kind: 'chirpstack', name: 'lac-duong', username })]);
    expect(list.body).not.toContain(password);
    const again = await fx.app.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: fx.headers.admin,
      payload: { kind: 'chirpstack', name: 'lac-duong' },
    });
    expect(again.statusCode).toBe(409);
    const other = await fx.app.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: fx.headers.admin,
      payload: { kind: 'chirpstack', name: 'spare' },
    });
    expect(other.statusCode).toBe(201);
    const gone = await fx.app.inject({
      method: 'DELETE',
      url: `/api/integrations/${encodeURIComponent('chirpstack:spare')}`,
      headers: fx.headers.admin,
    });
    expect(gone.statusCode).toBe(204);
    expect(
      (await fx.app.inject({ method: 'DELETE', url: '/api/integrations/chirpstack%3Aspare', headers: fx.headers.admin })).statusCode,
    ).toBe(404);
    expect((await fx.app.inject({ method: 'GET', url: '/api/integrations', headers: fx.headers.officer })).statusCode).toBe(403);
  });

  it('refuses a wrong password at CONNECT', async () => {
    await expect(mqtt.connectAsync(mqttUrl, { username, password: 'not-the-password', reconnectPeriod: 0 })).rejects.toThrow(
      /Bad username or password|refused/i,
    );
  });
});

describe('ChirpStack uplinks through a real broker', () => {
  it('stores uplinks (QoS 0 and 1), decoded by ChirpStack or by the bundled codec, once each, and feeds the engine', async () => {
    const chirpstack = await connect(username, password);
    const lht = fixture('up-dragino-lht65n-derived');
    const frost = fixture('up-dragino-lht65n-frost-derived');
    const em300 = fixture('up-milesight-em300th-frost-derived');
    // No `object` (ChirpStack had no codec): frostwatch runs Dragino's own codec on the bytes.
    const raw = fixture('edge-up-codec-error-no-object-derived');
    await chirpstack.publishAsync(lht.topic, bodyOf(lht), { qos: 0 });
    await chirpstack.publishAsync(frost.topic, bodyOf(frost), { qos: 1 });
    await chirpstack.publishAsync(em300.topic, bodyOf(em300), { qos: 1 });
    await chirpstack.publishAsync(raw.topic, bodyOf(raw), { qos: 1 });
    // Redelivered (same deduplicationId): settled, not stored again.
    await chirpstack.publishAsync(frost.topic, bodyOf(frost), { qos: 1, dup: true });
    // Other events are ignored.
    const status = fixture('status-docs-example');
    await chirpstack.publishAsync(status.topic.replace('0101010101010101', LHT65_EUI), bodyOf(status), { qos: 1 });

    await eventually(async () => {
      const stored = await readings(LHT65);
      expect(stored.map((r) => [r.ts, r.airTempC, r.rhPct])).toEqual([
        ['2025-01-15T04:12:33.123Z', 28.29, 88.6],
        ['2025-01-15T04:32:33.987Z', -2.5, 88.6],
        ['2025-01-15T05:22:10.250Z', 28.29, 88.6],
      ]);
      expect(stored[1]).toMatchObject({ leafTempC: -3.14, batteryV: 3.062, rssiDbm: -97 });
    }, 30_000);
    await eventually(async () => expect((await readings(EM300)).map((r) => [r.airTempC, r.rhPct])).toEqual([[-2, 90]]), 30_000);
    const window = (await fx.warnings.engine.inspect(LHT65))?.window ?? [];
    expect(window.map((s) => s.ts)).toEqual([
      Date.UTC(2025, 0, 15, 4, 12, 33, 123),
      Date.UTC(2025, 0, 15, 4, 32, 33, 987),
      Date.UTC(2025, 0, 15, 5, 22, 10, 250),
    ]);
  });

  it('diverts and counts an unregistered DevEUI, a bad payload, a mismatched device and a foreign topic', async () => {
    const chirpstack = await connect(username, password);
    const before = {
      unknown: await rejected('unknown_station'),
      json: await rejected('bad_json'),
      topic: await rejected('forbidden_topic'),
    };
    const docs = fixture('up-docs-example'); // DevEUI 0101010101010101: not a station
    await chirpstack.publishAsync(docs.topic, bodyOf(docs), { qos: 1 });
    const truncated = fixture('edge-up-truncated-json-derived');
    await chirpstack.publishAsync(truncated.topic, bodyOf(truncated), { qos: 1 });
    const lht = fixture('up-dragino-lht65n-derived');
    await chirpstack.publishAsync(lht.topic.replace(LHT65_EUI, EM300_EUI), bodyOf(lht), { qos: 1 });
    await chirpstack.publishAsync(`stations/${LHT65}/readings`, JSON.stringify({ ts: NOW, airTempC: 1 }), { qos: 1 });
    expect(await rejected('unknown_station')).toBe(before.unknown + 1);
    expect(await rejected('bad_json')).toBe(before.json + 1);
    expect(await rejected('forbidden_topic')).toBe(before.topic + 2);
    // A station's readings topic stays its own: the forbidden publish stored nothing under it.
    expect((await readings(LHT65)).map((r) => r.airTempC)).not.toContain(1);
  });

  it('sends the engine’s faster interval to the device as a ChirpStack downlink', async () => {
    const chirpstack = await connect(username, password);
    const granted = await chirpstack.subscribeAsync('application/+/device/+/command/down', { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    // Anything else is refused (SUBACK 0x80).
    await expect(chirpstack.subscribeAsync('stations/+/readings', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const received = new Promise<{ topic: string; payload: unknown }>((resolve) =>
      chirpstack.once('message', (topic, payload) => resolve({ topic, payload: JSON.parse(payload.toString('utf8')) as unknown })),
    );
    await fx.server.edge!.configPublisher.publish(LHT65, { intervalS: 60 });
    const downlink = await received;
    expect(downlink.topic).toBe(`application/${APPLICATION}/device/${LHT65_EUI}/command/down`);
    const command = ChirpstackDownlinkSchema.parse(downlink.payload);
    expect(command).toEqual({
      devEui: LHT65_EUI,
      confirmed: false,
      fPort: 2,
      data: Buffer.from([0x01, 0x00, 0x00, 0x3c]).toString('base64'),
    });
  });
});
