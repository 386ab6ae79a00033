import { InfluxDB } from '@influxdata/influxdb-client';
import type { WriteApi } from '@influxdata/influxdb-client';

/** What the server answered in `X-Influxdb-Version`: 1.x, 2.x or 3.x, each spoken to differently. */
export type InfluxMajor = 1 | 2 | 3;

/** Where data goes: on 1.x a database and optional retention policy; on 2.x/3.x a bucket. */
export interface InfluxTarget {
  url: string;
  /** The configured `INFLUX_BUCKET` as given (`db` or `db/rp`). */
  bucket: string;
  database: string;
  retentionPolicy: string | undefined;
  token: string | undefined;
  org: string | undefined;
}

export function parseVersion(header: string | null): { raw: string; major: InfluxMajor } | null {
  if (header === null) return null;
  const match = /^v?(\d+)\./.exec(header.trim());
  const major = Number(match?.[1]);
  if (major === 1 || major === 2 || major === 3) return { raw: header.trim(), major };
  return null;
}

export function makeTarget(opts: { url: string; bucket: string; token?: string | undefined; org?: string | undefined }): InfluxTarget {
  const [database = '', retentionPolicy] = opts.bucket.split('/', 2);
  if (database === '') throw new RangeError(`influx bucket must not be empty: ${JSON.stringify(opts.bucket)}`);
  return {
    url: opts.url.replace(/\/+$/, ''),
    bucket: opts.bucket,
    database,
    retentionPolicy: retentionPolicy === '' ? undefined : retentionPolicy,
    token: opts.token,
    org: opts.org,
  };
}

/** 1.x credentials travel as `u`/`p` query parameters; `INFLUX_TOKEN` is then `user:password`. */
export function v1Credentials(token: string | undefined): { u: string; p: string } | null {
  if (token === undefined) return null;
  const colon = token.indexOf(':');
  if (colon < 0) throw new RangeError('on InfluxDB 1.x INFLUX_TOKEN must be "user:password"');
  return { u: token.slice(0, colon), p: token.slice(colon + 1) };
}

export interface HttpRequestSpec {
  path: string;
  headers: Record<string, string>;
}

/** Query string and headers for `/query` (InfluxQL): u/p on 1.x, `Authorization: Token` on 2.x/3.x. */
export function queryRequest(major: InfluxMajor, target: InfluxTarget, withDatabase: boolean): HttpRequestSpec {
  const params = new URLSearchParams({ epoch: 'ms' });
  if (withDatabase) params.set('db', target.database);
  if (withDatabase && target.retentionPolicy !== undefined) params.set('rp', target.retentionPolicy);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (major === 1) {
    const creds = v1Credentials(target.token);
    if (creds) {
      params.set('u', creds.u);
      params.set('p', creds.p);
    }
  } else if (target.token !== undefined) {
    headers.authorization = `Token ${target.token}`;
  }
  return { path: `/query?${params.toString()}`, headers };
}

/** The 1.x write endpoint: 1.6 has no `/api/v2/write`. */
export function v1WritePath(target: InfluxTarget): string {
  const params = new URLSearchParams({ db: target.database });
  if (target.retentionPolicy !== undefined) params.set('rp', target.retentionPolicy);
  params.set('precision', 'ms');
  const creds = v1Credentials(target.token);
  if (creds) {
    params.set('u', creds.u);
    params.set('p', creds.p);
  }
  return `/write?${params.toString()}`;
}

/** Largest batch a caller may hand to one write; the WriteApi must never flush on its own. */
export const MAX_WRITE_LINES = 5_000;

/**
 * A WriteApi that sends exactly what it is given when flushed: no timer flush, no size flush
 * (batchSize above any caller batch), no retries (the spool retries, in order).
 */
export function createWriteApi(major: InfluxMajor, target: InfluxTarget, timeoutMs: number): WriteApi {
  const writeOptions = { batchSize: MAX_WRITE_LINES + 1, flushInterval: 0, maxRetries: 0, maxBatchBytes: 256 * 1024 * 1024 };
  if (major === 1) {
    // No token: 1.6 misreads `Authorization: Token`; credentials go in the path instead.
    const api = new InfluxDB({ url: target.url, timeout: timeoutMs }).getWriteApi('', target.database, 'ms', writeOptions);
    api.path = v1WritePath(target);
    return api;
  }
  const client = new InfluxDB({ url: target.url, timeout: timeoutMs, ...(target.token === undefined ? {} : { token: target.token }) });
  return client.getWriteApi(target.org ?? '', target.bucket, 'ms', writeOptions);
}
