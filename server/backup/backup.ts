import { chmod, copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { connectInflux } from '../influx/connect.js';
import type { ManagedInfluxd } from '../influx/managed-influxd.js';
import { dataPaths } from '../paths.js';
import { externalBackupCommands } from './external.js';
import { DATA_FILES, describeFile, filesUnder, formatBytes, isEmptyOrAbsent } from './files.js';
import {
  continuousQueries,
  countReadings,
  pingInflux,
  readManagedAddresses,
  retentionPolicies,
  runInfluxd,
  runningManagedInfluxd,
  type ManagedAddresses,
} from './influxd-tools.js';
import {
  BACKUP_FORMAT,
  BackupError,
  FORMAT_VERSION,
  INFLUX_DIR,
  type FileEntry,
  type ManagedInfluxPart,
  type Manifest,
  writeManifest,
} from './manifest.js';
import { copyRegistry } from './registry-copy.js';
import { startTemporaryInfluxd } from './temporary-influxd.js';

export interface InfluxSettings {
  /** INFLUX_URL: unset → the managed influxd in DATA_DIR/influxdb. */
  url?: string | undefined;
  bucket: string;
  token?: string | undefined;
  org?: string | undefined;
}

export interface BackupOptions {
  dataDir: string;
  /** The backup directory: absent or empty. */
  dir: string;
  influx: InfluxSettings;
  frostwatchVersion: string;
  logger: Logger;
  /** One line per step, for the operator (and a timer's journal). */
  progress: (line: string) => void;
}

export interface BackupResult {
  manifest: Manifest;
  /** With an external InfluxDB: what the operator still has to run. */
  externalCommands: string[];
}

/** How long the readings may take to count before the manifest goes without (a season of a large fleet). */
const COUNT_TIMEOUT_MS = 120_000;
/** A supervised influxd being restarted by frostwatch is back within its backoff; wait that long before giving up. */
const RUNNING_PING_WAIT_MS = 35_000;

/**
 * `frostwatch backup DIR`: the registry through SQLite's backup API, the key files beside it, and the managed
 * InfluxDB's database through `influxd backup -portable` — all while frostwatch runs. The two stores are copied one
 * after the other (the registry first), each consistent in itself. The manifest is written last.
 */
export async function runBackup(opts: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const dir = resolve(opts.dir);
  const dataDir = resolve(opts.dataDir);
  const { progress } = opts;
  if (!(await isEmptyOrAbsent(dir)))
    throw new BackupError(`${dir} is not empty: give a new or empty directory (a backup never mixes with other files)`);
  const paths = dataPaths(dataDir);
  if (!existsSync(paths.registry)) throw new BackupError(`no registry at ${paths.registry}: is DATA_DIR right?`);
  // The copy holds phone numbers, token hashes and the token key: readable by its owner only.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  progress(`Backing up ${dataDir} into ${dir}`);

  const registryStarted = Date.now();
  const copy = await copyRegistry(paths.registry, join(dir, 'frostwatch.db'));
  await chmod(join(dir, 'frostwatch.db'), 0o600);
  const registryFile = await describeFile(dir, 'frostwatch.db');
  const c = copy.counts;
  progress(
    `SQLite registry: ${formatBytes(registryFile.bytes)}, schema version ${copy.schemaVersion}: ` +
      `${c['stations'] ?? 0} stations, ${c['farmers'] ?? 0} farmers, ${c['alerts'] ?? 0} alerts (${Date.now() - registryStarted} ms)`,
  );

  const dataFiles: FileEntry[] = [];
  for (const name of DATA_FILES) {
    if (!existsSync(join(dataDir, name))) continue;
    await copyFile(join(dataDir, name), join(dir, name));
    await chmod(join(dir, name), 0o600);
    dataFiles.push(await describeFile(dir, name));
  }
  progress(`Files beside the registry: ${dataFiles.map((f) => f.name).join(', ') || 'none'}`);
  if (!dataFiles.some((f) => f.name === 'token-hmac-key') && (c['stations'] ?? 0) > 0)
    progress(`  (no token-hmac-key in ${dataDir}: stations cannot log in after a restore until their tokens are rotated)`);

  let influx: Manifest['influx'];
  let externalCommands: string[] = [];
  if (opts.influx.url) {
    const version = await pingInflux(opts.influx.url);
    externalCommands = externalBackupCommands({ ...opts.influx, url: opts.influx.url, version }, dir);
    influx = { mode: 'external', url: opts.influx.url, database: opts.influx.bucket, version, commands: externalCommands };
    progress(
      `InfluxDB is external (${opts.influx.url}${version ? `, ${version}` : ', not answering'}): its readings are not in this backup.`,
    );
  } else {
    influx = await backupManagedInflux(paths.influxd, dir, opts);
  }

  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    formatVersion: FORMAT_VERSION,
    createdAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    versions: { frostwatch: opts.frostwatchVersion, node: process.version, sqlite: copy.sqliteVersion },
    source: { host: hostname(), dataDir },
    registry: { file: registryFile, schemaVersion: copy.schemaVersion, counts: copy.counts },
    dataFiles,
    influx,
  };
  await writeManifest(dir, manifest);
  const total = registryFile.bytes + dataFiles.reduce((n, f) => n + f.bytes, 0) + (influx.mode === 'managed' ? sum(influx.files) : 0);
  progress(`Backup complete in ${((Date.now() - started) / 1000).toFixed(1)} s: ${formatBytes(total)} in ${dir}`);
  return { manifest, externalCommands };
}

