import { setLogger } from '@influxdata/influxdb-client';
import type { WriteApi } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { quoteIdent } from './influxql.js';
import { createWriteApi, makeTarget, MAX_WRITE_LINES, parseVersion, queryRequest } from './target.js';
import type { InfluxMajor, InfluxTarget } from './target.js';

export interface InfluxConnectOptions {
  url: string;
  /** 2.x/3.x: API token. 1.x with auth: `user:password`. */
  token?: string | undefined;
  org?: string | undefined;
  /** 1.x: database, `db/rp` allowed; 2.x/3.x: bucket. */
  bucket: string;
  logger: Logger;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export type PingResult = { ok: true; version: string } | { ok: false; error: string };

export interface InfluxSeries {
  name: string;
  columns: string[];
  values: unknown[][];
  tags?: Record<string, string>;
}

export class InfluxQueryError extends Error {
  override readonly name = 'InfluxQueryError';
}

export interface InfluxConnection {
  readonly url: string;
  readonly target: InfluxTarget;
  /** `X-Influxdb-Version` as last seen; null until the server has answered once. */
  readonly version: string | null;
  readonly major: InfluxMajor | null;
  ping(): Promise<PingResult>;
  /** 1.x: `CREATE DATABASE` (idempotent); 2.x/3.x: nothing, buckets are provisioned outside. */
  ensureDatabase(): Promise<void>;
  /** Write at most MAX_WRITE_LINES lines; resolves once InfluxDB accepted them, rejects otherwise. */
  writeLines(lines: readonly string[]): Promise<void>;
  /** One InfluxQL statement against the configured database; rows in epoch ms. */
  query(influxql: string): Promise<InfluxSeries[]>;
  close(): Promise<void>;
}

interface Ready {
  major: InfluxMajor;
  writeApi: WriteApi;
}

/**
 * Connect to InfluxDB. The version is detected from `/ping`; when the server is not reachable yet
 * the connection is still returned (storage being down must not stop intake) and detection,
 * database creation and the writer are set up on the first call that needs them.
 */
export async function connectInflux(opts: InfluxConnectOptions): Promise<InfluxConnection> {
  const conn = new Connection(opts);
  try {
    await conn.ready();
  } catch (err) {
    opts.logger.warn({ err, url: conn.url }, 'InfluxDB not reachable yet; will retry when writing');
  }
  return conn;
}

class Connection implements InfluxConnection {
  readonly target: InfluxTarget;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private detected: { raw: string; major: InfluxMajor } | null = null;
  private readying: Promise<Ready> | null = null;
  private writeApi: WriteApi | null = null;
  private closed = false;

  constructor(opts: InfluxConnectOptions) {
    this.target = makeTarget(opts);
    this.logger = opts.logger.child({ component: 'influx' });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    routeClientLogging(this.logger);
  }

  get url(): string {
    return this.target.url;
  }
  get version(): string | null {
    return this.detected?.raw ?? null;
  }
  get major(): InfluxMajor | null {
    return this.detected?.major ?? null;
  }

  async ping(): Promise<PingResult> {
    try {
      const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(this.timeoutMs), headers: this.pingHeaders() });
      await res.arrayBuffer();
      const version = parseVersion(res.headers.get('x-influxdb-version'));
      if (!res.ok) return { ok: false, error: `HTTP ${res.status} from /ping` };
      if (version === null)
        return { ok: false, error: `unknown InfluxDB version ${JSON.stringify(res.headers.get('x-influxdb-version'))}` };
      this.detected = version;
      return { ok: true, version: version.raw };
    } catch (err) {
      return { ok: false, error: describeError(err) };
    }
  }

  /** Detect the version and, on 1.x, create the database; cached until it fails. */
  ready(): Promise<Ready> {
    if (this.closed) return Promise.reject(new Error('InfluxDB connection closed'));
    this.readying ??= this.setUp().catch((err: unknown) => {
      this.readying = null;
      throw err;
    });
    return this.readying;
  }

  private async setUp(): Promise<Ready> {
    const ping = await this.ping();
    if (!ping.ok || this.detected === null) throw new Error(`InfluxDB at ${this.url}: ${ping.ok ? 'no version' : ping.error}`);
    const major = this.detected.major;
    if (major === 1) await this.createDatabase();
    this.writeApi = createWriteApi(major, this.target, this.timeoutMs);
    this.logger.info({ url: this.url, version: this.detected.raw, bucket: this.target.bucket }, 'connected to InfluxDB');
    return { major, writeApi: this.writeApi };
  }

  async ensureDatabase(): Promise<void> {
    const { major } = await this.ready();
    if (major === 1) await this.createDatabase();
  }

  private async createDatabase(): Promise<void> {
    await this.post(1, `CREATE DATABASE ${quoteIdent(this.target.database)}`, false);
  }

  async writeLines(lines: readonly string[]): Promise<void> {
    if (lines.length > MAX_WRITE_LINES) throw new RangeError(`writeLines: at most ${MAX_WRITE_LINES} lines, got ${lines.length}`);
    if (lines.length === 0) return;
    const { writeApi } = await this.ready();
    // writeRecords only buffers (batchSize is above any batch); flush sends and rejects on failure.
    writeApi.writeRecords([...lines]);
    await writeApi.flush();
  }

  async query(influxql: string): Promise<InfluxSeries[]> {
    const { major } = await this.ready();
    return this.post(major, influxql, true);
  }

  private async post(major: InfluxMajor, influxql: string, withDatabase: boolean): Promise<InfluxSeries[]> {
    const spec = queryRequest(major, this.target, withDatabase);
    const res = await fetch(`${this.url}${spec.path}`, {
      method: 'POST',
      headers: spec.headers,
      body: new URLSearchParams({ q: influxql }).toString(),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new InfluxQueryError(`InfluxDB /query: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return parseQueryResponse(text);
  }

  private pingHeaders(): Record<string, string> {
    // 1.x never authenticates /ping, so a 2.x/3.x token here is harmless whatever the server is.
    const token = this.target.token;
    return token === undefined || token.includes(':') ? {} : { authorization: `Token ${token}` };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    // Every write is flushed as it is made, so nothing is buffered here.
    this.writeApi?.dispose();
    this.writeApi = null;
    return Promise.resolve();
  }
}

interface QueryResponseJson {
  error?: string;
  results?: { error?: string; series?: InfluxSeries[] }[];
}

export function parseQueryResponse(text: string): InfluxSeries[] {
  const json = JSON.parse(text) as QueryResponseJson;
  if (json.error !== undefined) throw new InfluxQueryError(`InfluxDB: ${json.error}`);
  const first = json.results?.[0];
  if (first?.error !== undefined) throw new InfluxQueryError(`InfluxDB: ${first.error}`);
  return first?.series ?? [];
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/**
 * The client logs every failed write at error level; the forwarder already reports outages once
 * each, so those go to debug and anything else the client says keeps its level.
 */
function routeClientLogging(logger: Logger): void {
  setLogger({
    error: (message: string, err?: unknown) => {
      if (message.startsWith('Write to InfluxDB failed')) logger.debug({ err }, message);
      else logger.error({ err }, message);
    },
    warn: (message: string, err?: unknown) => logger.warn({ err }, message),
  });
}
