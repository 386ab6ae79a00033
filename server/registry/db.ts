import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../contracts/index.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type { Db } from './sql.js';

export type { Db } from './sql.js';

/** The embedded registry: one SQLite file (`DATA_DIR/frostwatch.db`), for `frostwatch up` and one district. */
export type SqliteDb = Database.Database;

/** Whether `db` is the embedded SQLite registry, for the few things only it has (pragmas, its backup API). */
export function isSqlite(db: Db): db is SqliteDb {
  return db instanceof Database;
}

/** Long enough to ride out another connection's checkpoint, short enough to surface a real lock-up. */
const BUSY_TIMEOUT_MS = 5_000;

/** Open (or create) the registry database and bring its schema up to date; `clock` stamps the migrations applied. */
export function openDatabase(
  file: string,
  logger: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
  clock: Clock = systemClock,
): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // WAL lets the dashboard read while ingest and the rule engine write.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commit.
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations, logger, clock);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Apply every migration not yet recorded, each in its own transaction, stamped `applied_at` by `clock` (whole ms:
 * the column is a STRICT INTEGER and an accelerated clock's time has fractions). Returns the versions applied.
 */
export function migrate(db: SqliteDb, migrations: readonly Migration[], logger: Logger, clock: Clock = systemClock): number[] {
  assertOrdered(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const applied = new Set(
    db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
      .map((row) => row.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const done: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Math.round(clock.now()));
      // Mirrors the table for tools that only look at the header (sqlite3 CLI, backups).
      db.pragma(`user_version = ${migration.version}`);
    })();
    logger.info({ version: migration.version, name: migration.name }, 'sqlite migration applied');
    done.push(migration.version);
  }
  return done;
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
    }
  });
}
