import { pino } from 'pino';
import { AdminEnvSchema, loadEnv } from '../contracts/index.js';
import { dataPaths } from '../server/paths.js';
import { type Db, openDatabase } from '../server/registry/db.js';

/**
 * The admin commands (`station`, `farmer`, `officer`, `user`, `integration` …) work on the registry file in DATA_DIR
 * directly — SQLite WAL allows it while the system runs — so they work with the server down too. Opens it, runs
 * `action`, and closes it whatever happened.
 */
export async function withRegistry<T>(action: (db: Db) => T | Promise<T>): Promise<T> {
  const env = loadEnv(AdminEnvSchema, process.env);
  const db = openDatabase(dataPaths(env.DATA_DIR).registry, pino({ level: 'warn' }));
  try {
    return await action(db);
  } finally {
    db.close();
  }
}
