import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_READINGS_FILTER, ALL_STATUS_FILTER, readingsTopic, statusTopic, type StationId } from '../../contracts/index.js';
import { NOW, type RunningGateway, closeClients, connectStation, startGateway } from '../helpers/mqtt.js';

const TOKENS = { 'ld-r': 'token-of-ld-r-0123456789' };
const SERVICE = { username: 'frostwatch-server', password: 'service-password-0123456789' };
const topic = readingsTopic('ld-r' as StationId);

/** A consumer like `frostwatch server`'s: persistent session, and a PUBACK held for `holdMs` after each message. */
async function consumer(url: string, holdMs: number, received: string[]): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    ...SERVICE,
    clientId: 'frostwatch-ingest',
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  client.handleMessage = (packet, callback) => {
    received.push(`${packet.topic} ${String(packet.payload)}`);
    setTimeout(() => callback(), holdMs);
  };
  await client.subscribeAsync([ALL_READINGS_FILTER, ALL_STATUS_FILTER], { qos: 1 });
  return client;
}

/**
 * The gateway run alone (no in-process sink, a server consuming over MQTT) acknowledges a station's reading only
 * after the server acknowledged it — the server does so once the reading is in its spool — and delivers it once.
 */
describe('gateway run alone: the station PUBACK waits for the server', () => {
  let gw: RunningGateway | undefined;
  let clients: Array<MqttClient | undefined> = [];
  afterEach(async () => {
    await closeClients(...clients);
    await gw?.gateway.close();
    gw = undefined;
    clients = [];
  });

  it('PUBACK only after the consumer acknowledged, and the reading reaches it exactly once', async () => {
    gw = await startGateway(TOKENS, undefined, { serviceAccount: SERVICE, relayTimeoutMs: 5_000 });
    const received: string[] = [];
    const server = await consumer(gw.mqttUrl, 400, received);
    const station = await connectStation(gw.mqttUrl, 'ld-r', TOKENS['ld-r']);
    clients = [server, station];
    const payload = JSON.stringify({ ts: NOW - 60_000, airTempC: 0.5, seq: 1 });
    const started = performance.now();
    await station.publishAsync(topic, payload, { qos: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(380);
    await new Promise((r) => setTimeout(r, 200)); // anything sent twice would have arrived by now
    expect(received).toEqual([`${topic} ${payload}`]);
  });

  it('no server consuming: no PUBACK; the connection is closed when the wait runs out, and the resend goes through', async () => {
    gw = await startGateway(TOKENS, undefined, { serviceAccount: SERVICE, relayTimeoutMs: 1_000 });
    const station = await connectStation(gw.mqttUrl, 'ld-r', TOKENS['ld-r'], { clientId: 'ld-r', clean: false, reconnectPeriod: 200 });
    clients = [station];
    let acked = false;
    const closed = new Promise<void>((resolve) => station.once('close', () => resolve()));
    const publish = station
      .publishAsync(topic, JSON.stringify({ ts: NOW - 30_000, airTempC: 0.4, seq: 2 }), { qos: 1 })
      .then(() => (acked = true));
    await closed;
    expect(acked).toBe(false);
    const received: string[] = [];
    clients.push(await consumer(gw.mqttUrl, 0, received));
    await publish; // mqtt.js resends the unacknowledged publish after reconnecting
    expect(acked).toBe(true);
    expect(received.length).toBeGreaterThanOrEqual(1);
  });

  it('a status is relayed the same way, and stays retained for the next subscriber', async () => {
    gw = await startGateway(TOKENS, undefined, { serviceAccount: SERVICE, relayTimeoutMs: 5_000 });
    const received: string[] = [];
    const server = await consumer(gw.mqttUrl, 300, received);
    const station = await connectStation(gw.mqttUrl, 'ld-r', TOKENS['ld-r']);
    clients = [server, station];
    const status = statusTopic('ld-r' as StationId);
    const started = performance.now();
    await station.publishAsync(status, JSON.stringify({ online: true, fw: '1.0.0' }), { qos: 1, retain: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(received).toEqual([`${status} {"online":true,"fw":"1.0.0"}`]);
    const later: string[] = [];
    const viewer = await mqtt.connectAsync(gw.mqttUrl, { ...SERVICE, clientId: 'second-consumer', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(viewer);
    viewer.on('message', (topic, payload, packet) => later.push(`${topic} ${String(payload)} retain=${String(packet.retain)}`));
    await viewer.subscribeAsync(ALL_STATUS_FILTER, { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(later).toEqual([`${status} {"online":true,"fw":"1.0.0"} retain=true`]);
  });
});
