import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationId, ALL_READINGS_FILTER, ALL_STATUS_FILTER, configTopic, readingsTopic, statusTopic } from '../../contracts/index.js';
import {
  NOW,
  type RunningGateway,
  closeClients,
  connackCode,
  connectStation,
  eventually,
  metricValue,
  mosquittoPub,
  mosquittoSub,
  startGateway,
} from '../helpers/mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const A = 'st-a' as StationId;
const B = 'st-b' as StationId;
const TOKEN_A = 'token-a';
const TOKEN_B = 'token-b';
const TOKENS: Record<string, string> = { [A]: TOKEN_A, [B]: TOKEN_B };
const SERVICE = { username: 'frostwatch-server', password: 'service-secret' };
const reading = (seq: number): string => JSON.stringify({ ts: NOW - 60_000, airTempC: 1.5, seq });

describe('gateway: authentication and ACL', () => {
  const sink = new RecordingSink();
  let gw: RunningGateway;
  const clients: MqttClient[] = [];
  const station = async (id: string, token: string): Promise<MqttClient> => {
    const client = await connectStation(gw.mqttUrl, id, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startGateway(TOKENS, sink, { serviceAccount: SERVICE });
  });
  afterAll(async () => {
    await closeClients(...clients);
    await gw.gateway.close();
  });

  it('accepts a station with its token and counts it as connected', async () => {
    const client = await station(A, TOKEN_A);
    expect(client.connected).toBe(true);
    await eventually(async () => expect(await metricValue(gw.registry, 'frostwatch_gateway_connected_stations')).toBe(1));
    await client.endAsync();
    await eventually(async () => expect(await metricValue(gw.registry, 'frostwatch_gateway_connected_stations')).toBe(0));
  });

  it('refuses a wrong token (4), an unknown station (5) and a malformed id (4), counting each reason', async () => {
    expect(await connackCode(gw.mqttUrl, A, 'wrong')).toBe(4);
    expect(await connackCode(gw.mqttUrl, 'st-nobody', 'token-a')).toBe(5);
    expect(await connackCode(gw.mqttUrl, 'St A/#', 'token-a')).toBe(4);
    expect(await connackCode(gw.mqttUrl, SERVICE.username, 'not-the-secret')).toBe(4);
    const failures = (reason: string) => metricValue(gw.registry, 'frostwatch_gateway_auth_failures_total', { reason });
    expect(await failures('bad_token')).toBe(2);
    expect(await failures('unknown_station')).toBe(1);
    expect(await failures('bad_station_id')).toBe(1);
  });

  it('delivers a QoS 1 reading from mosquitto_pub with the right credentials, and refuses wrong ones', async () => {
    const port = String(gw.mqttPort);
    const base = ['-h', '127.0.0.1', '-p', port, '-q', '1', '-t', readingsTopic(B), '-u', B];
    const ok = await mosquittoPub([...base, '-P', TOKEN_B, '-m', reading(101)]);
    expect(ok.code).toBe(0);
    expect(sink.readingsOf(B).map((r) => r.seq)).toContain(101);
    const refused = await mosquittoPub([...base, '-P', 'wrong', '-m', reading(102)]);
    expect(refused.code).not.toBe(0);
    expect(sink.readingsOf(B).map((r) => r.seq)).not.toContain(102);
  });

  it("diverts a publish to another station's topic, counts forbidden_topic and keeps the station connected", async () => {
    const client = await station(A, TOKEN_A);
    const before = await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason: 'forbidden_topic' });
    await client.publishAsync(readingsTopic(B), reading(201), { qos: 1 });
    await client.publishAsync(statusTopic(B), '{"online":false}', { qos: 1, retain: true });
    await client.publishAsync(configTopic(A), '{"intervalS":10}', { qos: 1, retain: true });
    await client.publishAsync('$SYS/broker/spoof', 'x', { qos: 1 });
    expect(client.connected).toBe(true);
    await client.publishAsync(readingsTopic(A), reading(202), { qos: 1 });
    expect(sink.readings.map((r) => r.reading.seq)).not.toContain(201);
    expect(sink.statuses.filter((s) => s.stationId === B)).toEqual([]);
    expect(sink.readingsOf(A).map((r) => r.seq)).toContain(202);
    expect(await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason: 'forbidden_topic' })).toBe(before + 3);
    expect(await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason: 'unknown_topic' })).toBe(1);
  });

  it("refuses a subscription to another station's config with SUBACK 0x80, grants its own", async () => {
    const client = await station(A, TOKEN_A);
    await expect(client.subscribeAsync(configTopic(B), { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    await expect(client.subscribeAsync('#', { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
    const granted = await client.subscribeAsync(configTopic(A), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    expect(client.connected).toBe(true);
  });

  it('lets the service account set a station config, which the station receives (retained)', async () => {
    const service = await station(SERVICE.username, SERVICE.password);
    await service.publishAsync(configTopic(B), '{"intervalS":15}', { qos: 1, retain: true });
    const client = await station(B, TOKEN_B);
    const received = new Promise<string>((resolve) => client.once('message', (_t, payload) => resolve(payload.toString())));
    await client.subscribeAsync(configTopic(B), { qos: 1 });
    expect(await received).toBe('{"intervalS":15}');
  });

  it('shows the service account valid readings and statuses only: nothing refused, nothing refused retained', async () => {
    const client = await station(A, TOKEN_A);
    await client.publishAsync(statusTopic(A), '{"online":true,"fw":"1.2.0"}', { qos: 1, retain: true });
    const sub = mosquittoSub([
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.mqttPort),
      '-u',
      SERVICE.username,
      '-P',
      SERVICE.password,
      '-q',
      '1',
      '-t',
      ALL_READINGS_FILTER,
      '-t',
      ALL_STATUS_FILTER,
    ]);
    try {
      await sub.subscribed;
      await client.publishAsync(statusTopic(A), 'not json', { qos: 1, retain: true });
      await client.publishAsync(readingsTopic(A), '{"airTempC":', { qos: 1 });
      await client.publishAsync(readingsTopic(B), reading(301), { qos: 1 });
      await client.publishAsync(readingsTopic(A), reading(302), { qos: 1 });
      // Messages of one publisher arrive in order: once the marker is there, anything refused before it would be too.
      await eventually(() => expect(sub.messages.some((m) => m.includes('"seq":302'))).toBe(true));
      expect(sub.messages).toEqual([`${statusTopic(A)} {"online":true,"fw":"1.2.0"}`, `${readingsTopic(A)} ${reading(302)}`]);
    } finally {
      await sub.stop();
    }
    // The refused retained status did not replace the good one.
    const late = await station(SERVICE.username, SERVICE.password);
    const retained = new Promise<string>((resolve) => late.once('message', (_t, payload) => resolve(payload.toString())));
    await late.subscribeAsync(ALL_STATUS_FILTER, { qos: 1 });
    expect(await retained).toBe('{"online":true,"fw":"1.2.0"}');
    await expect(late.subscribeAsync('#', { qos: 1 })).rejects.toMatchObject({ packet: { granted: [128] } });
  });
});
