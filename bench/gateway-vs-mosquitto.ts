/**
 * Measurement 2 (issue 5): the same QoS 1 publishers and one QoS 1 subscriber against the frostwatch gateway
 * (the whole system in-process: every publish validated and made durable before its PUBACK; the subscriber is
 * the service account on all readings) and against Debian's Mosquitto: messages per second through to the
 * subscriber, and p99 publish→receive latency.
 */
import { ALL_READINGS_FILTER, StationIdSchema, readingsTopic } from '../contracts/index.js';
import { startBenchInflux } from './lib/influxd.js';
import { startMosquitto } from './lib/mosquitto.js';
import {
  type PublisherSpec,
  closeClients,
  connectPublishers,
  publishFor,
  readingPayload,
  readingsBase,
  PUBLISHERS,
  WINDOW,
} from './lib/publishers.js';
import { percentile, round, waitUntil } from './lib/stats.js';
import { SendTimes, startLatencySubscriber } from './lib/subscriber.js';
import { SERVICE_ACCOUNT, startBenchSystem } from './lib/system.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

interface Result {
  rate: number;
  p50: number;
  p99: number;
  received: number;
  acked: number;
}

export const bench: Bench = {
  id: 'gateway-vs-mosquitto',
  title: 'frostwatch gateway against Mosquitto, same publishers and subscriber',
  run: async (options) => {
    const durationMs = options.quick ? 4_000 : 20_000;
    const gateway = await againstGateway(durationMs, options);
    const mosquitto = await againstMosquitto(durationMs, options);
    return rows(gateway, mosquitto);
  },
};

async function againstGateway(durationMs: number, options: BenchOptions): Promise<Result> {
  const influx = await startBenchInflux();
  try {
    const system = await startBenchSystem(influx);
    try {
      const stations = await system.registerStations(PUBLISHERS);
      const specs = stations.map((s) => ({
        url: system.mqttUrl,
        topic: readingsTopic(s.stationId),
        username: s.stationId,
        password: s.token,
      }));
      return await measure(specs, SERVICE_ACCOUNT, durationMs, (line) => options.progress(`gateway: ${line}`));
    } finally {
      await system.close();
    }
  } finally {
    await influx.stop();
  }
}

async function againstMosquitto(durationMs: number, options: BenchOptions): Promise<Result> {
  const mosquitto = await startMosquitto();
  try {
    const specs = Array.from({ length: PUBLISHERS }, (_, i) => ({
      url: mosquitto.url,
      topic: readingsTopic(StationIdSchema.parse(`bench-${i + 1}`)),
    }));
    return await measure(specs, {}, durationMs, (line) => options.progress(`mosquitto: ${line}`));
  } finally {
    await mosquitto.stop();
  }
}

async function measure(
  specs: PublisherSpec[],
  subscriberAuth: { username?: string; password?: string },
  durationMs: number,
  progress: (line: string) => void,
): Promise<Result> {
  const url = (specs[0] as PublisherSpec).url;
  const times = new SendTimes(specs.map((s) => s.topic));
  const subscriber = await startLatencySubscriber(url, ALL_READINGS_FILTER, (topic, seq) => times.get(topic, seq), subscriberAuth);
  const clients = await connectPublishers(specs);
  try {
    const baseTs = readingsBase(Date.now());
    const started = performance.now();
    const run = await publishFor(clients, specs, {
      durationMs,
      window: WINDOW,
      payload: (_i, seq) => readingPayload(baseTs, seq),
      onSend: (i, seq) => times.note(i, seq),
      progress: (acked, ms) =>
        progress(`${((subscriber.received() * 1_000) / ms).toFixed(0)} msg/s received, ${acked.toLocaleString()} acknowledged`),
    });
    await waitUntil(() => subscriber.received() >= run.acked, 30_000, 20);
    const latencies = subscriber.latencies();
    return {
      rate: subscriber.received() / ((performance.now() - started) / 1_000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      received: subscriber.received(),
      acked: run.acked,
    };
  } finally {
    await closeClients([...clients, subscriber.client]);
  }
}

function rows(gw: Result, mq: Result): BenchRow[] {
  const setup = `${PUBLISHERS} QoS 1 publishers × ${WINDOW} in flight, 1 QoS 1 subscriber`;
  return [
    {
      group: 2,
      name: 'gateway (whole system): messages/s to the subscriber',
      value: round(gw.rate),
      unit: 'msg/s',
      goal: `Mosquitto ${round(mq.rate).toLocaleString('en-US')} msg/s`,
      ratio: round(gw.rate / mq.rate),
      note: `${setup}; every publish stored durably before PUBACK${gw.received < gw.acked ? `; ${gw.acked - gw.received} not received` : ''}`,
    },
    {
      group: 2,
      name: 'Mosquitto: messages/s to the subscriber',
      value: round(mq.rate),
      unit: 'msg/s',
      note: `${setup}${mq.received < mq.acked ? `; ${mq.acked - mq.received} not received` : ''}`,
    },
    {
      group: 2,
      name: 'gateway (whole system): p99 publish→receive',
      value: round(gw.p99),
      unit: 'ms',
      goal: `Mosquitto ${round(mq.p99)} ms`,
      ratio: round(gw.p99 / mq.p99),
      note: `p50 ${round(gw.p50)} ms, at full load`,
    },
    { group: 2, name: 'Mosquitto: p99 publish→receive', value: round(mq.p99), unit: 'ms', note: `p50 ${round(mq.p50)} ms, at full load` },
  ];
}
