import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

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
