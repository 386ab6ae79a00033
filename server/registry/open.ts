import type { Logger } from 'pino';
import { type Clock, systemClock } from '../../contracts/index.js';
import { openDatabase } from './db.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import { openPostgres } from './pg/pg-db.js';
import type { Db } from './sql.js';
import { dataPaths } from '../paths.js';

/**
 * Where the registry lives: the SQLite file in DATA_DIR (the default, one district on one machine), or PostgreSQL
 * at DATABASE_URL (a province on a cluster, docs/scale-out.md). Plain data, so a worker thread can open its own.
 */
export type RegistryLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; keyDir: string };

export function registryLocation(settings: { DATA_DIR: string; DATABASE_URL?: string | undefined }): RegistryLocation {
  if (settings.DATABASE_URL !== undefined) return { kind: 'postgres', url: settings.DATABASE_URL, keyDir: settings.DATA_DIR };
  return { kind: 'sqlite', file: dataPaths(settings.DATA_DIR).registry };
}

/** Open the registry and bring its schema up to date (pass `[]` where another thread or process migrates). */
export function openRegistry(
  location: RegistryLocation,
  logger: Logger,
  options: { migrations?: readonly Migration[]; clock?: Clock; applicationName?: string; reconnect?: boolean } = {},
): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  const clock = options.clock ?? systemClock;
  if (location.kind === 'sqlite') return openDatabase(location.file, logger, migrations, clock);
  return openPostgres(location.url, logger, migrations, clock, {
    keyDir: location.keyDir,
    ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName }),
    ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
  });
}

/** The URL with its password masked, for logs and `/health`. */
export function describeRegistry(location: RegistryLocation): string {
  if (location.kind === 'sqlite') return location.file;
  try {
    const url = new URL(location.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}
