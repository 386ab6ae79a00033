import { Writable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { JetStreamSetupRefused } from '../../server/cluster/nats-connection.js';
import { READINGS_STREAM, connectReadingsLog, ensureReadingsStream, partitionsOf } from '../../server/cluster/readings-log.js';
import { CONFIG_BUCKET, openConfigBucket } from '../../server/cluster/station-configs.js';
import { type NatsCluster, startNatsCluster } from '../../testkit/nats-cluster.js';

/**
 * How gateways and workers set up the readings stream and the config bucket when they start (docs/scale-out.md): on a
 * cluster that has just started, beside each other, and before the cluster has a quorum. nats-server answers one of
 * several processes creating the same stream at once and can let the others' requests time out; a process that gave
 * up there would stay down until its service manager restarted it — in the province test, a worker that never joined.
 */
const P = 8;

/** A logger whose warnings the test reads. */
function recordingLogger(): { logger: pino.Logger; warnings: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), warnings: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

const clusters: NatsCluster[] = [];
const connections: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stop()));
});

async function freshCluster(): Promise<NatsCluster> {
  const cluster = await startNatsCluster({ nodes: 3, partitions: P });
  clusters.push(cluster);
  return cluster;
}

async function processConnection(cluster: NatsCluster, name: string, logger: pino.Logger): Promise<NatsConnection> {
  const nc = await connectReadingsLog({ urls: cluster.urls.join(','), name, logger });
  connections.push(nc);
  return nc;
}

/** What a gateway (the stream checked, never rewritten) or a worker (the stream brought to its settings) does first. */
async function startUp(nc: NatsConnection, role: 'gateway' | 'worker', logger: pino.Logger): Promise<void> {
  await ensureReadingsStream(nc, { partitions: P, replicas: 3, logger, ...(role === 'gateway' ? { updateExisting: false } : {}) });
  await openConfigBucket(nc, 3, logger);
}

describe('JetStream set-up at start', () => {
  it(
    'two gateways and three workers starting together on fresh clusters all get the stream and the bucket',
    { timeout: 180_000 },
    async () => {
      // Without asking again, one round in three or four left a process with a timeout here (measured: 10 rounds, 7 failures
      // among 50 processes, in the stream's creation and in the bucket's).
      for (let round = 0; round < 4; round++) {
        const cluster = await freshCluster();
        const { logger } = recordingLogger();
        const roles = ['gateway', 'gateway', 'worker', 'worker', 'worker'] as const;
        const ncs = await Promise.all(roles.map((_, i) => processConnection(cluster, `p${i}`, logger)));
        const results = await Promise.allSettled(ncs.map((nc, i) => startUp(nc, roles[i] ?? 'worker', logger)));
        expect(
          results.map((r) => (r.status === 'fulfilled' ? 'started' : String(r.reason))),
          `round ${round}`,
        ).toEqual(roles.map(() => 'started'));
        const jsm = await jetstreamManager(ncs[0] as NatsConnection);
        const info = await jsm.streams.info(READINGS_STREAM);
        expect(partitionsOf(info)).toBe(P);
        expect(info.config.num_replicas).toBe(3);
        expect((await jsm.streams.info(`KV_${CONFIG_BUCKET}`)).config.num_replicas).toBe(3);
        await Promise.all(ncs.map((nc) => nc.close()));
        connections.length = 0;
        await cluster.stop();
        clusters.length = 0;
      }
    },
  );

  it(
    'waits for a cluster that has lost its quorum, and goes on once it is back; one try alone gives up',
    { timeout: 120_000 },
    async () => {
      const cluster = await freshCluster();
      const { logger, warnings } = recordingLogger();
      const nc = await processConnection(cluster, 'worker', logger);
      // Two of three nodes gone: the remaining one is up and answers the connection, but JetStream has no quorum.
      await Promise.all([cluster.node(1).kill(), cluster.node(2).kill()]);
      await expect(ensureReadingsStream(nc, { partitions: P }), 'one try').rejects.toThrow();

      const starting = startUp(nc, 'worker', logger);
      const settled = starting.then(
        () => 'started',
        (err: unknown) => `failed: ${String(err)}`,
      );
      // Still asking while the quorum is missing…
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(await Promise.race([settled, Promise.resolve('waiting')])).toBe('waiting');
      // …and done once it is back.
      await Promise.all([cluster.node(1).start(), cluster.node(2).start()]);
      expect(await settled).toBe('started');
      expect(warnings().filter((msg) => msg.includes('not answered yet')).length).toBeGreaterThan(0);
      const info = await (await jetstreamManager(nc)).streams.info(READINGS_STREAM);
      expect(partitionsOf(info)).toBe(P);
    },
  );

  it('a stream made for another number of partitions stops the process at once, without asking again', { timeout: 60_000 }, async () => {
    const cluster = await freshCluster();
    const { logger, warnings } = recordingLogger();
    const nc = await processConnection(cluster, 'gateway', logger);
    await ensureReadingsStream(nc, { partitions: P, logger });
    const began = Date.now();
    const refused = ensureReadingsStream(nc, { partitions: P + 1, updateExisting: false, logger });
    await expect(refused).rejects.toBeInstanceOf(JetStreamSetupRefused);
    await expect(refused).rejects.toThrow(/made for 8 partitions, not 9/);
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(warnings()).toEqual([]);
  });
});
