import type { Command } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { AdminEnvSchema, loadEnv } from '../../contracts/index.js';
import { LEASE_CLASS, MEMBER_CLASS } from '../../server/cluster/leases.js';
import { natsPartitionMapping } from '../../server/cluster/subjects.js';
import { openRegistry } from '../../server/registry/open.js';
import { PgDb } from '../../server/registry/pg/pg-db.js';
import { fail, out } from '../output.js';

const PartitionsSchema = z.coerce.number().int().min(1).max(1_024);

/** `frostwatch cluster …`: what an operator of a province cluster needs to set it up and see it (docs/scale-out.md). */
export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('a province cluster: NATS mapping, who holds which partition (docs/scale-out.md)');

  cluster
    .command('nats-mapping')
    .description('print the mappings block every nats-server of the cluster needs (the same P everywhere)')
    .option('--partitions <P>', 'partitions of the readings log (default: PARTITIONS, else 12)')
    .action((opts: { partitions?: string }) => {
      const parsed = PartitionsSchema.safeParse(opts.partitions ?? process.env['PARTITIONS'] ?? '12');
      if (!parsed.success) fail('--partitions: a whole number from 1 to 1024');
      out(natsPartitionMapping(parsed.data).trimEnd());
    });

  cluster
    .command('status')
    .description('the workers alive and the partition each holds, from PostgreSQL (DATABASE_URL)')
    .action(() => {
      const env = loadEnv(AdminEnvSchema, process.env);
      if (env.DATABASE_URL === undefined) fail('DATABASE_URL: a cluster keeps its registry in PostgreSQL; this one runs on SQLite');
      const db = openRegistry({ kind: 'postgres', url: env.DATABASE_URL, keyDir: env.DATA_DIR }, pino({ level: 'warn' }), {
        applicationName: 'frostwatch admin',
      });
      try {
        if (!(db instanceof PgDb)) throw new Error('not PostgreSQL');
        const rows = db.query<{ classid: number; objid: number; pid: number; host: string | null; since: string | null }>(
          `SELECT l.classid::bigint AS classid, l.objid::bigint AS objid, l.pid, a.client_addr::text AS host,
                  to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') AS since
             FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint IN ($1, $2)`,
          [LEASE_CLASS, MEMBER_CLASS],
        );
        const workers = rows.filter((row) => row.classid === MEMBER_CLASS);
        const leases = rows.filter((row) => row.classid === LEASE_CLASS);
        out(`workers alive: ${workers.length}`);
        for (const worker of workers.sort((a, b) => a.pid - b.pid)) {
          const held = leases
            .filter((lease) => lease.pid === worker.pid)
            .map((lease) => lease.objid)
            .sort((a, b) => a - b);
          out(`  session ${worker.pid}  ${worker.host ?? 'local'}  since ${worker.since ?? '?'}  partitions ${held.join(',') || '(none)'}`);
        }
        const owned = new Set(leases.map((lease) => lease.objid));
        out(`partitions held: ${owned.size}`);
      } finally {
        db.close();
      }
    });
}
