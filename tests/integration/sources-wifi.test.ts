import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FieldMap, type StationCreate, type StationSource, UpEnvSchema, loadEnv, systemClock } from '../../contracts/index.js';
import { type AssembledServer, assembleServer } from '../../server/assemble.js';
import { type GatewayEdge, gatewayEdge } from '../../server/broker-edge.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { deviceFixture } from '../helpers/device-fixtures.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { closeClients, connectStation, eventually, metricValue, mosquittoPub } from '../helpers/mqtt.js';

/**
 * Tasmota, ESPHome and Shelly boards as `frostwatch up` receives them: the server assembled with its in-process gateway
 * listening, a real influxd, and each vendor's fixture messages published with Debian's mosquitto_pub (QoS 1) under
 * the station's id and token.
 */
describe('Wi-Fi sources through the assembled server', () => {
  let influx: TestInfluxd;
  let server: AssembledServer<GatewayEdge>;
  let dir: string;
  let port: number;
  const tokens: Record<string, string> = {};
  const startedAt = Date.now();

  const TASMOTA = { id: 'ld-tasmota-01', deviceId: 'frost-tasmota-1' };
  const ESPHOME = { id: 'ld-esphome-01', deviceId: 'frost-node-1', fieldMap: { frost_probe: 'airTempC', frost_probe_humidity: 'rhPct' } };
  const SHELLY = { id: 'ld-shelly-01', deviceId: 'shellyplusht-fcb467261fd4' };

  async function register(id: string, source: StationSource, deviceId: string, fieldMap?: FieldMap): Promise<void> {
    const input = {
      id,
      name: id,
      commune: 'Lát',
      lat: 12.02,
      lon: 108.42,
      elevationM: 1_520,
      crop: 'arabica',
      source,
      deviceId,
      ...(fieldMap ? { fieldMap } : {}),
    } as StationCreate;
    const created = await server.stations.create(input);
    if (!created.ok) throw new Error(`could not register ${id}: ${created.reason}`);
    tokens[id] = created.token;
  }

  async function publish(stationId: string, topic: string, payload: string): Promise<void> {
    const args = [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-u',
      stationId,
      '-P',
      tokens[stationId] ?? '',
      '-q',
      '1',
      '-t',
      topic,
      '-m',
      payload,
    ];
    expect(await mosquittoPub(args)).toEqual({ code: 0, stderr: '' });
  }

  const rejected = (reason: string): Promise<number> => metricValue(server.metrics, 'frostwatch_gateway_rejected_total', { reason });

  async function storedReadings(stationId: string) {
    return queryReadings(server.influx, stationId, { fromMs: startedAt - 60_000, toMs: Date.now() + 60_000 });
  }

  const ADMIN_TOKEN = 'sources-wifi-admin-token-0123456';

  beforeAll(async () => {
    influx = await startTestInfluxd({ database: 'frostwatch_sources_wifi' });
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-sources-wifi-'));
    const settings = loadEnv(UpEnvSchema, {
      DATA_DIR: dir,
      HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: influx.database,
      ADMIN_TOKEN,
    });
    server = await assembleServer({
      settings,
      influxUrl: influx.url,
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      edge: gatewayEdge({ listen: { host: '127.0.0.1', mqttPort: 0, wsPort: 0 } }),
    });
    await server.listen();
    const ports = server.edge?.ports;
    if (!ports) throw new Error('the gateway did not bind');
    port = ports.mqttPort;
    await register(TASMOTA.id, 'tasmota', TASMOTA.deviceId);
    await register(ESPHOME.id, 'esphome', ESPHOME.deviceId, ESPHOME.fieldMap as FieldMap);
    await register(SHELLY.id, 'shelly', SHELLY.deviceId);
  }, 120_000);

  afterAll(async () => {
    // Each part only if beforeAll got that far.
    await (server as AssembledServer<GatewayEdge> | undefined)?.close();
    await (influx as TestInfluxd | undefined)?.stop();
    if ((dir as string | undefined) !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('stores a Tasmota SENSOR, hands it to the rule engine, and follows its LWT', async () => {
    const sensor = deviceFixture('tasmota', 'edge-sensor-sht3x-two-sensors-derived.json');
    await publish(TASMOTA.id, `tele/${TASMOTA.deviceId}/SENSOR`, sensor.text);
    await eventually(async () => {
      expect(await storedReadings(TASMOTA.id)).toEqual([expect.objectContaining({ airTempC: -1.4, rhPct: 96.2 })]);
    });
    expect((await server.warnings.engine.inspect(TASMOTA.id))?.window.toArray()).toEqual([
      expect.objectContaining({ airC: -1.4, rhPct: 96.2 }),
    ]);

    await publish(TASMOTA.id, `tele/${TASMOTA.deviceId}/LWT`, deviceFixture('tasmota', 'lwt-offline-docs.json').text);
    await eventually(() => expect(server.activity.get(TASMOTA.id).online).toBe(false));
    await publish(TASMOTA.id, `tele/${TASMOTA.deviceId}/LWT`, deviceFixture('tasmota', 'lwt-online-docs.json').text);
    await eventually(() => expect(server.activity.get(TASMOTA.id).online).toBe(true));
    // STATE is acknowledged and ignored: nothing stored, nothing refused.
    const before = await rejected('bad_json');
    await publish(TASMOTA.id, `tele/${TASMOTA.deviceId}/STATE`, deviceFixture('tasmota', 'state-docs.json').text);
    expect(await rejected('bad_json')).toBe(before);
  });

  it('pairs ESPHome humidity with the next temperature, and follows its status', async () => {
    await publish(
      ESPHOME.id,
      `${ESPHOME.deviceId}/sensor/frost_probe_humidity/state`,
      deviceFixture('esphome', 'sensor-state-integer-accuracy-derived.json').text,
    );
    await publish(
      ESPHOME.id,
      `${ESPHOME.deviceId}/sensor/frost_probe/state`,
      deviceFixture('esphome', 'sensor-state-frost-derived.json').text,
    );
    await eventually(async () => {
      expect(await storedReadings(ESPHOME.id)).toEqual([expect.objectContaining({ airTempC: -2.31, rhPct: 97 })]);
    });
    expect((await server.warnings.engine.inspect(ESPHOME.id))?.window.toArray()).toEqual([
      expect.objectContaining({ airC: -2.31, rhPct: 97 }),
    ]);

    await publish(ESPHOME.id, `${ESPHOME.deviceId}/status`, deviceFixture('esphome', 'status-offline-docs.json').text);
    await eventually(() => expect(server.activity.get(ESPHOME.id).online).toBe(false));
  });

  it('stores a Shelly NotifyFullStatus at its own time and follows its online topic', async () => {
    const full = deviceFixture('shelly', 'notifyfullstatus-plusht-derived.json');
    const tsS = Math.floor(Date.now() / 1_000) - 30 + 0.52;
    const frame = full.json as { params: Record<string, unknown> };
    const payload = JSON.stringify({ ...frame, params: { ...frame.params, ts: tsS } });
    await publish(SHELLY.id, `${SHELLY.deviceId}/events/rpc`, payload);
    await eventually(async () => {
      expect(await storedReadings(SHELLY.id)).toEqual([
        expect.objectContaining({ ts: new Date(Math.round(tsS * 1_000)).toISOString(), airTempC: 23.9, rhPct: 54.9, batteryV: 5.58 }),
      ]);
    });
    expect((await server.warnings.engine.inspect(SHELLY.id))?.window.toArray()).toEqual([
      expect.objectContaining({ airC: 23.9, batteryV: 5.58 }),
    ]);

    await publish(SHELLY.id, `${SHELLY.deviceId}/online`, deviceFixture('shelly', 'online-false-derived.json').text);
    await eventually(() => expect(server.activity.get(SHELLY.id).online).toBe(false));
    await publish(SHELLY.id, `${SHELLY.deviceId}/online`, deviceFixture('shelly', 'online-true-derived.json').text);
    await eventually(() => expect(server.activity.get(SHELLY.id).online).toBe(true));
  });

  it('diverts and counts bad payloads', async () => {
    const badJson = await rejected('bad_json');
    const wrongType = await rejected('wrong_type');
    await publish(TASMOTA.id, `tele/${TASMOTA.deviceId}/SENSOR`, deviceFixture('tasmota', 'edge-sensor-malformed-derived.json').text);
    await publish(SHELLY.id, `${SHELLY.deviceId}/events/rpc`, deviceFixture('shelly', 'edge-rpc-frame-not-json-derived.json').text);
    await publish(
      ESPHOME.id,
      `${ESPHOME.deviceId}/sensor/frost_probe/state`,
      deviceFixture('esphome', 'edge-sensor-state-garbage-derived.json').text,
    );
    await eventually(async () => {
      expect(await rejected('bad_json')).toBe(badJson + 2);
      expect(await rejected('wrong_type')).toBe(wrongType + 1);
    });
    expect(await storedReadings(TASMOTA.id)).toHaveLength(1);
    expect(await storedReadings(ESPHOME.id)).toHaveLength(1);
    // Visible per device: the station's API answer lists what its board sent that was refused.
    const esphome = await server.app.inject({
      method: 'GET',
      url: `/api/stations/${ESPHOME.id}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(esphome.json<{ refused: { reason: string; count: number }[] }>().refused).toEqual([
      expect.objectContaining({ reason: 'wrong_type', count: 1 }),
    ]);
    // And the sampling interval is the board's own: nothing frostwatch can set.
    expect(esphome.json<{ sampling: string }>().sampling).toBe('not_applicable');
  });

  it("refuses a device publishing on another device's topic", async () => {
    const forbidden = await rejected('forbidden_topic');
    const sensor = deviceFixture('tasmota', 'sensor-am2301-docs.json').text;
    await publish(TASMOTA.id, 'tele/someone-elses-plug/SENSOR', sensor);
    await publish(ESPHOME.id, `${SHELLY.deviceId}/online`, 'false');
    await publish(SHELLY.id, `stations/${TASMOTA.id}/readings`, JSON.stringify({ ts: Date.now(), airTempC: 30 }));
    await eventually(async () => expect(await rejected('forbidden_topic')).toBe(forbidden + 3));
    expect(await storedReadings(TASMOTA.id)).toEqual([expect.objectContaining({ airTempC: -1.4 })]);
    expect(server.activity.get(SHELLY.id).online).toBe(true);
  });

  it("lets a board subscribe to its own device's command topics only", async () => {
    const tasmota = await connectStation(`mqtt://127.0.0.1:${port}`, TASMOTA.id, tokens[TASMOTA.id] ?? '');
    const shelly = await connectStation(`mqtt://127.0.0.1:${port}`, SHELLY.id, tokens[SHELLY.id] ?? '');
    try {
      /** The SUBACK's granted QoS: 1, or 128 for a refused filter (mqtt.js rejects then, with the packet). */
      const granted = async (client: typeof tasmota, filter: string): Promise<number | undefined> => {
        try {
          return (await client.subscribeAsync(filter, { qos: 1 }))[0]?.qos;
        } catch (err) {
          return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
        }
      };
      expect(await granted(tasmota, `cmnd/${TASMOTA.deviceId}/#`)).toBe(1);
      expect(await granted(tasmota, 'cmnd/tasmotas/#')).toBe(128);
      expect(await granted(tasmota, `cmnd/${SHELLY.deviceId}/#`)).toBe(128);
      expect(await granted(tasmota, `tele/${TASMOTA.deviceId}/#`)).toBe(128);
      expect(await granted(shelly, `${SHELLY.deviceId}/rpc`)).toBe(1);
      expect(await granted(shelly, `${SHELLY.deviceId}/#`)).toBe(1);
      expect(await granted(shelly, `${ESPHOME.deviceId}/#`)).toBe(128);
      expect(await granted(shelly, 'stations/#')).toBe(128);
    } finally {
      await closeClients(tasmota, shelly);
    }
  });
});
