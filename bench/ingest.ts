/**
 * Measurement 1 (issue 5): readings per second stored end to end — QoS 1 publishers → gateway → ingest →
 * InfluxDB, counted back in InfluxDB — beside the two ceilings it cannot beat: a bare Aedes (no hooks) moving the
 * same QoS 1 publishes to a subscriber, and raw line-protocol writes to the same influxd in 5,000-line batches.
 */
import { ALL_READINGS_FILTER, StationIdSchema, readingsTopic } from '../contracts/index.js';
import { readingLine } from '../server/influx/line-protocol.js';
import { connectInflux } from '../server/influx/connect.js';
import { startBareAedes } from './lib/bare-aedes.js';
import { type BenchInflux, silentLogger, startBenchInflux } from './lib/influxd.js';
import type { MqttClient } from 'mqtt';
import { type PublishRun, type PublisherSpec, closeClients, connectPublishers, publishFor, readingPayload, readingsBase, PUBLISHERS, WINDOW } from './lib/publishers.js';
import { round, waitUntil } from './lib/stats.js';
import { startLatencySubscriber } from './lib/subscriber.js';
import { startBenchSystem } from './lib/system.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

const BATCH = 5_000;

interface Plan {
  e2eMs: number;
  aedesMs: number;
  influxMs: number;
}

const plan = (quick: boolean): Plan => (quick ? { e2eMs: 5_000, aedesMs: 2_500, influxMs: 2_500 } : { e2eMs: 30_000, aedesMs: 12_000, influxMs: 12_000 });

export const bench: Bench = {
  id: 'ingest',
  title: 'Readings stored per second, end to end, against its two ceilings',
  run: async (options) => {
    const p = plan(options.quick);
    const influx = await startBenchInflux();
    try {
      const e2e = await endToEnd(influx, p.e2eMs, options);
      const aedes = await bareAedesRate(p.aedesMs, options);
      const raw = await rawInfluxRate(influx.url, p.influxMs, options);
      return rows(e2e, aedes, raw);
    } finally {
      await influx.stop();
    }
  },
};

interface E2E {
  stored: number;
  acked: number;
  rate: number;
  /** CPU of this process (publishers, gateway, ingest, engine, forwarder) per stored reading. */
  cpuUsPerReading: number;
}

interface Ceiling {
  rate: number;
  /** CPU of this process (publishers, broker, subscriber) per message. */
  cpuUsPerMessage: number;
}

/** CPU time of this process in µs (user + system): what each path costs, whatever else the machine runs. */
function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The shared publisher load (PUBLISHERS × WINDOW in flight) for `durationMs`, with when it started and the CPU then. */
async function loadFor(clients: MqttClient[], specs: PublisherSpec[], durationMs: number, progress: (acked: number, ms: number) => void): Promise<{ run: PublishRun; started: number; cpu0: number }> {
  const baseTs = readingsBase(Date.now());
  const started = performance.now();
  const cpu0 = cpuUs();
  const run = await publishFor(clients, specs, { durationMs, window: WINDOW, payload: (_i, seq) => readingPayload(baseTs, seq), progress });
  return { run, started, cpu0 };
}

async function endToEnd(influx: BenchInflux, durationMs: number, options: BenchOptions): Promise<E2E> {
  const system = await startBenchSystem(influx);
  try {
    const stations = await system.registerStations(PUBLISHERS);
    const specs: PublisherSpec[] = stations.map((s) => ({ url: system.mqttUrl, topic: readingsTopic(s.stationId), username: s.stationId, password: s.token }));
    const clients = await connectPublishers(specs);
    const { run, started, cpu0 } = await loadFor(clients, specs, durationMs, (acked, ms) =>
      options.progress(`ingest end-to-end: ${acked.toLocaleString()} acknowledged, ${((acked * 1_000) / ms).toFixed(0)}/s`),
    );
    await closeClients(clients);
    let stored = 0;
    // PUBACK means "durable in the spool"; the reading is in InfluxDB once the forwarder has written it.
    await waitUntil(async () => (stored = await influx.countReadings()) >= run.acked, 120_000, 100);
    const elapsedS = (performance.now() - started) / 1_000;
    return { stored, acked: run.acked, rate: stored / elapsedS, cpuUsPerReading: (cpuUs() - cpu0) / Math.max(1, stored) };
  } finally {
    await system.close();
  }
}

