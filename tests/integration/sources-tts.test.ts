import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationCreate, UpEnvSchema, loadEnv, systemClock } from '../../contracts/index.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { type GatewayEdge, gatewayEdge } from '../../server/broker-edge.js';
import { findFreePort } from '../../server/influx/free-port.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import type { TtsSource } from '../../server/sources/tts.js';
import { type TtsStorageServer, startTtsStorageServer } from '../../testkit/tts-storage-server.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { capturingLogger, eventually, metricValue } from '../helpers/mqtt.js';

/**
 * The Things Stack as frostwatch meets it: Debian's Mosquitto stands in for TTS's MQTT server (a password file with
 * `{app}@{tenant}` and the API key, QoS 0 uplinks on v3/…/up), testkit's Storage Integration stand-in answers the gap
 * fill, and the server is assembled as `frostwatch up` assembles it, over a real influxd.
 */
const APP = 'frostwatch-lac-duong';
const TENANT = 'ttn';
const USER = `${APP}@${TENANT}`;
const API_KEY = 'NNSXS.TESTKEY0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.SECRETPART0123456789';
const DEV_EUI = 'A84041000181C5B1';
const DEVICE_ID = 'lht65-orchard-1';
const STATION = 'ld-tts-1';

let sequence = 0;

/** An ApplicationUp as TTS publishes it (the Dragino LHT65 codec's names), taken at `tsMs`. */
function uplink(tsMs: number, tempC: number): Record<string, unknown> {
  sequence += 1;
  const iso = (ms: number, nanos: string) => new Date(ms).toISOString().replace('Z', `${nanos}Z`);
  return {
    end_device_ids: {
      device_id: DEVICE_ID,
      application_ids: { application_id: APP },
      dev_eui: DEV_EUI,
      join_eui: '800000000000000C',
      dev_addr: '00BCB929',
    },
    correlation_ids: [`as:up:01TEST${String(sequence).padStart(6, '0')}`, `gs:uplink:01TEST${String(sequence).padStart(6, '0')}`],
    // The Application Server's time, to the nanosecond as TTS writes it: what storage's `after` compares with.
    received_at: iso(tsMs + 900, '417233'),
    uplink_message: {
      f_port: 2,
      f_cnt: sequence,
      frm_payload: 'y/b/BgN2Af7Gf/8=',
      decoded_payload: { BatV: 3.06, Bat_status: 3, TempC_SHT: tempC, Hum_SHT: 91.5, Ext_sensor: 'Temperature Sensor', TempC_DS: 327.67 },
      rx_metadata: [{ gateway_ids: { gateway_id: 'gtw-lat' }, time: new Date(tsMs).toISOString(), rssi: -97, snr: 4.5 }],
      settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 9 } }, frequency: '923200000' },
      received_at: iso(tsMs + 400, '123456'),
    },
  };
}

