import { LEASE_CLASS, MEMBER_CLASS } from '../../server/cluster/leases.js';
import type { PgDb } from '../../server/registry/pg/pg-db.js';

/** Who holds what, as PostgreSQL sees it: each partition's holder (a backend pid), and how many workers are members. */
export function leaseOwners(db: PgDb): { members: number; byPartition: Map<number, number> } {
  const rows = db.query<{ classid: number; objid: number; pid: number }>(
    `SELECT classid::bigint AS classid, objid::bigint AS objid, pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2`,
  );
  const byPartition = new Map<number, number>();
  const members = new Set<number>();
  for (const row of rows) {
    if (row.classid === LEASE_CLASS) byPartition.set(row.objid, row.pid);
    if (row.classid === MEMBER_CLASS) members.add(row.pid);
  }
  return { members: members.size, byPartition };
}

/** Probe until `ok` holds (then its value), every `everyMs`; after `timeoutMs` an error naming `what` and the last value. */
export async function until<T>(
  what: string,
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      const shown = JSON.stringify(value, (_key, v: unknown): unknown => (v instanceof Map ? (Object.fromEntries(v) as unknown) : v));
      throw new Error(`${what}: not within ${timeoutMs} ms (last: ${shown.slice(0, 500)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The environment every `frostwatch` process of a test cluster shares: its data dir, registry, readings log and InfluxDB. */
export function clusterEnv(c: {
  dataDir: string;
  postgres: { url: string };
  nats: { urls: readonly string[] };
  partitions: number;
  influx: { url: string; database: string };
}): Record<string, string> {
  return {
    DATA_DIR: c.dataDir,
    DATABASE_URL: c.postgres.url,
    NATS_URL: c.nats.urls.join(','),
    PARTITIONS: String(c.partitions),
    INFLUX_URL: c.influx.url,
    INFLUX_BUCKET: c.influx.database,
  };
}
