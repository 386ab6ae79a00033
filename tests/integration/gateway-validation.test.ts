import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationId, readingsTopic } from '../../contracts/index.js';
import { NOW, type RunningGateway, closeClients, connectStation, eventually, metricValue, startGateway } from '../helpers/mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const BAD = 'st-bad' as StationId;
const GOOD = 'st-good' as StationId;
const TOKEN_BAD = 'token-bad';
const TOKEN_GOOD = 'token-good';
const TOKENS: Record<string, string> = { [BAD]: TOKEN_BAD, [GOOD]: TOKEN_GOOD };
const GOOD_SEQS = 300;

const rejected = (gw: RunningGateway, reason: string) => metricValue(gw.registry, 'frostwatch_gateway_rejected_total', { reason });

describe('gateway: payload validation', () => {
  const sink = new RecordingSink();
  let gw: RunningGateway;
  let bad: MqttClient;
  let good: MqttClient;

  beforeAll(async () => {
    gw = await startGateway(TOKENS, sink);
    bad = await connectStation(gw.mqttUrl, BAD, TOKEN_BAD);
    good = await connectStation(gw.mqttUrl, GOOD, TOKEN_GOOD);
  });
  afterAll(async () => {
    await closeClients(bad, good);
    await gw.gateway.close();
  });

  it('acknowledges, counts and drops each kind of bad payload while another station loses nothing', async () => {
    const goodTraffic = Promise.all(
      Array.from({ length: GOOD_SEQS }, (_, seq) =>
        good.publishAsync(readingsTopic(GOOD), JSON.stringify({ ts: NOW - seq * 1_000, airTempC: 0.5, seq }), { qos: 1 }),
      ),
    );
    const topic = readingsTopic(BAD);
    const payloads = [
      '{"ts": 1736971200000, "airTempC": ', // bad_json
      JSON.stringify({ ts: NOW, airTempC: 'cold' }), // wrong_type
      `{"ts": ${NOW}, "airTempC": 1e999}`, // non_finite (JSON.parse gives Infinity)
      JSON.stringify({ ts: NOW, rhPct: 90 }), // missing_field
      JSON.stringify({ ts: NOW, airTempC: 2, pad: 'x'.repeat(300 * 1024) }), // too_large, under the packet guard
      JSON.stringify([
        { ts: NOW - 120_000, airTempC: 3.1, seq: 1 },
        { ts: NOW - 60_000, airTempC: 500, seq: 2 },
        { ts: NOW, airTempC: 2.9, seq: 3 },
      ]),
    ];
    for (const payload of payloads) await bad.publishAsync(topic, payload, { qos: 1 });
    expect(bad.connected).toBe(true);
    await goodTraffic;

    expect(sink.readingsOf(BAD).map((r) => r.seq)).toEqual([1, 3]);
    const goodSeqs = new Set(sink.readingsOf(GOOD).map((r) => r.seq));
    expect(goodSeqs.size).toBe(GOOD_SEQS);
    for (const reason of ['bad_json', 'wrong_type', 'non_finite', 'missing_field', 'too_large', 'out_of_range']) {
      expect({ reason, count: await rejected(gw, reason) }).toEqual({ reason, count: 1 });
    }
    expect(await metricValue(gw.registry, 'frostwatch_gateway_messages_total', { kind: 'rejected' })).toBe(5);
    expect(await metricValue(gw.registry, 'frostwatch_gateway_messages_total', { kind: 'readings' })).toBe(GOOD_SEQS + 1);
  });

  it('closes the connection of a 1 MB publish before buffering it, counts too_large, and keeps serving others', async () => {
    const flooder = await connectStation(gw.mqttUrl, BAD, TOKEN_BAD, { clientId: 'flooder' });
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()));
    const before = await rejected(gw, 'too_large');
    flooder.publish(readingsTopic(BAD), Buffer.alloc(1024 * 1024, 0x20), { qos: 1 });
    await closed;
    await eventually(async () => expect(await rejected(gw, 'too_large')).toBe(before + 1));
    await good.publishAsync(readingsTopic(GOOD), JSON.stringify({ ts: NOW, airTempC: 0.1, seq: 9_999 }), { qos: 1 });
    expect(sink.readingsOf(GOOD).map((r) => r.seq)).toContain(9_999);
    await flooder.endAsync(true);
  });

  it('logs refusals with the station id, at most once per station and reason per minute', async () => {
    const before = await rejected(gw, 'clock_future');
    for (let i = 0; i < 20; i++)
      await bad.publishAsync(readingsTopic(BAD), JSON.stringify({ ts: NOW + 3_600_000, airTempC: 1 }), { qos: 1 });
    expect(await rejected(gw, 'clock_future')).toBe(before + 20);
    const logged = gw.lines.filter((l) => l.msg === 'payload refused' && l.reason === 'clock_future');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ stationId: BAD, level: 40 });
  });
});
