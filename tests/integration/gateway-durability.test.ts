import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationId, readingsTopic, statusTopic } from '../../contracts/index.js';
import { NOW, type RunningGateway, closeClients, connectStation, eventually, metricValue, startGateway } from '../helpers/mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const A = 'st-a' as StationId;
const B = 'st-b' as StationId;
const TOKEN_A = 'token-a';
const TOKEN_B = 'token-b';
const TOKENS: Record<string, string> = { [A]: TOKEN_A, [B]: TOKEN_B };
const reading = (seq: number): string => JSON.stringify({ ts: NOW - 60_000, airTempC: -1.5, seq });

describe('gateway: at-least-once delivery', () => {
  const sink = new RecordingSink();
  let gw: RunningGateway;
  const clients: MqttClient[] = [];
  const station = async (id: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> => {
    const client = await connectStation(gw.mqttUrl, id, TOKENS[id] ?? '', options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    gw = await startGateway(TOKENS, sink);
  });
  afterAll(async () => {
    sink.release();
    await closeClients(...clients);
    await gw.gateway.close();
  });

  it('holds the PUBACK until the sink says the reading is durable', async () => {
    const client = await station(A);
    const other = await station(B);
    sink.hold();
    let acked = false;
    const published = client.publishAsync(readingsTopic(A), reading(1), { qos: 1 }).then(() => (acked = true));
    await sink.waitFor('the reading to reach the sink', () => sink.heldCount === 1);
    // A full round trip through the broker on another connection, while the sink still holds ours.
    await other.publishAsync(readingsTopic(B), 'not json', { qos: 1 });
    expect(acked).toBe(false);
    expect(sink.readingsOf(A)).toEqual([]);
    sink.release();
    await published;
    expect(acked).toBe(true);
    expect(sink.readingsOf(A).map((r) => r.seq)).toEqual([1]);
  });

  it('does not acknowledge when storage fails, and gets the reading once storage is back and the station reconnects', async () => {
    const client = await station(A, { clientId: 'st-a-durable', clean: false, reconnectPeriod: 50 });
    sink.fail();
    let acked = false;
    const published = client.publishAsync(readingsTopic(A), reading(7), { qos: 1 }).then(() => (acked = true));
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(acked).toBe(false);
    expect(sink.readingsOf(A).map((r) => r.seq)).not.toContain(7);
    sink.accept();
    await published;
    expect(sink.readingsOf(A).map((r) => r.seq)).toContain(7);
  });

  it("publishes the will (online: false) to the sink when a station's socket dies", async () => {
    const client = await station(B, {
      clientId: 'st-b-will',
      will: { topic: statusTopic(B), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    await client.publishAsync(statusTopic(B), '{"online":true,"fw":"2.0.1"}', { qos: 1, retain: true });
    client.stream.destroy();
    await sink.waitFor('the will', () => sink.statuses.some((s) => s.stationId === B && !s.status.online));
    expect(sink.statuses.filter((s) => s.stationId === B).map((s) => s.status)).toEqual([{ online: true, fw: '2.0.1' }, { online: false }]);
  });

  it("refuses a will aimed at another station's status", async () => {
    const before = await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason: 'forbidden_topic' });
    const client = await station(A, {
      clientId: 'st-a-forger',
      will: { topic: statusTopic(B), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    const statusesOfB = sink.statuses.filter((s) => s.stationId === B).length;
    client.stream.destroy();
    await eventually(async () =>
      expect(await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason: 'forbidden_topic' })).toBe(before + 1),
    );
    expect(sink.statuses.filter((s) => s.stationId === B)).toHaveLength(statusesOfB);
  });

  it('stores a reading published over MQTT over WebSocket', async () => {
    const client = await connectStation(gw.wsUrl, A, TOKEN_A);
    clients.push(client);
    await client.publishAsync(readingsTopic(A), reading(42), { qos: 1 });
    expect(sink.readingsOf(A).map((r) => r.seq)).toContain(42);
  });
});

describe('gateway: close', () => {
  it('closes its clients and can be closed twice', async () => {
    const gw = await startGateway(TOKENS, new RecordingSink());
    const client = await connectStation(gw.mqttUrl, A, TOKEN_A);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await gw.gateway.close();
    await closed;
    await gw.gateway.close();
    await expect(connectStation(gw.mqttUrl, A, TOKEN_A, { connectTimeout: 1_000 })).rejects.toThrow();
    await client.endAsync(true);
  });
});
