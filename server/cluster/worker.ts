import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type Clock } from '../../contracts/index.js';
import type { InfluxConnection } from '../influx/connect.js';
import { readingLine, statusLine } from '../influx/line-protocol.js';
import { MAX_WRITE_LINES } from '../influx/target.js';
import { classifyWriteError } from '../ingest/forwarder.js';
import type { StationActivity } from '../ingest/activity.js';
import { PgError, type PgDb } from '../registry/pg/pg-db.js';
import { type LeaseSurvey, PartitionLeases, rebalance } from './leases.js';
import { type LogEntry, PartitionConsumer, stationPartition } from './readings-log.js';

/** How often a worker looks at who holds what (real time); the bound on how long a dead worker's partition waits. */
const BALANCE_MS = 1_000;
/** A partition free this long is taken by anyone, share or not. */
const FREE_GRACE_MS = 3_000;
/** Longest stretch of a batch's synchronous work before the event loop gets a turn. */
const YIELD_AFTER_MS = 20;

/** The rule engine as the worker drives it: readings in, then everything evaluated saved before the log is acked. */
export interface WorkerEngine {
  onReadings(stationId: string, readings: readonly import('../../contracts/index.js').Reading[]): void;
  flush(): void;
  release(stationIds: Iterable<string>): void;
}

export interface ClusterWorkerOptions {
  /** This worker's own session: the leases are its advisory locks, and the engine commits through it (fencing). */
  db: PgDb;
  nc: NatsConnection;
  influx: InfluxConnection;
  engine: WorkerEngine;
  /** The registry's station ids, for releasing a partition's stations from the engine. */
  stationIds: () => string[];
  activity: StationActivity;
  partitions: number;
  clock: Clock;
  logger: Logger;
  /** Told whenever the set of partitions held changes (metrics, cluster_members). */
  onPartitions?: (held: readonly number[]) => void;
  /** Told when the session (and every lease) is lost: the process should exit and be restarted. */
  onSessionLost?: () => void;
}

export interface ClusterWorker {
  readonly leases: PartitionLeases;
  /** Whether this worker decides for the station (its partition is held). */
  owns(stationId: string): boolean;
  start(): void;
  /** Stop reading, give every partition back (saved first), leave the cluster. */
  close(): Promise<void>;
  /** The last survey of who holds what. */
  survey(): LeaseSurvey | null;
}

/**
 * A `frostwatch worker` (docs/scale-out.md): holds a fair share of the readings log's partitions and, for each, reads
 * its JetStream consumer in order — writes the readings to InfluxDB, runs the rule engine on them (decisions, rule
 * state and outbox rows committed in one PostgreSQL transaction), saves every state the batch touched, and only then
 * acknowledges the batch. A crash at any point redelivers what was not acknowledged: InfluxDB stores a point once per
 * station and time, the engine ignores a reading its window holds, and the saved state never moves back.
 */
