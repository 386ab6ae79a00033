import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../registry/migrations.js';
import { BackupError } from './manifest.js';

export interface RegistryCopy {
  pages: number;
  schemaVersion: number;
  counts: Record<string, number>;
  sqliteVersion: string;
}

/** Above the largest registry we expect (10,000 stations and a season's outbox are a few hundred MB): one step. */
const ALL_PAGES = 0x7fffffff;

/**
 * A consistent copy of the live registry through SQLite's backup API, while the server keeps writing. The API
 * restarts a copy whenever another connection writes between two of its steps, so a copy made in small steps may
 * never finish under a busy server; it is made in one step instead, under one read transaction (in WAL mode
 * readers do not block the server's writers). The copy is then switched out of WAL mode, so it is one
 * self-contained file, and checked.
 */
export async function copyRegistry(source: string, target: string): Promise<RegistryCopy> {
  if (!existsSync(source)) throw new BackupError(`no registry at ${source}: is DATA_DIR right?`);
  // Opened as it is, without migrations: a backup never changes what it copies.
  const live = new Database(source, { fileMustExist: true });
  let pages = 0;
  try {
    live.pragma('busy_timeout = 5000');
    const result = await live.backup(target, {
      progress: ({ totalPages }) => {
        pages = totalPages;
        return ALL_PAGES;
      },
    });
    pages = Math.max(pages, result.totalPages);
  } finally {
    live.close();
  }
  const copy = new Database(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const check = copy.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new BackupError(`the copy of the registry fails SQLite's quick_check: ${check}`);
    return { pages, ...describeRegistry(copy) };
  } finally {
    copy.close();
  }
}

/** Schema version, rows per table and SQLite's version, read from a registry file without changing it. */
export function inspectRegistry(file: string): Omit<RegistryCopy, 'pages'> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return describeRegistry(db);
  } finally {
    db.close();
  }
}

function describeRegistry(db: Database.Database): Omit<RegistryCopy, 'pages'> {
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((row) => row.name);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    // Names come from sqlite_master itself; quoted all the same.
    const row = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get();
    counts[table] = row?.n ?? 0;
  }
  const version = tables.includes('schema_migrations')
    ? (db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get()?.v ?? 0)
    : 0;
  const sqliteVersion = db.prepare<[], { v: string }>('SELECT sqlite_version() AS v').get()?.v ?? 'unknown';
  return { schemaVersion: version, counts, sqliteVersion };
}

/** The newest schema this frostwatch can run. */
export const KNOWN_SCHEMA_VERSION = MIGRATIONS.length;