describe('The Things Stack v3 source', () => {
  let dir: string;
  let influx: TestInfluxd | undefined;
  let storage: TtsStorageServer | undefined;
  let mosquitto: ChildProcess | undefined;
  let mqttPort: number;
  let server: AssembledServer<GatewayEdge> | undefined;
  let tts: TtsSource;
  const { logger, lines } = capturingLogger();
  /** Readings handed to the engine, by station: each timestamp must come once. */
  const received: number[] = [];

  const startMosquitto = async (): Promise<void> => {
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    await eventually(async () => {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
        username: USER,
        password: API_KEY,
        reconnectPeriod: 0,
        connectTimeout: 1_000,
      });
      await client.endAsync();
    }, 10_000);
  };
  const stopMosquitto = async (): Promise<void> => {
    const child = mosquitto;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  /** Publishes as TTS does: QoS 0, on the device's up topic. */
  const publishUplink = async (message: Record<string, unknown>): Promise<void> => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: USER, password: API_KEY, reconnectPeriod: 0 });
    await client.publishAsync(`v3/${USER}/devices/${DEVICE_ID}/up`, JSON.stringify(message), { qos: 0 });
    await client.endAsync();
  };
  const stored = async (fromMs: number, toMs: number) => {
    if (!server) throw new Error('no server');
    return queryReadings(server.influx, STATION, { fromMs, toMs });
  };
  const connected = () => expect(tts.client?.connected).toBe(true);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-tts-'));
    mqttPort = await findFreePort();
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', '-c', join(dir, 'passwd'), USER, API_KEY]);
    await writeFile(
      join(dir, 'mosquitto.conf'),
      `listener ${mqttPort} 127.0.0.1\nallow_anonymous false\npassword_file ${join(dir, 'passwd')}\npersistence false\n` +
        // Run as root, Mosquitto would become user `mosquitto`, who cannot read the password file in our temp dir.
        `user ${userInfo().username}\n`,
    );
    await startMosquitto();
    storage = await startTtsStorageServer({ appId: APP, apiKey: API_KEY });
    influx = await startTestInfluxd({ database: 'frostwatch_tts' });
    const settings = loadEnv(UpEnvSchema, {
      DATA_DIR: join(dir, 'data'),
      HOST: '127.0.0.1',
      HTTP_PORT: '0',
      INFLUX_BUCKET: influx.database,
      TTS_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      TTS_APP_ID: APP,
      TTS_TENANT: TENANT,
      TTS_API_KEY: API_KEY,
      TTS_API_URL: storage.url,
    });
    server = await assembleServer({
      settings,
      influxUrl: influx.url,
      logger,
      clock: systemClock,
      edge: gatewayEdge({ listen: { host: '127.0.0.1', mqttPort: 0, wsPort: 0 } }),
    });
    if (!server.tts) throw new Error('TTS_MQTT_URL set but no TTS source');
    tts = server.tts;
    const station: StationCreate = {
      id: STATION as StationCreate['id'],
      name: 'Lát TTS',
      commune: 'Lát',
      lat: 12.03,
      lon: 108.4,
      elevationM: 1_500,
      crop: 'arabica',
      source: 'ttn',
      deviceId: DEV_EUI.toLowerCase(),
      preset: 'dragino-lht65',
    };
    expect((await server.stations.create(station)).ok).toBe(true);
    server.ingest.onReceived((stationId, readings) => {
      if (stationId === STATION) received.push(...readings.map((r) => r.ts));
    });
    await server.listen();
    await eventually(connected, 15_000);
  });

  afterAll(async () => {
    await server?.close();
    await stopMosquitto();
    await storage?.close();
    await influx?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a live uplink is stored in InfluxDB and reaches the rule engine', async () => {
    const ts = Date.now() - 30 * 60_000;
    const message = uplink(ts, -1.25);
    storage?.add(message); // storage keeps every uplink, the live ones too
    await publishUplink(message);
    await eventually(
      async () => expect(await stored(ts - 1, ts + 1)).toMatchObject([{ airTempC: -1.25, rhPct: 91.5, rssiDbm: -97 }]),
      20_000,
    );
    expect((await server?.warnings.engine.inspect(STATION))?.window.map((s) => s.ts)).toContain(ts);
    expect(tts.lastUplinkMs()).toBe(ts + 900);
    expect((await server?.health())?.checks['tts']).toEqual({ ok: true, detail: 'connected to The Things Stack' });
  });

  it('uplinks sent while TTS was unreachable are filled from storage after the reconnect, each stored once', async () => {
    const requestsBefore = storage?.requests.length ?? 0;
    const lastLive = tts.lastUplinkMs();
    await stopMosquitto();
    await eventually(() => expect(tts.client?.connected).toBe(false));
    const base = Date.now() - 25 * 60_000;
    const during = [uplink(base, -1.5), uplink(base + 5 * 60_000, -1.75), uplink(base + 10 * 60_000, -2)];
    storage?.add(...during);
    await startMosquitto();
    await eventually(connected, 15_000);
    await eventually(() => expect(storage?.requests.length).toBeGreaterThan(requestsBefore), 15_000);
    await tts.settled();

    const request = storage?.requests[requestsBefore];
    expect(request).toMatchObject({
      path: `/api/v3/as/applications/${APP}/packages/storage/uplink_message`,
      authorization: `Bearer ${API_KEY}`,
      accept: 'text/event-stream',
      status: 200,
      query: { after: new Date(lastLive ?? 0).toISOString(), order: 'received_at', limit: '1000' },
    });
    const all = await eventually(async () => {
      const readings = await stored(Date.now() - 60 * 60_000, Date.now());
      expect(readings.map((r) => r.airTempC)).toEqual([-1.25, -1.5, -1.75, -2]);
    }, 20_000).then(() => stored(Date.now() - 60 * 60_000, Date.now()));
    expect(new Set(all.map((r) => r.ts)).size).toBe(4);
    // The live uplink came back in the storage answer (its reception is after `after`'s millisecond): ignored.
    expect([...received].sort()).toEqual([...new Set(received)].sort());
    expect(received).toHaveLength(4);
    expect(tts.gaps()).toEqual([]);
    expect((await server?.warnings.engine.inspect(STATION))?.window.map((s) => s.ts)).toEqual(expect.arrayContaining(during.map(tsOf)));
  });

  it('with storage not enabled (404) the gap is recorded as unfilled, counted and shown in health', async () => {
    if (!storage || !server) throw new Error('not started');
    storage.notEnabled = true;
    await stopMosquitto();
    await eventually(() => expect(tts.client?.connected).toBe(false));
    const lost = uplink(Date.now() - 10 * 60_000, -2.5);
    storage.add(lost);
    await startMosquitto();
    await eventually(connected, 15_000);
    await eventually(() => expect(tts.gaps()).toHaveLength(1), 15_000);
    const [gap] = tts.gaps();
    expect(gap?.reason).toMatch(/404.*Storage Integration enabled/);
    expect(gap?.fromMs).toBe(Date.parse(lostFrom(storage)));
    expect(await metricValue(server.metrics, 'frostwatch_tts_unfilled_gaps_total')).toBe(1);
    const health = await server.health();
    expect(health.checks['tts']?.detail).toMatch(/1 unfilled gap/);
    expect(await stored(tsOf(lost) - 1, tsOf(lost) + 1)).toEqual([]);
    expect(lines.filter((l) => String(l['msg']).includes('may be missing'))).toHaveLength(1);
    storage.notEnabled = false;
  });

  it('pushes a downlink on down/push for a device it has heard; an unknown one is false', async () => {
    // Subscribed as the TTS side would read it (QoS 0, the application's own account).
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: USER, password: API_KEY, reconnectPeriod: 0 });
    const messages: string[] = [];
    sub.on('message', (topic, payload) => messages.push(`${topic} ${payload.toString('utf8')}`));
    try {
      await sub.subscribeAsync(`v3/${USER}/devices/+/down/push`, { qos: 0 });
      expect(await tts.pushDownlink(DEV_EUI, 15, Uint8Array.from([0xbe, 0xef]))).toBe(true);
      await eventually(() =>
        expect(messages).toEqual([
          `v3/${USER}/devices/${DEVICE_ID}/down/push {"downlinks":[{"f_port":15,"frm_payload":"vu8=","priority":"NORMAL"}]}`,
        ]),
      );
      expect(await tts.pushDownlink('0000000000000001', 15, Uint8Array.from([1]))).toBe(false);
      // The engine's sampling config for this TTN station, routed by its source: the LHT65 preset's TDC downlink
      // (0x01, then 60 s in three bytes, on fPort 2).
      messages.length = 0;
      await server!.edge!.configPublisher.publish(STATION as StationCreate['id'], { intervalS: 60 });
      await eventually(() =>
        expect(messages).toEqual([
          `v3/${USER}/devices/${DEVICE_ID}/down/push {"downlinks":[{"f_port":2,"frm_payload":"${Buffer.from([1, 0, 0, 60]).toString('base64')}","priority":"NORMAL"}]}`,
        ]),
      );
    } finally {
      await sub.endAsync();
    }
  });

  it('never logs the API key', () => {
    expect(JSON.stringify(lines)).not.toContain(API_KEY);
    expect(JSON.stringify(lines)).not.toContain('SECRETPART');
  });
});

function tsOf(message: Record<string, unknown>): number {
  const rx = (message['uplink_message'] as { rx_metadata: Array<{ time: string }> }).rx_metadata[0];
  return Date.parse(rx?.time ?? '');
}

/** The `after` of the last storage request: where the unfilled gap starts. */
function lostFrom(storage: TtsStorageServer): string {
  return storage.requests[storage.requests.length - 1]?.query['after'] ?? '';
}