async function backupManagedInflux(influxDir: string, dir: string, opts: BackupOptions): Promise<ManagedInfluxPart> {
  const { progress, logger } = opts;
  const database = opts.influx.bucket.split('/')[0] ?? opts.influx.bucket;
  let temporary: ManagedInfluxd | null = null;
  let addresses = await runningAddresses(influxDir);
  if (addresses === null) {
    if (!existsSync(join(influxDir, 'meta')))
      throw new BackupError(
        `no InfluxDB data in ${influxDir}: frostwatch has not run here with its own InfluxDB (with an external one, set INFLUX_URL)`,
      );
    // frostwatch is stopped: run its influxd for the length of the copy (the RPC service only answers a live one).
    progress('InfluxDB: frostwatch is not running; starting its influxd for the copy');
    temporary = await startTemporaryInfluxd(influxDir, logger, progress);
    addresses = await readManagedAddresses(influxDir);
    if (addresses === null) throw new BackupError(`cannot read the ports of the influxd in ${influxDir}`);
  }
  const conn = await connectInflux({ url: addresses.httpUrl, bucket: database, logger, timeoutMs: COUNT_TIMEOUT_MS });
  try {
    const version = (await pingInflux(addresses.httpUrl)) ?? 'unknown';
    let policies: string[];
    try {
      policies = await retentionPolicies(conn);
    } catch (error) {
      throw new BackupError(`InfluxDB (${addresses.httpUrl}) has no database "${database}" to back up: ${String(error)}`);
    }
    const cqs = await continuousQueries(conn);
    let readingsAtLeast: Record<string, number> | null = null;
    try {
      readingsAtLeast = await countReadings(conn, policies);
    } catch (error) {
      progress(`InfluxDB: could not count the readings (${error instanceof Error ? error.message : String(error)}); going on without`);
    }
    const counted = readingsAtLeast === null ? policies.join(', ') : describeCounts(readingsAtLeast);
    progress(`InfluxDB ${version}: database ${database}, readings by retention policy: ${counted}; copying…`);
    const influxStarted = Date.now();
    const target = join(dir, INFLUX_DIR);
    await mkdir(target, { mode: 0o700 });
    let shards = 0;
    await runInfluxd(['backup', '-portable', '-db', database, '-host', addresses.rpc, target], (line) => {
      logger.debug({ line }, 'influxd backup');
      // One line a shard (a week of readings): `backing up db=frostwatch rp=autogen shard=12 to … since …`.
      const shard = /rp=(\S+) shard=(\d+)/.exec(line);
      if (shard) {
        shards += 1;
        progress(`  shard ${shard[2] ?? ''} (${shard[1] ?? ''}) copied`);
      }
    });
    const files = await Promise.all((await filesUnder(target)).map((name) => describeFile(target, name)));
    progress(`InfluxDB: ${shards} shard(s), ${files.length} files, ${formatBytes(sum(files))} (${Date.now() - influxStarted} ms)`);
    return { mode: 'managed', database, version, retentionPolicies: policies, continuousQueries: cqs, readingsAtLeast, files };
  } finally {
    await conn.close();
    if (temporary) {
      await temporary.stop();
      progress('InfluxDB: stopped the influxd started for the copy');
    }
  }
}

/** The managed influxd's addresses when frostwatch runs it, waiting out a supervisor's restart; null when none runs. */
async function runningAddresses(influxDir: string): Promise<ManagedAddresses | null> {
  const pid = await runningManagedInfluxd(influxDir);
  if (pid === null) return null;
  const addresses = await readManagedAddresses(influxDir);
  if (addresses === null) throw new BackupError(`influxd (pid ${pid}) runs, but ${influxDir}/influxdb.conf does not give its ports`);
  const deadline = Date.now() + RUNNING_PING_WAIT_MS;
  while ((await pingInflux(addresses.httpUrl)) === null) {
    if (Date.now() > deadline) throw new BackupError(`influxd (pid ${pid}) does not answer on ${addresses.httpUrl}: is it healthy?`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return addresses;
}

/** `autogen 3456000, forever 192960`: raw readings and their 10-minute means are told apart by their policy. */
export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([rp, n]) => `${rp} ${n}`)
    .join(', ');
}

function sum(files: readonly FileEntry[]): number {
  return files.reduce((n, f) => n + f.bytes, 0);
}
