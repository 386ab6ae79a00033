import { spawn } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InfluxConnection, InfluxSeries } from '../influx/connect.js';
import { qualifiedMeasurement, quoteIdent } from '../influx/influxql.js';
import { READINGS_MEASUREMENT } from '../influx/line-protocol.js';
import { PID_FILE } from '../influx/managed-influxd.js';
import type { ContinuousQuery } from './manifest.js';
import { BackupError } from './manifest.js';

export const CONFIG_FILE = 'influxdb.conf';

export interface ManagedAddresses {
  /** host:port of the RPC service that `influxd backup` and `influxd restore` talk to. */
  rpc: string;
  /** http://host:port of the HTTP API. */
  httpUrl: string;
}

/**
 * The ports of the managed influxd, from the config file it was started with (server/influx/managed-influxd.ts writes
 * a fresh one at every start, with both ports chosen free): the top-level `bind-address` is the RPC service, the one
 * under `[http]` the HTTP API.
 */
export async function readManagedAddresses(influxDir: string): Promise<ManagedAddresses | null> {
  const text = await readFile(join(influxDir, CONFIG_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  let section = '';
  let rpc: string | undefined;
  let http: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1] ?? '';
      continue;
    }
    const bind = /^bind-address\s*=\s*"([^"]+)"$/.exec(line);
    if (!bind) continue;
    if (section === '') rpc = bind[1];
    else if (section === 'http') http = bind[1];
  }
  if (rpc === undefined || http === undefined) return null;
  return { rpc, httpUrl: `http://${http}` };
}

/**
 * The pid of the influxd frostwatch runs on `influxDir`, or null when none runs. Like the orphan check, a pid counts
 * only when that process's command line names our config file: a pid file left by a crash may name a reused pid.
 */
export async function runningManagedInfluxd(influxDir: string): Promise<number | null> {
  const pid = Number((await readFile(join(influxDir, PID_FILE), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const config = args[args.indexOf('-config') + 1];
  if (!args.includes('-config') || config === undefined) return null;
  // frostwatch may have been started with a relative DATA_DIR (the default is ./data): resolve it where influxd runs.
  // (Another user's process hides its cwd: then resolve it here, right whenever the path was absolute.)
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => process.cwd());
  return resolve(cwd, config) === resolve(influxDir, CONFIG_FILE) ? pid : null;
}

export async function pingInflux(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 204 ? (res.headers.get('x-influxdb-version') ?? 'unknown') : null;
  } catch {
    return null;
  }
}

/**
 * Run `influxd <args>` (backup or restore), handing each line it prints to `onLine` without its log timestamp.
 * A failure carries influxd's last lines: they say what went wrong (a database that exists, a port not answering).
 */
export function runInfluxd(args: readonly string[], onLine: (line: string) => void, binary = 'influxd'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (chunk: Buffer) => {
      for (const raw of chunk.toString('utf8').split('\n')) {
        const line = raw.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '').trim();
        if (line === '') continue;
        tail.push(line);
        if (tail.length > 10) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new BackupError(
          error.code === 'ENOENT' ? `${binary} is not installed (sudo apt-get install -y influxdb)` : `${binary}: ${error.message}`,
        ),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BackupError(`influxd ${args[0] ?? ''} failed (${code ?? signal ?? '?'}):\n  ${tail.join('\n  ')}`));
    });
  });
}

export async function retentionPolicies(conn: InfluxConnection): Promise<string[]> {
  const series = await conn.query(`SHOW RETENTION POLICIES ON ${quoteIdent(conn.target.database)}`);
  return series.flatMap((s) => rows(s).map((row) => String(row[s.columns.indexOf('name')])));
}

export async function continuousQueries(conn: InfluxConnection): Promise<ContinuousQuery[]> {
  const series = await conn.query('SHOW CONTINUOUS QUERIES');
  return series
    .filter((s) => s.name === conn.target.database)
    .flatMap((s) =>
      rows(s).map((row) => ({ name: String(row[s.columns.indexOf('name')]), query: String(row[s.columns.indexOf('query')]) })),
    );
}

/**
 * Points of `readings` in each retention policy. InfluxQL 1.x counts a field's values, not points: airTempC is in
 * every reading (contracts/reading.ts) and in every 10-minute mean, so its count is the number of points. One field
 * rather than count(*): counting all six costs six times as much (3.5 M readings: ~7 s), on a live system.
 */
export async function countReadings(conn: InfluxConnection, policies: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const rp of policies) {
    const series = await conn.query(`SELECT count(${quoteIdent('airTempC')}) FROM ${qualifiedMeasurement(READINGS_MEASUREMENT, rp)}`);
    const value = (series[0] ? rows(series[0]) : [])[0]?.[1];
    counts[rp] = typeof value === 'number' ? value : 0;
  }
  return counts;
}

/** InfluxDB 1.x leaves `values` out of a series with no rows (SHOW CONTINUOUS QUERIES of a database without any). */
function rows(series: InfluxSeries): unknown[][] {
  const { values } = series as Partial<InfluxSeries>;
  return values ?? [];
}

/**
 * Put back continuous queries the restore left out. Each is recreated from its `CREATE CONTINUOUS QUERY` text as
 * SHOW printed it; one already there (a newer frostwatch creating its own at start) is left as it is.
 */
export async function recreateContinuousQueries(conn: InfluxConnection, wanted: readonly ContinuousQuery[]): Promise<number> {
  const present = new Set((await continuousQueries(conn)).map((cq) => cq.name));
  let created = 0;
  for (const cq of wanted) {
    if (present.has(cq.name)) continue;
    await conn.query(cq.query);
    created += 1;
  }
  return created;
}
