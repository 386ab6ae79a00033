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
import {
  type PublishRun,
  type PublisherSpec,
  closeClients,
  connectPublishers,
  publishFor,
  readingPayload,
  readingsBase,
  PUBLISHERS,
  WINDOW,
} from './lib/publishers.js';
import { CPU_PARTS, type CpuPart, profileParts } from './lib/cpu-parts.js';
import { round, waitUntil } from './lib/stats.js';
import { startLatencySubscriber } from './lib/subscriber.js';
import { startBenchSystem } from './lib/system.js';
import type { Bench, BenchOptions, BenchRow } from './types.js';

const BATCH = 5_000;

interface Plan {
  e2eMs: number;
  aedesMs: number;
  influxMs: number;
  /** A second, profiled phase of each path (after the measured one, so the profiler never touches the headline rates). */
  profileMs: number;
}

const plan = (quick: boolean): Plan =>
  quick
    ? { e2eMs: 5_000, aedesMs: 2_500, influxMs: 2_500, profileMs: 2_500 }
    : { e2eMs: 30_000, aedesMs: 12_000, influxMs: 12_000, profileMs: 8_000 };

export const bench: Bench = {
  id: 'ingest',
  title: 'Readings stored per second, end to end, against its two ceilings',
  run: async (options) => {
    const p = plan(options.quick);
    const influx = await startBenchInflux();
    try {
      const e2e = await endToEnd(influx, p, options, 'thread');
      const aedes = await bareAedesRate(p, options);
      const raw = await rawInfluxRate(influx.url, p.influxMs, options);
      // The same load with the rule engine on the ingest thread, as before issue 15: what the worker thread buys.
      const inlineInflux = await startBenchInflux();
      let inline: E2E;
      try {
        inline = await endToEnd(inlineInflux, p, options, 'inline');
      } finally {
        await inlineInflux.stop();
      }
      return rows(e2e, aedes, raw, inline);
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
  parts: PartsPerMessage | null;
}

interface Ceiling {
  rate: number;
  /** CPU of this process (publishers, broker, subscriber) per message. */
  cpuUsPerMessage: number;
  parts: PartsPerMessage;
}

/** µs of CPU per message by part, from the profiled phase; `offThread` is what ran outside the JS thread. */
interface PartsPerMessage {
  byPart: Map<CpuPart, number>;
  offThread: number;
}

/** Runs `phase` under the profiler; its result is how many messages made it through. */
async function profiledPerMessage(phase: () => Promise<number>): Promise<PartsPerMessage> {
  const { result: messages, partsUs, processUs } = await profileParts(phase);
  const n = Math.max(1, messages);
  const onThread = [...partsUs.values()].reduce((a, b) => a + b, 0);
  return { byPart: new Map([...partsUs].map(([part, us]) => [part, us / n])), offThread: Math.max(0, processUs - onThread) / n };
}

/** CPU time of this process in µs (user + system): what each path costs, whatever else the machine runs. */
function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

interface Load {
  durationMs: number;
  /** Readings' timestamps start here; `firstSeq` continues an earlier load of the same stations without overlap. */
  baseTs: number;
  firstSeq: number;
  progress: (acked: number, ms: number) => void;
}

/** The shared publisher load (PUBLISHERS × WINDOW in flight) for `durationMs`, with when it started and the CPU then. */
async function loadFor(
  clients: MqttClient[],
  specs: PublisherSpec[],
  load: Load,
): Promise<{ run: PublishRun; started: number; cpu0: number }> {
  const started = performance.now();
  const cpu0 = cpuUs();
  const { durationMs, baseTs, firstSeq, progress } = load;
  const run = await publishFor(clients, specs, {
    durationMs,
    window: WINDOW,
    firstSeq,
    payload: (_i, seq) => readingPayload(baseTs, seq),
    progress,
  });
  return { run, started, cpu0 };
}

/** The whole path with the rule engine where RULE_ENGINE puts it; profiled afterwards with the engine on its thread only. */
async function endToEnd(influx: BenchInflux, p: Plan, options: BenchOptions, engine: 'thread' | 'inline'): Promise<E2E> {
  const system = await startBenchSystem(influx, { RULE_ENGINE: engine });
  try {
    const stations = await system.registerStations(PUBLISHERS);
    const specs: PublisherSpec[] = stations.map((s) => ({
      url: system.mqttUrl,
      topic: readingsTopic(s.stationId),
      username: s.stationId,
      password: s.token,
    }));
    const clients = await connectPublishers(specs);
    const baseTs = readingsBase(Date.now());
    const progress = (label: string) => (acked: number, ms: number) =>
      options.progress(`${label}: ${acked.toLocaleString()} acknowledged, ${((acked * 1_000) / ms).toFixed(0)}/s`);
    const { run, started, cpu0 } = await loadFor(clients, specs, {
      durationMs: p.e2eMs,
      baseTs,
      firstSeq: 0,
      progress: progress(`ingest end-to-end, rule engine ${engine === 'thread' ? 'on its thread' : 'inline'}`),
    });
    let stored = 0;
    // PUBACK means "durable in the spool"; the reading is in InfluxDB once the forwarder has written it.
    await waitUntil(async () => (stored = await influx.countReadings()) >= run.acked, 120_000, 100);
    const elapsedS = (performance.now() - started) / 1_000;
    const cpuUsPerReading = (cpuUs() - cpu0) / Math.max(1, stored);
    if (engine === 'inline') {
      await closeClients(clients);
      return { stored, acked: run.acked, rate: stored / elapsedS, cpuUsPerReading, parts: null };
    }
    // The same stations carry on (their timestamps continue), under the profiler, until InfluxDB holds every reading.
    const parts = await profiledPerMessage(async () => {
      const more = await loadFor(clients, specs, {
        durationMs: p.profileMs,
        baseTs,
        firstSeq: run.nextSeq,
        progress: progress('ingest end-to-end, profiled'),
      });
      let now = stored;
      await waitUntil(async () => (now = await influx.countReadings()) >= stored + more.run.acked, 120_000, 100);
      return now - stored;
    });
    await closeClients(clients);
    return { stored, acked: run.acked, rate: stored / elapsedS, cpuUsPerReading, parts };
  } finally {
    await system.close();
  }
}

async function bareAedesRate(p: Plan, options: BenchOptions): Promise<Ceiling> {
  const broker = await startBareAedes();
  try {
    const topics = Array.from({ length: PUBLISHERS }, (_, i) => readingsTopic(StationIdSchema.parse(`bench-${i + 1}`)));
    const subscriber = await startLatencySubscriber(broker.url, ALL_READINGS_FILTER, () => undefined);
    const specs: PublisherSpec[] = topics.map((topic) => ({ url: broker.url, topic }));
    const clients = await connectPublishers(specs);
    const baseTs = readingsBase(Date.now());
    const progress = (label: string) => (acked: number, ms: number) => options.progress(`${label}: ${((acked * 1_000) / ms).toFixed(0)}/s`);
    const { run, started, cpu0 } = await loadFor(clients, specs, {
      durationMs: p.aedesMs,
      baseTs,
      firstSeq: 0,
      progress: progress('ingest ceiling, bare Aedes'),
    });
    await waitUntil(() => subscriber.received() >= run.acked, 30_000, 20);
    const received = subscriber.received();
    const rate = received / ((performance.now() - started) / 1_000);
    const cpuUsPerMessage = (cpuUs() - cpu0) / Math.max(1, received);
    const parts = await profiledPerMessage(async () => {
      const more = await loadFor(clients, specs, {
        durationMs: p.profileMs,
        baseTs,
        firstSeq: run.nextSeq,
        progress: progress('ingest ceiling, bare Aedes, profiled'),
      });
      await waitUntil(() => subscriber.received() >= received + more.run.acked, 30_000, 20);
      return subscriber.received() - received;
    });
    await closeClients([...clients, subscriber.client]);
    return { rate, cpuUsPerMessage, parts };
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
        lines.push(
          readingLine(`bench-${(seq % PUBLISHERS) + 1}`, {
            ts: baseTs + Math.floor(seq / PUBLISHERS),
            airTempC: 1.5,
            rhPct: 92,
            windMs: 0.4,
            seq,
          }),
        );
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

function rows(e2e: E2E, ceiling: Ceiling, raw: number, inline: E2E): BenchRow[] {
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
    {
      group: 1,
      name: 'ingest ceiling: bare Aedes QoS 1 publish→subscribe',
      value: round(aedes),
      unit: 'msg/s',
      note: 'new Aedes(), no hooks, one subscriber',
    },
    {
      group: 1,
      name: 'ingest: CPU per stored reading, end to end',
      value: round(e2e.cpuUsPerReading),
      unit: 'µs',
      goal: `bare Aedes ${round(ceiling.cpuUsPerMessage)} µs/msg`,
      ratio: round(e2e.cpuUsPerReading / ceiling.cpuUsPerMessage),
      note: 'this process, all threads: publishers, gateway, ingest, rule engine, forwarder (InfluxDB apart); Aedes: publishers, broker, subscriber',
    },
    {
      group: 1,
      name: 'ingest: readings stored per second, end to end, rule engine inline (RULE_ENGINE=inline)',
      value: round(inline.rate),
      unit: 'readings/s',
      goal: `≥ 0.8 × lower ceiling (${lowerName})`,
      ratio: round(inline.rate / lower),
      note: `the same load with the rule engine on the ingest thread, as before issue 15; ${round(inline.cpuUsPerReading)} µs of CPU per stored reading`,
    },
    {
      group: 1,
      name: 'ingest ceiling: InfluxDB line-protocol writes',
      value: round(raw),
      unit: 'lines/s',
      note: `one writer, ${BATCH.toLocaleString()}-line batches`,
    },
    ...(e2e.parts ? partRows(e2e.parts, ceiling.parts) : []),
  ];
}

/** Where each path's CPU per message goes (profiled phase), frostwatch beside bare Aedes, part by part. */
function partRows(e2e: PartsPerMessage, aedes: PartsPerMessage): BenchRow[] {
  const row = (part: string, ours: number, theirs: number): BenchRow => ({
    group: 1,
    name: `ingest CPU per reading, by part: ${part}`,
    value: round(ours),
    unit: 'µs',
    goal: `bare Aedes ${round(theirs)} µs`,
  });
  const parts = CPU_PARTS.map((part: CpuPart) => row(part, e2e.byPart.get(part) ?? 0, aedes.byPart.get(part) ?? 0));
  const rows = [
    ...parts,
    row('outside the JS thread (the rule engine thread; libuv pool: fdatasync; GC helpers)', e2e.offThread, aedes.offThread),
  ];
  const first = rows[0];
  if (first)
    first.note = 'V8 sampling profiler over a further loaded phase of each path; self time charged to the file each function is in';
  return rows;
}
