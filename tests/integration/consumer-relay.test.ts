import { type AddressInfo, type Server, createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_READINGS_FILTER, type StationId, readingsTopic } from '../../contracts/index.js';
import { ConsumerRelay } from '../../gateway/consumer-relay.js';
import { HOST, NOW, closeClients, eventually } from '../helpers/mqtt.js';

const TIMEOUT_MS = 120_000;
const topic = readingsTopic('ld-r' as StationId);
const payload = Buffer.from(JSON.stringify({ ts: NOW, airTempC: 0.5 }), 'utf8');

/** A clock on which every read is `TIMEOUT_MS` + 1 later than the one before: each deadline has passed when checked. */
function leapingNow(): () => number {
  let t = 0;
  return () => (t += TIMEOUT_MS + 1);
}

/**
 * The relay's waits are deadlines on the time line it is given (`now`), so a test drives them instead of sleeping
 * through them. Each case below would take two minutes on the wall clock; on the injected one it ends at once.
 */
describe('ConsumerRelay: deadlines on the injected clock', () => {
  let broker: Aedes | undefined;
  let server: Server | undefined;
  let consumer: MqttClient | undefined;
  afterEach(async () => {
    await closeClients(consumer);
    if (server) await new Promise((resolve) => server?.close(resolve));
    if (broker) await new Promise<void>((resolve) => broker?.close(() => resolve()));
    [broker, server, consumer] = [undefined, undefined, undefined];
  });

  it('gives up waiting for a consumer once the injected clock passes the deadline', async () => {
    broker = await Aedes.createBroker();
    const relay = new ConsumerRelay({
      isConsumer: () => true,
      timeoutMs: TIMEOUT_MS,
      logger: pino({ level: 'silent' }),
      now: leapingNow(),
    });
    relay.attach(broker);
    const started = performance.now();
    expect((await relay.deliver(topic, payload))?.message).toMatch(/no server consuming/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('gives up waiting for the consumer’s PUBACK once the injected clock passes the deadline', async () => {
    broker = await Aedes.createBroker();
    const relay = new ConsumerRelay({
      isConsumer: (client) => client?.id === 'frostwatch-ingest',
      timeoutMs: TIMEOUT_MS,
      logger: pino({ level: 'silent' }),
      now: leapingNow(),
    });
    relay.attach(broker);
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server?.listen(0, HOST, resolve));
    const { port } = server.address() as AddressInfo;
    consumer = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, { clientId: 'frostwatch-ingest', protocolVersion: 4, reconnectPeriod: 0 });
    const received: string[] = [];
    // Takes the message and never acknowledges it: only the deadline can end the relay's wait.
    consumer.handleMessage = (packet) => received.push(packet.topic);
    await consumer.subscribeAsync(ALL_READINGS_FILTER, { qos: 1 });
    expect(relay.ready()).toBe(true);
    const started = performance.now();
    expect((await relay.deliver(topic, payload))?.message).toMatch(/did not acknowledge within 120000 ms/);
    expect(performance.now() - started).toBeLessThan(5_000);
    await eventually(() => expect(received).toEqual([topic]));
  });
});
