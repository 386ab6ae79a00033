import { jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { StationId } from '../../contracts/ids.js';
import type { Reading } from '../../contracts/reading.js';
import { pino } from 'pino';
import {
  JetStreamReadingsSink,
  connectReadingsLog,
  type LogEntry,
  PartitionConsumer,
  READINGS_STREAM,
  ensureReadingsStream,
  parsePartitionSubject,
  stationPartition,
} from '../../server/cluster/readings-log.js';
import { type NatsCluster, startNatsCluster } from '../../testkit/nats-cluster.js';
import { eventually } from '../helpers/mqtt.js';

const P = 4;
const STATIONS = Array.from({ length: 40 }, (_, i) => `st-${String(i + 1).padStart(2, '0')}` as StationId);
const PER_STATION = 250; // 40 × 250 = 10,000 readings, one message each
const T0 = Date.UTC(2025, 0, 15, 18, 0, 0);

describe('the readings log on a 3-node JetStream cluster', () => {
  let cluster: NatsCluster;
  let gateway: NatsConnection;
  let worker: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3, partitions: P });
    // Like a gateway and a worker: each knows every node and reconnects to another when its node dies.
    const options = { servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
    gateway = await connect(options);
    worker = await connect(options);
    const info = await ensureReadingsStream(gateway, { partitions: P });
    expect(info.config.num_replicas).toBe(3);
    expect(info.config.duplicate_window).toBe(10 * 60 * 1e9);
  });

  afterAll(async () => {
    await gateway.close();
    await worker.close();
    await cluster.stop();
  });

  it('ensureReadingsStream is idempotent and refuses another number of partitions', async () => {
    const again = await ensureReadingsStream(gateway, { partitions: P });
    expect(again.config.name).toBe(READINGS_STREAM);
    await expect(ensureReadingsStream(gateway, { partitions: P + 1 })).rejects.toThrow(/made for 4 partitions, not 5/);
    // A gateway's check leaves the stream as the workers made it.
    const checked = await ensureReadingsStream(gateway, { partitions: P, replicas: 1, updateExisting: false });
    expect(checked.config.num_replicas).toBe(3);
    await expect(ensureReadingsStream(gateway, { partitions: P + 1, updateExisting: false })).rejects.toThrow(/partitions/);
  });

  it('maps each station to one partition on every node, as stationPartition predicts, readings and status alike', async () => {
    const subjects = new Map<string, Set<string>>();
    for (const url of cluster.urls) {
      const nc = await connect({ servers: url });
      const sink = new JetStreamReadingsSink(nc);
      const sub = nc.subscribe('fw.readings.part.>');
      const seen = (async () => {
        let n = 0;
        for await (const m of sub) {
          const where = parsePartitionSubject(m.subject);
          if (where === null) throw new Error(`unexpected subject ${m.subject}`);
          subjects.set(where.stationId, (subjects.get(where.stationId) ?? new Set()).add(`${where.partition}`));
          if (++n === STATIONS.length * 2) break;
        }
      })();
      for (const id of STATIONS) {
        await sink.acceptReadings(id, [{ ts: T0 - 3_600_000, airTempC: 9 }]);
        await sink.acceptStatus(id, { online: true, fw: 'kit' });
      }
      await seen;
      await nc.close();
    }
    const used = new Set<number>();
    for (const id of STATIONS) {
      const parts = [...(subjects.get(id) ?? [])];
      expect(parts, id).toEqual([String(stationPartition(id, P))]);
      used.add(Number(parts[0]));
    }
    // 40 stations over 4 partitions: every partition has some.
    expect(used.size).toBe(P);
  });

  it('a batch held longer than the ack wait is not delivered again: the reader says it is still at work', async () => {
    const sink = new JetStreamReadingsSink(gateway, { timeoutMs: 2_000 });
    const station = STATIONS.find((id) => stationPartition(id, P) === 0) as StationId;
    await sink.acceptReadings(station, [{ ts: T0 - 1_800_000, airTempC: 5 }]);
    const consumer = await PartitionConsumer.open(worker, { partition: 0, ackWaitMs: 1_000 });
    const seen = new Map<number, number>();
    let held = false;
    const loop = consumer.consume(async (batch) => {
      for (const entry of batch) seen.set(entry.seq, (seen.get(entry.seq) ?? 0) + 1);
      if (!held) {
        held = true;
        await new Promise((resolve) => setTimeout(resolve, 2_500)); // a slow database: 2½ ack waits
      }
      await Promise.all(batch.map((entry) => entry.ack()));
    });
    await eventually(() => expect(held).toBe(true), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // the hold, and more than an ack wait after it
    await loop.stop();
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen.entries()].filter(([, n]) => n > 1)).toEqual([]);
  });

  it('consumes every acknowledged reading exactly once per stored message while a NATS node is SIGKILLed midway', async () => {
    const before = (await (await jetstreamManager(worker)).streams.info(READINGS_STREAM)).state.messages;
    const sink = new JetStreamReadingsSink(gateway, { timeoutMs: 2_000 });

    // Workers: one reader a partition, acking each entry after "storing" it.
    const deliveries = new Map<string, { seqs: number[]; partition: number; counts: number[] }>();
    let misplaced = 0;
    let fetchErrors = 0;
    // Entries in flight from a consumer leader that dies come again only after the ack wait: 10 s here, not 30, to keep
    // the test short (they arrive after newer entries of the same station; the worker must take them out of order).
    const consumers = await Promise.all(
      Array.from({ length: P }, (_, p) => PartitionConsumer.open(worker, { partition: p, ackWaitMs: 10_000 })),
    );
    const loops = consumers.map((consumer) =>
      consumer.consume(
        async (batch: LogEntry[]) => {
          for (const entry of batch) {
            if (entry.kind === 'readings' && entry.readings[0] !== undefined && entry.readings[0].ts >= T0) {
              if (stationPartition(entry.stationId, P) !== consumer.partition) misplaced++;
              const key = `${entry.stationId}:${entry.readings[0].ts}`;
              const seen = deliveries.get(key) ?? { seqs: [], partition: consumer.partition, counts: [] };
              seen.seqs.push(entry.seq);
              seen.counts.push(entry.deliveryCount);
              deliveries.set(key, seen);
            }
          }
          await Promise.allSettled(batch.map((entry) => entry.ack()));
        },
        { max: 200, expiresMs: 1_000, onError: () => fetchErrors++ },
      ),
    );

    // Stations: each sends its readings one by one and, like a station without its PUBACK, sends again on a rejection.
    const acked = new Set<string>();
    let rejections = 0;
    let killed = null as string | null; // set inside the stations' loops, which flow analysis does not follow
    const startedAt = Date.now();
    await Promise.all(
      STATIONS.map(async (id) => {
        for (let i = 0; i < PER_STATION; i++) {
          const reading: Reading = { ts: T0 + i * 60_000, airTempC: 4 - i / 100, rhPct: 90 };
          for (;;) {
            try {
              await sink.acceptReadings(id, [reading]);
              break;
            } catch {
              rejections++;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
          acked.add(`${id}:${reading.ts}`);
          if (acked.size === 5_000 && killed === null) {
            // The stream's leader: its loss needs an election before the next PubAck.
            const leader = (await (await jetstreamManager(worker)).streams.info(READINGS_STREAM)).cluster?.leader ?? 'n1';
            killed = leader;
            const index = [0, 1, 2].find((n) => cluster.node(n).name === leader) ?? 0;
            await cluster.node(index).kill('SIGKILL');
          }
        }
      }),
    );
    const publishMs = Date.now() - startedAt;
    expect(killed).not.toBeNull();
    // The killed node comes back whatever this test finds: the tests after it need all three.
    onTestFinished(async () => {
      const index = [0, 1, 2].find((n) => cluster.node(n).name === killed) ?? 0;
      await cluster.node(index).start();
      await cluster.waitForMetaLeader();
    });
    expect(acked.size).toBe(STATIONS.length * PER_STATION);

    await eventually(() => {
      expect([...acked].filter((key) => !deliveries.has(key))).toEqual([]);
    }, 60_000);
    const drainMs = Date.now() - startedAt - publishMs;
    await Promise.all(loops.map((loop) => loop.stop()));

    // Stored once: the resends after a lost PubAck carried the same Nats-Msg-Id.
    const state = (await (await jetstreamManager(worker)).streams.info(READINGS_STREAM)).state;
    expect(state.messages - before).toBe(STATIONS.length * PER_STATION);
    // Delivered at least once, and every delivery the one stored message. A second delivery is not always marked as
    // one: the consumer's new leader may not yet hold the delivered state of the old, and then delivers again with a
    // count of 1 (seen in CI; nats.net issue #812 reports the same). Workers never rely on the count — a redelivered
    // batch is stored once and cannot move a station back (docs/scale-out.md, "Worker") — so this counts such deliveries and does not forbid them.
    let redelivered = 0;
    let unmarked = 0;
    let firstSeenRedelivered = 0;
    for (const key of acked) {
      const seen = deliveries.get(key);
      if ((seen?.counts[0] ?? 1) > 1) firstSeenRedelivered++;
      expect(new Set(seen?.seqs).size, key).toBe(1);
      redelivered += (seen?.counts.length ?? 0) - 1;
      unmarked += (seen?.counts.slice(1) ?? []).filter((count) => count === 1).length;
    }
    expect(misplaced).toBe(0);
    console.info(
      `readings log: 10,000 readings in ${publishMs} ms (all consumed ${drainMs} ms later), ${killed ?? '?'} killed at 5,000, ${rejections} publishes rejected and resent, ` +
        `${redelivered} second deliveries (${unmarked} with a count of 1), ${firstSeenRedelivered} first seen on a redelivery, ${fetchErrors} fetch errors`,
    );
  }, 180_000);

  it('connectReadingsLog moves to another server when its own dies, and logs it; a tls:// URL refuses a server without TLS', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const nc = await connectReadingsLog({ urls: cluster.urls.join(','), name: 'test gateway', logger });
    const own = nc.info?.server_name;
    const index = [0, 1, 2].find((n) => cluster.node(n).name === own);
    if (index === undefined) throw new Error(`connected to an unknown server ${String(own)}`);
    await cluster.node(index).kill('SIGKILL');
    await eventually(() => expect(lines.join('')).toMatch(/reconnected/), 20_000);
    expect(lines.join('')).toMatch(/lost its NATS server/);
    expect(nc.info?.server_name).not.toBe(own);
    const sink = new JetStreamReadingsSink(nc, { timeoutMs: 2_000 });
    await eventually(() => sink.acceptReadings(STATIONS[2] as StationId, [{ ts: T0 - 180_000, airTempC: 3 }]), 30_000);
    await nc.close();
    await cluster.node(index).start();
    await cluster.waitForMetaLeader();

    const tlsUrls = cluster.urls.map((url) => url.replace('nats://', 'tls://')).join(',');
    await expect(connectReadingsLog({ urls: tlsUrls, name: 'test gateway', logger })).rejects.toThrow(/tls/i);
  }, 90_000);

  it('rejects a publish, and never resolves it, while the stream has no quorum; accepts again once it has', async () => {
    const sink = new JetStreamReadingsSink(gateway, { timeoutMs: 2_000 });
    await eventually(() => sink.acceptReadings(STATIONS[0] as StationId, [{ ts: T0 - 60_000, airTempC: 3 }]), 30_000);
    await cluster.node(1).kill('SIGKILL');
    await cluster.node(2).kill('SIGKILL');

    const started = Date.now();
    let resolved = false;
    await expect(
      sink.acceptReadings(STATIONS[1] as StationId, [{ ts: T0 - 120_000, airTempC: 3 }]).then(() => (resolved = true)),
    ).rejects.toThrow();
    expect(resolved).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);

    await cluster.node(1).start();
    await eventually(() => sink.acceptReadings(STATIONS[1] as StationId, [{ ts: T0 - 120_000, airTempC: 3 }]), 30_000);
  }, 90_000);
});
