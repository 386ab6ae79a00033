import { chmod, copyFile, mkdir, readdir, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectInflux } from '../influx/connect.js';
import type { ManagedInfluxd } from '../influx/managed-influxd.js';
import { dataPaths } from '../paths.js';
import { type BackupOptions, type InfluxSettings, describeCounts } from './backup.js';
import { externalRestoreCommands } from './external.js';
import { DATA_FILES, formatBytes, verifyFile } from './files.js';
import {
  countReadings,
  readManagedAddresses,
  recreateContinuousQueries,
  retentionPolicies,
  runInfluxd,
  runningManagedInfluxd,
} from './influxd-tools.js';
import { BackupError, INFLUX_DIR, type ManagedInfluxPart, type Manifest, readManifest } from './manifest.js';
import { KNOWN_SCHEMA_VERSION, inspectRegistry } from './registry-copy.js';
import { startTemporaryInfluxd } from './temporary-influxd.js';

export interface RestoreOptions extends Pick<BackupOptions, 'logger' | 'progress'> {
  /** The backup directory. */
  dir: string;
  dataDir: string;
  /** Move what DATA_DIR holds aside (into DATA_DIR/replaced-<time>/) instead of refusing. */
  force: boolean;
  influx: InfluxSettings;
}

export interface RestoreResult {
  manifest: Manifest;
  /** With an external InfluxDB (now, or when the backup was made): what the operator still has to run. */
  externalCommands: string[];
  /** Where --force moved the data that was in DATA_DIR; null when there was none. */
  movedAside: string | null;
}

/** What makes a DATA_DIR "hold data": a restore would replace these. The spool is left alone (see below). */
const DATA_ENTRIES = ['frostwatch.db', 'frostwatch.db-wal', 'frostwatch.db-shm', ...DATA_FILES, 'influxdb'];

/**
 * `frostwatch restore DIR`: checks the whole backup against its manifest before touching DATA_DIR, then puts back the
 * registry and the key files, and restores the InfluxDB database into DATA_DIR's own influxd (started for the
 * restore and stopped after). frostwatch must not be running on DATA_DIR.
 */
export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const dir = resolve(opts.dir);
  const dataDir = resolve(opts.dataDir);
  const { progress } = opts;
  const manifest = await readManifest(dir);
  progress(
    `Backup of ${manifest.source.dataDir} on ${manifest.source.host}, made ${manifest.createdAt} by frostwatch ${manifest.versions.frostwatch}`,
  );
  if (manifest.registry.schemaVersion > KNOWN_SCHEMA_VERSION)
    throw new BackupError(
      `the backup's registry is at schema version ${manifest.registry.schemaVersion}, this frostwatch knows up to ${KNOWN_SCHEMA_VERSION}: ` +
        `restore it with frostwatch ${manifest.versions.frostwatch} or newer`,
    );

  const restoreInfluxHere = manifest.influx.mode === 'managed' && !opts.influx.url;
  await verifyBackup(dir, manifest, restoreInfluxHere, progress);

  const paths = dataPaths(dataDir);
  const pid = await runningManagedInfluxd(paths.influxd);
  if (pid !== null) throw new BackupError(`frostwatch is running on ${dataDir} (its influxd is pid ${pid}): stop it before a restore`);
  const present = DATA_ENTRIES.filter((name) => existsSync(join(dataDir, name)));
  let movedAside: string | null = null;
  if (present.length > 0) {
    if (!opts.force)
      throw new BackupError(
        `${dataDir} already holds data (${present.join(', ')}): restore into a new DATA_DIR, or add --force to move that data aside first`,
      );
    movedAside = join(dataDir, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(movedAside, { mode: 0o700 });
    // A rename, not a delete: a restore run on the wrong directory can be undone by moving the files back.
    for (const name of present) await rename(join(dataDir, name), join(movedAside, name));
    progress(`Moved ${present.join(', ')} aside into ${movedAside}`);
  }
  await mkdir(dataDir, { recursive: true });
  const spool = await readdir(paths.spool).catch(() => []);
  if (spool.length > 0)
    progress(`${paths.spool} holds readings not yet in InfluxDB: they are kept, and written into the restored InfluxDB at the next start`);

  // Copied under a temporary name and renamed: a restore cut short never leaves a half-copied registry in place.
  const partial = `${paths.registry}.restoring`;
  await copyFile(join(dir, manifest.registry.file.name), partial);
  await chmod(partial, 0o600);
  await rename(partial, paths.registry);
  for (const key of manifest.dataFiles) {
    await copyFile(join(dir, key.name), join(dataDir, `${key.name}.restoring`));
    await chmod(join(dataDir, `${key.name}.restoring`), 0o600);
    await rename(join(dataDir, `${key.name}.restoring`), join(dataDir, key.name));
  }
  const restored = inspectRegistry(paths.registry);
  const c = restored.counts;
  progress(
    `SQLite registry restored: schema version ${restored.schemaVersion}, ${c['stations'] ?? 0} stations, ${c['farmers'] ?? 0} farmers, ` +
      `${c['alerts'] ?? 0} alerts; files beside it: ${manifest.dataFiles.map((k) => k.name).join(', ') || 'none'}`,
  );
  if (restored.schemaVersion < KNOWN_SCHEMA_VERSION)
    progress(`  (schema version ${restored.schemaVersion} → ${KNOWN_SCHEMA_VERSION}: frostwatch migrates it at its next start)`);

  let externalCommands: string[] = [];
  if (manifest.influx.mode === 'managed' && restoreInfluxHere) {
    await restoreManagedInflux(paths.influxd, dir, manifest.influx, opts);
  } else if (manifest.influx.mode === 'managed' && opts.influx.url) {
    externalCommands = externalRestoreCommands({ ...opts.influx, url: opts.influx.url, version: null }, dir, manifest.influx.version);
    progress(`INFLUX_URL is set (${opts.influx.url}): the readings in ${join(dir, INFLUX_DIR)} go there by InfluxDB's own restore.`);
  } else if (manifest.influx.mode === 'external') {
    const url = opts.influx.url ?? manifest.influx.url;
    externalCommands = externalRestoreCommands({ ...opts.influx, url, version: null }, dir, manifest.influx.version);
    progress(
      `This backup holds no readings (they were in the external InfluxDB ${manifest.influx.url}); restore them from the backup made with:\n  ${manifest.influx.commands.join('\n  ')}`,
    );
  }
  return { manifest, externalCommands, movedAside };
}

