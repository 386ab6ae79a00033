import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReadingInput, type StationId, readingsTopic, statusTopic } from '../../contracts/index.js';
import { NOW, type RunningGateway, closeClients, connectStation, startGateway } from '../helpers/mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-settings.js';
import { asReceived, mixedBatch, validReading } from './reading-arbitraries.js';

/**
 * The same boundary through the real gateway (Aedes on port 0, mqtt.js, QoS 1): once a mixed batch is PUBACKed,
 * every valid reading of it has been handed on durably, in order, exactly as sent; and whatever bytes a station
 * publishes, its connection and its next valid reading are unharmed.
 */
const STATION = 'ld-fuzz-gw' as StationId;
const TOKEN = 'fuzz-gateway-token';
const sink = new RecordingSink();
let gw: RunningGateway | undefined;
let station: MqttClient;

beforeAll(async () => {
  // The per-station publish limit has tests of its own (a fuzzer publishes far faster than any station).
  gw = await startGateway({ [STATION]: TOKEN }, sink, { trafficLimits: { publishesPerS: 100_000, publishBurst: 100_000 } });
  station = await connectStation(gw.mqttUrl, STATION, TOKEN);
});

afterAll(async () => {
  await closeClients(station);
  await gw?.gateway.close();
});

describe('gateway: hostile batches', () => {
  it(
    'stores every valid reading of a mixed batch before the PUBACK',
    async () => {
      await fc.assert(
        fc.asyncProperty(mixedBatch(NOW, 30), async (items) => {
          const before = sink.readingsOf(STATION).length;
          await station.publishAsync(readingsTopic(STATION), JSON.stringify(items.map((i) => i.r)), { qos: 1 });
          const valid = items.filter((i) => i.valid).map((i) => asReceived(i.r as ReadingInput));
          expect(sink.readingsOf(STATION).slice(before)).toEqual(valid);
        }),
        fuzzRuns(150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'keeps the station connected and its next reading stored, whatever bytes it sent first',
    async () => {
      const garbage = fc.oneof(
        fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
        fc.jsonValue().map((j) => Buffer.from(JSON.stringify(j))),
      );
      await fc.assert(
        fc.asyncProperty(garbage, fc.boolean(), validReading(NOW), async (payload, toStatus, next) => {
          await station.publishAsync(toStatus ? statusTopic(STATION) : readingsTopic(STATION), payload, { qos: 1 });
          await station.publishAsync(readingsTopic(STATION), JSON.stringify(next), { qos: 1 });
          expect(station.connected).toBe(true);
          expect(sink.readingsOf(STATION).at(-1)).toEqual(asReceived(next));
        }),
        fuzzRuns(150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
