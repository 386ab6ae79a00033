import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JetStreamClient, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNatsCluster } from '../../testkit/nats-cluster.js';
import { type TestPostgres, startPostgres } from '../../testkit/postgres.js';
import { eventually } from '../helpers/mqtt.js';

// The real-process kit of issue 18: three clustered nats-server nodes with JetStream and one PostgreSQL, each on free
// loopback ports in temp dirs.
describe('cluster test kit', () => {
  let cluster: NatsCluster;
  let pg: TestPostgres;
  let nc: NatsConnection;

  beforeAll(async () => {
    [cluster, pg] = await Promise.all([startNatsCluster({ nodes: 3, partitions: 4 }), startPostgres()]);
    // The client knows every node, so it reconnects elsewhere when its node dies.
    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  afterAll(async () => {
    await nc.close();
    await Promise.all([cluster.stop(), pg.stop()]);
  });

  it('keeps an R3 stream writable and readable with one NATS node SIGKILLed, and the node rejoins from its store', async () => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: 'KIT', subjects: ['kit.>'], num_replicas: 3, storage: StorageType.File });
    expect(info.cluster?.replicas).toHaveLength(2);
    const js = jetstream(nc);
    const first = await js.publish('kit.a', 'before');
    expect(first.seq).toBe(1);

    // Kill the stream's leader, the node whose loss costs the most (a new leader must be elected).
    const leader = info.cluster?.leader;
    const victim = [0, 1, 2].find((i) => cluster.node(i).name === leader) ?? 0;
    await cluster.node(victim).kill('SIGKILL');
    expect(cluster.node(victim).running()).toBe(false);

    const second = await publishWithin(js, 'kit.b', 'after', 20_000);
    expect(second.seq).toBe(2);
    const after = await jsm.streams.info('KIT');
    expect(after.cluster?.leader).not.toBe(leader);
    expect((await jsm.streams.getMessage('KIT', { seq: 1 }))?.string()).toBe('before');
    expect((await jsm.streams.getMessage('KIT', { seq: 2 }))?.string()).toBe('after');

    // The same node again, on its store dir: it catches up with the message it missed.
    await cluster.node(victim).start();
    await eventually(async () => {
      const state = await jsm.streams.info('KIT');
      const replica = state.cluster?.replicas?.find((r) => r.name === cluster.node(victim).name);
      expect(replica?.current).toBe(true);
      expect(state.state.messages).toBe(2);
    }, 20_000);
    await jsm.streams.delete('KIT');
  }, 90_000);

  it('maps a station reading subject to one partition, the same on every node', async () => {
    const seen = new Map<string, Set<string>>();
    for (const url of cluster.urls) {
      const own = await connect({ servers: url });
      const sub = own.subscribe('fw.readings.part.>');
      const stations = ['st-1', 'st-2', 'lac-duong-07', 'a'];
      for (const id of stations) own.publish(`fw.readings.in.${id}`, id);
      await own.flush();
      let n = 0;
      for await (const m of sub) {
        const id = m.string();
        seen.set(id, (seen.get(id) ?? new Set()).add(m.subject));
        if (++n === stations.length) break;
      }
      await own.close();
    }
    for (const [id, subjects] of seen) {
      expect(subjects.size, `${id} mapped to one subject on every node`).toBe(1);
      expect([...subjects][0]).toMatch(new RegExp(`^fw\\.readings\\.part\\.[0-3]\\.${id}$`));
    }
    expect(seen.size).toBe(4);
  });

  it('runs PostgreSQL as the postgres user and answers SQL at its URL', async () => {
    expect(pg.url).toMatch(/^postgres:\/\/frostwatch@127\.0\.0\.1:\d+\/frostwatch_test$/);
    await pg.psql('CREATE TABLE kit (id serial PRIMARY KEY, name text NOT NULL)');
    await pg.psql("INSERT INTO kit (name) VALUES ('Lạc Dương'), ('Đà Lạt')");
    expect((await pg.psql("SELECT string_agg(name, ',' ORDER BY id) FROM kit")).trim()).toBe('Lạc Dương,Đà Lạt');
    // psql is given the URL itself, as a PostgreSQL driver would be.
    expect((await pg.psql(`SELECT current_database() || ' ' || current_user`)).trim()).toBe('frostwatch_test frostwatch');
    // The postmaster's own uid (a backend's pid would be gone with its psql session before /proc could be read).
    const postmaster = Number(readFileSync(join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${postmaster}/status`, 'utf8'))?.[1];
    expect(uid).toBeDefined();
    if (process.getuid?.() === 0) expect(uid).not.toBe('0');
    expect(pg.version).toMatch(/PostgreSQL\) \d+/);
  });
});

/** A publish retried (as a station resends) until JetStream acknowledges it, while a new stream leader is elected. */
async function publishWithin(js: JetStreamClient, subject: string, data: string, timeoutMs: number): Promise<{ seq: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await js.publish(subject, data, { msgID: `${subject}:${data}`, timeout: 2_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
