import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { inject } from 'vitest';
import type { Db } from '../../server/registry/db.js';
import { type RegistryLocation, openRegistry } from '../../server/registry/open.js';

/**
 * The registry a full app runs on: SQLite in its DATA_DIR, or — in the vitest project `postgres`, which runs the
 * full-app suites a second time — a fresh PostgreSQL database of its own, dropped again by `drop`.
 */
export async function testRegistry(): Promise<{ databaseUrl: string | undefined; drop(): Promise<void> }> {
  if (process.env['FROSTWATCH_TEST_REGISTRY'] !== 'postgres') return { databaseUrl: undefined, drop: () => Promise.resolve() };
  const admin = inject('postgresUrl');
  const name = `fw_${randomBytes(6).toString('hex')}`;
  await onAdmin(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { databaseUrl: url.toString(), drop: () => onAdmin(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function onAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A migrated registry for a store-level test: SQLite in `dir`, or a fresh PostgreSQL database in the `postgres` project. */
export async function openTestRegistry(dir: string, logger: Logger): Promise<{ db: Db; open(): Db; close(): Promise<void> }> {
  const made = await testRegistry();
  const location: RegistryLocation =
    made.databaseUrl === undefined
      ? { kind: 'sqlite', file: join(dir, 'frostwatch.db') }
      : { kind: 'postgres', url: made.databaseUrl, keyDir: dir };
  const opened: Db[] = [];
  const open = (): Db => {
    const db = openRegistry(location, logger);
    opened.push(db);
    return db;
  };
  const db = open();
  return {
    db,
    open,
    close: async () => {
      for (const each of opened) each.close();
      await made.drop();
    },
  };
}
