import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, FarmerCreateSchema, nightOf } from '../../contracts/index.js';
import { type FullApp, stationBody, startFullApp } from '../helpers/full-app.js';
import { eventually } from '../helpers/mqtt.js';

/**
 * The "done when", for a LoRaWAN sensor: a Dragino LHT65 reporting every 15 minutes (duty cycle) through
 * ChirpStack's MQTT integration, on a clear calm night that falls to frost, drives the same warnings as a native
 * station — the engine needs nothing new. Real Aedes gateway (listening), real influxd, the rule engine and the
 * outbox in dry run; the clock follows the uplinks.
 */
const LAT = 12.03;
const LON = 108.4;
const NIGHT = nightOf(LAT, LON, Date.UTC(2026, 0, 15, 5, 0));
const FROM = Math.ceil((NIGHT.sunsetMs + 3_600_000) / 60_000) * 60_000;
const EVERY = 15 * 60_000;
const EUI = 'a84041000181c62d';
const APPLICATION = '5f8a8d6e-0c57-4c5e-8a44-5b7c3b1a0e11';

let nowMs = FROM;
const clock: Clock = { now: () => nowMs, speed: 1 };
let fx: FullApp;
let client: MqttClient;

/** ChirpStack v4's `event/up` as its MQTT integration publishes it, with the LHT65 codec's `object`. */
function uplink(i: number, t: number, airC: number): string {
  return JSON.stringify({
    deduplicationId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    time: new Date(t).toISOString().replace('Z', '+00:00'),
    deviceInfo: {
      tenantId: 't',
      tenantName: 'Lạc Dương',
      applicationId: APPLICATION,
      applicationName: 'frost',
      devEui: EUI,
      deviceName: 'lht65-lat',
    },
    devAddr: '260b1234',
    fCnt: i,
    fPort: 2,
    data: 'y6QH2gJlAX//f/8=',
    object: { BatV: 3.05, Bat_status: 3, TempC_SHT: airC, Hum_SHT: 96.5, Ext_sensor: 'Temperature Sensor', TempC_DS: 327.67 },
    rxInfo: [{ gatewayId: '0016c001ff10a235', rssi: -97, snr: 6.5 }],
  });
}

beforeAll(async () => {
  fx = await startFullApp({ clock });
  await fx.server.edge!.start();
  const station = await fx.app.inject({
    method: 'POST',
    url: '/api/stations',
    headers: fx.headers['admin-token'],
    payload: stationBody('ld-lora-night', { lat: LAT, lon: LON, source: 'chirpstack', deviceId: EUI, preset: 'dragino-lht65' }),
  });
  expect(station.statusCode, station.body).toBe(201);
  fx.warnings.people.createFarmer(FarmerCreateSchema.parse({ name: 'Nguyễn Văn Hà', phone: '0912345678', stationIds: ['ld-lora-night'] }));
  const account = await fx.app.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: fx.headers.admin,
    payload: { kind: 'chirpstack', name: 'night' },
  });
  const { username, password } = account.json<{ username: string; password: string }>();
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${fx.server.edge!.ports!.mqttPort}`, { username, password, reconnectPeriod: 0 });
}, 120_000);

afterAll(async () => {
  await (client as MqttClient | undefined)?.endAsync(true).catch(() => undefined);
  await (fx as FullApp | undefined)?.close();
});

describe('a LoRaWAN sensor on a frost night', () => {
  it('every 15 minutes through ChirpStack, falling to frost: stored, judged, and the farmer warned', async () => {
    // Clear and calm: 9 °C an hour after sunset, down 1.5 °C an hour, humid — frost before midnight.
    const uplinks = 28;
    for (let i = 0; i < uplinks; i += 1) {
      const t = FROM + i * EVERY;
      nowMs = t + 30_000;
      const airC = Math.round((9 - 1.5 * (i / 4)) * 100) / 100;
      await client.publishAsync(`application/${APPLICATION}/device/${EUI}/event/up`, uplink(i, t, airC), { qos: 1 });
    }
    await eventually(
      async () => expect((await fx.warnings.engine.inspect('ld-lora-night'))?.window.length).toBeGreaterThanOrEqual(8),
      20_000,
    );
    const alerts = fx.warnings.alerts.list({ stationId: 'ld-lora-night', limit: 10 });
    expect(alerts.map((a) => a.level)).toEqual(expect.arrayContaining([expect.stringMatching(/^(warning|severe)$/)]));
    // 3.05 V is a healthy Li-SOCl₂ cell (the LHT65 preset's battery bands), not frostwatch's low Li-ion.
    expect(alerts.filter((a) => a.kind === 'low_battery')).toEqual([]);
    const sms = fx.db
      .prepare<[], { body: string; status: string }>("SELECT body, status FROM outbox WHERE channel = 'sms' ORDER BY id")
      .all();
    expect(sms.length).toBeGreaterThan(0);
    expect(sms.map((r) => r.status)).toEqual(sms.map(() => 'dry_run'));
    expect(sms.some((r) => /sương muối/i.test(r.body))).toBe(true);
  }, 120_000);
});