/** Every file the restore will use, against the manifest's size and SHA-256: a damaged backup changes nothing. */
async function verifyBackup(dir: string, manifest: Manifest, withInflux: boolean, progress: (line: string) => void): Promise<void> {
  const entries = [manifest.registry.file, ...manifest.dataFiles];
  for (const entry of entries) await verifyFile(dir, entry, dir);
  let bytes = entries.reduce((n, f) => n + f.bytes, 0);
  let count = entries.length;
  if (withInflux && manifest.influx.mode === 'managed') {
    const influxDir = join(dir, INFLUX_DIR);
    for (const entry of manifest.influx.files) await verifyFile(influxDir, entry, influxDir);
    bytes += manifest.influx.files.reduce((n, f) => n + f.bytes, 0);
    count += manifest.influx.files.length;
  }
  progress(`Backup checked: ${count} files, ${formatBytes(bytes)}, all as the manifest says`);
}

async function restoreManagedInflux(influxDir: string, dir: string, part: ManagedInfluxPart, opts: RestoreOptions): Promise<void> {
  const { progress, logger } = opts;
  const database = opts.influx.bucket.split('/')[0] ?? opts.influx.bucket;
  if (!part.files.some((f) => /\.s\d+\.tar\.gz$/.test(f.name))) {
    // A database that never stored a reading has no shard: influxd 1.x's restore then fails ("DB metadata not
    // changed"), and there is nothing to bring back; frostwatch creates the database and its policies at start.
    progress('InfluxDB: the backup holds no readings (no shards); frostwatch creates the database at its next start');
    return;
  }
  progress(`InfluxDB: starting the influxd of ${influxDir} for the restore`);
  const influxd: ManagedInfluxd = await startTemporaryInfluxd(influxDir, logger, progress);
  try {
    const addresses = await readManagedAddresses(influxDir);
    if (addresses === null) throw new BackupError(`cannot read the ports of the influxd in ${influxDir}`);
    const started = Date.now();
    // A fresh influxd has no database yet, which a portable restore needs (it refuses to merge into one that exists).
    const renamed = database === part.database ? [] : ['-newdb', database];
    await runInfluxd(['restore', '-portable', '-db', part.database, ...renamed, '-host', addresses.rpc, join(dir, INFLUX_DIR)], (line) => {
      logger.debug({ line }, 'influxd restore');
      // `Restoring shard 12 live from backup 20261220T060000Z.s12.tar.gz`
      const shard = /^Restoring shard (\d+)/.exec(line);
      if (shard) progress(`  shard ${shard[1] ?? ''} restored`);
    });
    const conn = await connectInflux({ url: influxd.url, bucket: database, logger, timeoutMs: 120_000 });
    try {
      if (renamed.length === 0) {
        const created = await recreateContinuousQueries(conn, part.continuousQueries);
        if (created > 0)
          progress(`InfluxDB: recreated ${created} continuous quer${created === 1 ? 'y' : 'ies'} (a portable restore leaves them out)`);
      } else if (part.continuousQueries.length > 0) {
        progress(`InfluxDB: the backup's continuous queries name database ${part.database}; frostwatch recreates its own at start`);
      }
      const policies = await retentionPolicies(conn);
      const counts = await countReadings(conn, policies);
      progress(
        `InfluxDB restored into database ${database} in ${Date.now() - started} ms; readings by retention policy: ${describeCounts(counts)}`,
      );
      if (part.readingsAtLeast !== null) {
        const short = Object.entries(part.readingsAtLeast).filter(([rp, n]) => (counts[rp] ?? 0) < n);
        if (short.length > 0)
          throw new BackupError(
            `the restored InfluxDB has fewer readings than the backup counted (${short.map(([rp, n]) => `${rp}: ${counts[rp] ?? 0} of ${n}`).join(', ')}): the restore is incomplete`,
          );
      }
    } finally {
      await conn.close();
    }
  } finally {
    await influxd.stop();
    progress('InfluxDB: stopped its influxd; `frostwatch up` starts it again');
  }
}
