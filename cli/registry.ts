import { pino } from 'pino';
import { AdminEnvSchema, loadEnv } from '../contracts/index.js';
import type { Db } from '../server/registry/db.js';
import { openRegistry, registryLocation } from '../server/registry/open.js';

/**
 * The admin commands (`station`, `farmer`, `officer`, `user`, `integration` …) work on the registry directly — the
 * file in DATA_DIR (SQLite WAL allows it while the system runs), or PostgreSQL at DATABASE_URL — so they work with the
 * server down too. Opens it, runs
 * `action`, and closes it whatever happened.
 */
export async function withRegistry<T>(action: (db: Db) => T | Promise<T>): Promise<T> {
  const env = loadEnv(AdminEnvSchema, process.env);
  const db = openRegistry(registryLocation(env), pino({ level: 'warn' }), { applicationName: 'frostwatch admin' });
  try {
    return await action(db);
  } finally {
    db.close();
  }
}