export function startClusterWorker(o: ClusterWorkerOptions): ClusterWorker {
  const leases = new PartitionLeases(o.db, o.partitions);
  const running = new Map<number, { stop(): Promise<void> }>();
  const freeSince = new Map<number, number>();
  const log = o.logger.child({ module: 'cluster-worker' });
  let lastSurvey: LeaseSurvey | null = null;
  let timer: NodeJS.Timeout | null = null;
  let balancing: Promise<void> = Promise.resolve();
  let closed = false;

  const owns = (stationId: string): boolean => leases.owns(stationPartition(stationId, o.partitions));

  async function handle(batch: LogEntry[]): Promise<void> {
    await store(batch);
    let since = performance.now();
    for (const entry of batch) {
      // The engine's PostgreSQL calls hold this thread (a station seen for the first time costs a few round trips): let
      // the event loop turn now and then, so the other partitions' fetches keep their heartbeats (BENCHMARKS.md, sizing).
      if (performance.now() - since > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
      if (entry.kind === 'readings') {
        o.engine.onReadings(entry.stationId, entry.readings);
        o.activity.heard(entry.stationId, o.clock.now(), true);
      } else o.activity.heard(entry.stationId, entry.receivedAtMs, entry.status.online);
    }
    // Every state the batch moved is saved before the log forgets the batch: a successor resumes exactly here.
    o.engine.flush();
    await Promise.all(batch.map((entry) => entry.ack()));
  }

  async function store(batch: LogEntry[]): Promise<void> {
    const lines = batch.flatMap((entry) =>
      entry.kind === 'readings'
        ? entry.readings.map((reading) => readingLine(entry.stationId, reading))
        : [statusLine(entry.stationId, entry.status, entry.receivedAtMs)],
    );
    for (let i = 0; i < lines.length; i += MAX_WRITE_LINES) {
      const chunk = lines.slice(i, i + MAX_WRITE_LINES);
      try {
        await o.influx.writeLines(chunk);
      } catch (err) {
        const failure = classifyWriteError(err);
        if (failure === 'missing-database') {
          await o.influx.ensureDatabase();
          await o.influx.writeLines(chunk);
        } else if (failure === 'bad-data') {
          // Validated at the gateway, so never expected: keep what InfluxDB takes, log what it never will.
          for (const line of chunk)
            await o.influx
              .writeLines([line])
              .catch((e: unknown) => log.error({ err: e, line: line.slice(0, 80) }, 'InfluxDB refuses a stored reading'));
        } else throw err; // transient: the batch is nak'ed and comes again
      }
    }
  }

  async function startPartition(partition: number): Promise<void> {
    const consumer = await PartitionConsumer.open(o.nc, {
      partition,
      // What a dead worker or a lost consumer leader had delivered comes again after this: short, so a failover delays
      // a partition's readings by seconds, and they come before the station's next reading (docs/scale-out.md). A slow
      // batch is not redelivered meanwhile: the reader tells the server it is still at work (readings-log.ts).
      ackWaitMs: 3_000,
      onUnreadable: (problem) => log.error(problem, 'readings log: an entry this worker cannot read'),
    });
    running.set(
      partition,
      consumer.consume(handle, { onError: (err) => log.warn({ err, partition }, 'readings log: batch not done, it comes again') }),
    );
  }

  async function stopPartition(partition: number): Promise<void> {
    const consumer = running.get(partition);
    running.delete(partition);
    await consumer?.stop();
    const leaving = o.stationIds().filter((id) => stationPartition(id, o.partitions) === partition);
    o.engine.release(leaving);
  }

  async function sessionLost(err: unknown): Promise<void> {
    const lost = leases.forgetAll();
    log.error({ err, partitions: lost }, 'the PostgreSQL session was lost, and with it every partition lease');
    const stopping = [...running.values()];
    running.clear();
    await Promise.all(stopping.map((consumer) => consumer.stop()));
    o.onSessionLost?.();
  }

  async function balance(): Promise<void> {
    if (closed) return;
    try {
      if (!leases.intact()) throw new PgError('a new session replaced the one holding the leases', 'connection', undefined);
      await rebalanceOnce();
    } catch (err) {
      if (err instanceof PgError && err.code === 'connection') await sessionLost(err);
      else throw err;
    }
  }

  async function rebalanceOnce(): Promise<void> {
    const survey = leases.survey();
    lastSurvey = survey;
    const now = Date.now();
    for (let p = 0; p < o.partitions; p++) {
      if (survey.owners.has(p)) freeSince.delete(p);
      else if (!freeSince.has(p)) freeSince.set(p, now);
    }
    const plan = rebalance(survey, leases.held(), o.partitions, leases.memberKey);
    const overdue = [...freeSince].filter(([p, since]) => now - since >= FREE_GRACE_MS && !plan.take.includes(p)).map(([p]) => p);
    let changed = false;
    for (const p of [...plan.take, ...overdue]) {
      if (!leases.tryAcquire(p)) continue;
      changed = true;
      freeSince.delete(p);
      await startPartition(p).catch((err: unknown) => {
        log.error({ err, partition: p }, 'could not open the partition consumer; giving the partition back');
        leases.release(p);
      });
    }
    for (const p of plan.give) {
      await stopPartition(p);
      leases.release(p);
      changed = true;
    }
    if (changed) {
      const held = [...leases.held()].sort((a, b) => a - b);
      log.info({ partitions: held, members: survey.members }, 'partitions held');
      o.onPartitions?.(held);
    }
  }

  return {
    leases,
    owns,
    survey: () => lastSurvey,
    start() {
      leases.join();
      const tick = (): void => {
        balancing = balancing.then(balance).catch((err: unknown) => log.error({ err }, 'partition balance failed'));
      };
      tick();
      timer = setInterval(tick, BALANCE_MS);
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await balancing;
      for (const p of [...running.keys()]) {
        await stopPartition(p);
        if (leases.intact()) leases.release(p);
      }
    },
  };
}
