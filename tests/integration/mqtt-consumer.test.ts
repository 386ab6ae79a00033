import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RejectReasonSchema, type StationId, readingsTopic, statusTopic } from '../../contracts/index.js';
import { createRejectLog } from '../../gateway/reject-log.js';
import { type MqttConsumer, startMqttConsumer } from '../../server/ingest/mqtt-consumer.js';
import { findFreePort } from '../../server/influx/free-port.js';
import {
  HOST,
  NOW,
  type RunningGateway,
  capturingLogger,
  closeClients,
  connectStation,
  eventually,
  fixedClock,
  metricValue,
  startGateway,
} from '../helpers/mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const STATION = 'ld-c' as StationId;
const TOKEN = 'token-of-ld-c-0123456789';

/**
 * The broker consumer of `frostwatch server`, in-process, on Debian's Mosquitto: it runs the gateway's intake
 * (gateway/intake.ts), so the same payloads give the same readings and the same refusals, counted by the same
 * reasons, as the in-process Aedes gateway; and it holds each PUBACK to the broker until the sink said durable.
 */
describe('mqtt consumer: the gateway intake on any broker', () => {
  let dir: string;
  let mosquitto: ChildProcess | undefined;
  let brokerUrl: string;
  const sink = new RecordingSink();
  const metrics = new Registry();
  let consumer: MqttConsumer | undefined;
  let publisher: MqttClient | undefined;
  const pubacks: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-consumer-'));
    const port = await findFreePort();
    brokerUrl = `mqtt://${HOST}:${port}`;
    await writeFile(join(dir, 'mosquitto.conf'), `listener ${port} ${HOST}\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    publisher = await connectWhenListening(brokerUrl);
    const { logger } = capturingLogger();
    consumer = startMqttConsumer({
      url: brokerUrl,
      clientId: 'frostwatch-ingest-test',
      sink,
      rejects: createRejectLog(
        new Counter({ name: 'frostwatch_ingest_rejected_total', help: 'h', labelNames: ['reason'] as const, registers: [metrics] }),
        logger,
        fixedClock,
      ),
      isKnownStation: (id) => id === STATION,
      clock: fixedClock,
      logger,
    });
    const subscribed = new Promise<void>((resolve) =>
      consumer?.client.on('packetreceive', (packet) => {
        if (packet.cmd === 'suback') resolve();
      }),
    );
    consumer.client.on('packetsend', (packet) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) pubacks.push(packet.messageId);
    });
    await subscribed;
  });
  afterAll(async () => {
    await closeClients(publisher);
    await consumer?.close();
    mosquitto?.kill('SIGTERM');
    if (mosquitto) await once(mosquitto, 'exit');
    await rm(dir, { recursive: true, force: true });
  });

  /** Mosquitto takes a moment to listen after it was spawned. */
  async function connectWhenListening(url: string): Promise<MqttClient> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: 'publisher' }, false);
      } catch (err) {
        if (attempt > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  const publish = async (topic: string, payload: unknown): Promise<void> => {
    await publisher!.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });
  };
  const rejected = (reason: string) => metricValue(metrics, 'frostwatch_ingest_rejected_total', { reason });

  it('stores and refuses exactly as the in-process gateway does, payload by payload', async () => {
    const payloads: Array<[kind: 'readings' | 'status', payload: unknown]> = [
      ['readings', '{"ts": 1736971200000, "airTempC": '], // bad_json
      ['readings', { ts: NOW, airTempC: 'cold' }], // wrong_type
      ['readings', `{"ts": ${NOW}, "airTempC": 1e999}`], // non_finite
      ['readings', { ts: NOW, rhPct: 90 }], // missing_field
      ['readings', { ts: NOW, airTempC: 2, pad: 'x'.repeat(300 * 1024) }], // too_large
      ['readings', { ts: NOW + 3_600_000, airTempC: 1 }], // clock_future
      ['readings', '[]'], // empty_batch
      [
        'readings',
        [
          { ts: NOW - 120_000, airTempC: 3.1, seq: 1 },
          { ts: NOW - 60_000, airTempC: 500, seq: 2 },
          { ts: NOW - 30_000, airTempC: 'x', seq: 3 },
          { ts: NOW, airTempC: 2.9, seq: 4 },
        ],
      ],
      ['status', { online: 'yes' }], // bad_status
      ['status', { online: true, fw: '2.0.1' }],
      ['readings', { ts: NOW, airTempC: 0.5, seq: 5 }],
    ];
    const gatewaySink = new RecordingSink();
    const gw: RunningGateway = await startGateway({ [STATION]: TOKEN }, gatewaySink);
    const station = await connectStation(gw.mqttUrl, STATION, TOKEN);
    try {
      for (const [kind, payload] of payloads) {
        const topic = kind === 'readings' ? readingsTopic(STATION) : statusTopic(STATION);
        const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
        await station.publishAsync(topic, text, { qos: 1 });
        await publish(topic, payload);
      }
      // One session, one message at a time, in order: once the last reading is in, every message before it was handled.
      await sink.waitFor('the last reading', () => sink.readingsOf(STATION).some((r) => r.seq === 5));

      expect(sink.readingsOf(STATION).map((r) => r.seq)).toEqual([1, 4, 5]);
      expect(gatewaySink.readingsOf(STATION).map((r) => r.seq)).toEqual([1, 4, 5]);
      expect(sink.statuses).toEqual(gatewaySink.statuses);
      expect(sink.statuses).toEqual([{ stationId: STATION, status: { online: true, fw: '2.0.1' } }]);
      const counts: Record<string, [consumer: number, gateway: number]> = {};
      for (const reason of RejectReasonSchema.options) {
        const pair: [number, number] = [
          await rejected(reason),
          await metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason }),
        ];
        if (pair[0] !== 0 || pair[1] !== 0) counts[reason] = pair;
      }
      expect(counts).toEqual({
        bad_json: [1, 1],
        wrong_type: [2, 2],
        non_finite: [1, 1],
        missing_field: [1, 1],
        too_large: [1, 1],
        clock_future: [1, 1],
        empty_batch: [1, 1],
        out_of_range: [1, 1],
        bad_status: [1, 1],
      });
    } finally {
      await closeClients(station);
      await gw.gateway.close();
    }
  });

  it('refuses readings of a station the registry does not know, and topics that name no station', async () => {
    const [unknownBefore, topicBefore] = [await rejected('unknown_station'), await rejected('unknown_topic')];
    await publish(readingsTopic('ld-nobody' as StationId), { ts: NOW, airTempC: 1, seq: 100 });
    await publish('stations/Not_A_Station/readings', { ts: NOW, airTempC: 1, seq: 101 });
    await publish(readingsTopic(STATION), { ts: NOW, airTempC: 1, seq: 102 });
    await sink.waitFor('the known station’s reading', () => sink.readingsOf(STATION).some((r) => r.seq === 102));
    expect(await rejected('unknown_station')).toBe(unknownBefore + 1);
    expect(await rejected('unknown_topic')).toBe(topicBefore + 1);
    expect(sink.readings.filter((r) => r.reading.seq === 100 || r.reading.seq === 101)).toEqual([]);
  });

  it('holds the PUBACK to the broker until the sink says durable', async () => {
    sink.hold();
    const before = pubacks.length;
    await publish(readingsTopic(STATION), { ts: NOW, airTempC: 1, seq: 200 });
    await sink.waitFor('the reading to be held', () => sink.heldCount === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(pubacks.length).toBe(before);
    sink.release();
    await eventually(() => expect(pubacks.length).toBe(before + 1));
    expect(sink.readingsOf(STATION).map((r) => r.seq)).toContain(200);
  });

  it('does not acknowledge when the sink fails: it reconnects and the broker redelivers', async () => {
    sink.fail(new Error('spool disk gone'));
    const before = pubacks.length;
    const dropped = new Promise<void>((resolve) => consumer!.client.once('close', () => resolve()));
    await publish(readingsTopic(STATION), { ts: NOW, airTempC: 1, seq: 300 });
    await dropped;
    expect(pubacks.length).toBe(before);
    sink.accept();
    await sink.waitFor('the redelivered reading', () => sink.readingsOf(STATION).some((r) => r.seq === 300), 15_000);
    await eventually(() => expect(pubacks.length).toBeGreaterThan(before));
  });
});
