import { join } from 'node:path';
import { parseVersion } from '../influx/target.js';
import { INFLUX_DIR } from './manifest.js';

/** Where an InfluxDB not run by frostwatch lives; its readings are copied by its own tools, on its own machine. */
export interface ExternalInflux {
  url: string;
  /** INFLUX_BUCKET: the 1.x database (a `db/rp` form names the database first) or the 2.x bucket. */
  bucket: string;
  org?: string | undefined;
  /** X-Influxdb-Version, or null when the server did not answer. */
  version: string | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * The commands that back up an external InfluxDB into `<dir>/influxdb`, by its major version; each line is either a
 * command to run as printed or a sentence (starting with '#') saying where. The token stays a variable: a secret
 * printed to a terminal ends up in scrollback and shell history.
 */
export function externalBackupCommands(influx: ExternalInflux, dir: string): string[] {
  const target = join(dir, INFLUX_DIR);
  const database = influx.bucket.split('/')[0] ?? influx.bucket;
  const host = new URL(influx.url).hostname;
  const where = LOOPBACK.has(host) ? [] : [`# on ${host}, then copy the folder it writes to ${target} here:`];
  const v1 = [
    ...where,
    `influxd backup -portable -db ${database} -host 127.0.0.1:8088 ${LOOPBACK.has(host) ? target : '/tmp/frostwatch-influxdb'}`,
  ];
  const v2 = [
    `influx backup ${target} --host ${influx.url} --bucket ${influx.bucket}${influx.org ? ` --org ${influx.org}` : ''} --token "$INFLUX_TOKEN"`,
  ];
  const v3 = [
    '# InfluxDB 3 has no backup command: copy its object store (the --data-dir of `influxdb3 serve`, or its bucket)',
    '# with the server stopped, as its documentation describes.',
  ];
  switch (parseVersion(influx.version)?.major) {
    case 1:
      return v1;
    case 2:
      return v2;
    case 3:
      return v3;
    default:
      return [`# InfluxDB at ${influx.url} did not answer; by its version:`, '# 1.x:', ...v1, '# 2.x:', ...v2];
  }
}

/** The commands that put `<dir>/influxdb` back into an external InfluxDB (the database or bucket must not exist yet). */
export function externalRestoreCommands(influx: ExternalInflux, dir: string, backupVersion: string | null): string[] {
  const source = join(dir, INFLUX_DIR);
  const database = influx.bucket.split('/')[0] ?? influx.bucket;
  const host = new URL(influx.url).hostname;
  const where = LOOPBACK.has(host) ? [] : [`# copy ${source} to ${host}, then there:`];
  const v1 = [
    ...where,
    `# the database must not exist yet (DROP DATABASE ${database}, or restore under another name with -newdb):`,
    `influxd restore -portable -db ${database} -host 127.0.0.1:8088 ${source}`,
  ];
  const v2 = [
    '# the bucket must not exist yet (influx bucket delete, or --new-bucket):',
    `influx restore ${source} --host ${influx.url} --bucket ${influx.bucket}${influx.org ? ` --org ${influx.org}` : ''} --token "$INFLUX_TOKEN"`,
  ];
  // What matters is who made the backup: a 1.x portable backup goes into 1.x (2.x migrates with `influxd upgrade`).
  switch (parseVersion(backupVersion)?.major) {
    case 1:
      return v1;
    case 2:
      return v2;
    case 3:
      return ['# InfluxDB 3: put the copied object store back in place with the server stopped.'];
    default:
      return ['# 1.x:', ...v1, '# 2.x:', ...v2];
  }
}