async function bareAedesRate(durationMs: number, options: BenchOptions): Promise<Ceiling> {
  const broker = await startBareAedes();
  try {
    const topics = Array.from({ length: PUBLISHERS }, (_, i) => readingsTopic(StationIdSchema.parse(`bench-${i + 1}`)));
    const subscriber = await startLatencySubscriber(broker.url, ALL_READINGS_FILTER, () => undefined);
    const specs: PublisherSpec[] = topics.map((topic) => ({ url: broker.url, topic }));
    const clients = await connectPublishers(specs);
    const { run, started, cpu0 } = await loadFor(clients, specs, durationMs, (acked, ms) =>
      options.progress(`ingest ceiling, bare Aedes: ${((acked * 1_000) / ms).toFixed(0)}/s`),
    );
    await waitUntil(() => subscriber.received() >= run.acked, 30_000, 20);
    const rate = subscriber.received() / ((performance.now() - started) / 1_000);
    const cpuUsPerMessage = (cpuUs() - cpu0) / Math.max(1, subscriber.received());
    await closeClients([...clients, subscriber.client]);
    return { rate, cpuUsPerMessage };
  } finally {
    await broker.close();
  }
}

/** One writer, 5,000 lines a request, as fast as influxd answers, into a database of its own. */
async function rawInfluxRate(url: string, durationMs: number, options: BenchOptions): Promise<number> {
  const conn = await connectInflux({ url, bucket: 'ceiling', logger: silentLogger, timeoutMs: 60_000 });
  try {
    await conn.ensureDatabase();
    const baseTs = Date.now() - 2 * 3_600_000;
    const started = performance.now();
    let written = 0;
    while (performance.now() - started < durationMs) {
      const lines: string[] = [];
      for (let k = 0; k < BATCH; k += 1) {
        const seq = written + k;
        lines.push(readingLine(`bench-${(seq % PUBLISHERS) + 1}`, { ts: baseTs + Math.floor(seq / PUBLISHERS), airTempC: 1.5, rhPct: 92, windMs: 0.4, seq }));
      }
      await conn.writeLines(lines);
      written += BATCH;
      options.progress(`ingest ceiling, InfluxDB line protocol: ${((written * 1_000) / (performance.now() - started)).toFixed(0)} lines/s`);
    }
    return written / ((performance.now() - started) / 1_000);
  } finally {
    await conn.close();
  }
}

function rows(e2e: E2E, ceiling: Ceiling, raw: number): BenchRow[] {
  const aedes = ceiling.rate;
  const lower = Math.min(aedes, raw);
  const lowerName = aedes <= raw ? 'bare Aedes' : 'InfluxDB writes';
  const lost = e2e.acked - e2e.stored;
  return [
    {
      group: 1,
      name: 'ingest: readings stored per second, end to end',
      value: round(e2e.rate),
      unit: 'readings/s',
      goal: `≥ 0.8 × lower ceiling (${lowerName})`,
      ratio: round(e2e.rate / lower),
      note: `${PUBLISHERS} QoS 1 publishers × ${WINDOW} in flight; ${e2e.stored.toLocaleString()} counted in InfluxDB${lost > 0 ? `, ${lost} acknowledged but not found` : ''}`,
    },
    { group: 1, name: 'ingest ceiling: bare Aedes QoS 1 publish→subscribe', value: round(aedes), unit: 'msg/s', note: 'new Aedes(), no hooks, one subscriber' },
    {
      group: 1,
      name: 'ingest: CPU per stored reading, end to end',
      value: round(e2e.cpuUsPerReading),
      unit: 'µs',
      goal: `bare Aedes ${round(ceiling.cpuUsPerMessage)} µs/msg`,
      ratio: round(e2e.cpuUsPerReading / ceiling.cpuUsPerMessage),
      note: 'this process: publishers, gateway, ingest, rule engine, forwarder (InfluxDB apart); Aedes: publishers, broker, subscriber',
    },
    { group: 1, name: 'ingest ceiling: InfluxDB line-protocol writes', value: round(raw), unit: 'lines/s', note: `one writer, ${BATCH.toLocaleString()}-line batches` },
  ];
}
