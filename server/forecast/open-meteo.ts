/**
 * Open-Meteo's forecast (`GET /v1/forecast`), the input of the day-before pre-alert (docs/frost-model.md): the hourly
 * temperature, dew point, cloud cover and 10 m wind of each forecast location. The public API (no key) and a
 * self-hosted instance speak the same protocol, so the base URL is configurable, path prefix and all.
 *
 * Several locations go in one request as comma-separated lists; the answer is then a JSON array in request order
 * (one location: a single object). Times are asked as unix seconds, which are GMT whatever `timezone` says; the
 * timezone only decides where the days start (local midnight of start_date … end of end_date).
 */
import { z } from 'zod';
import type { ForecastHour } from '../../frost/forecast-night.js';
import type { ForecastLocation } from './locations.js';

/** The variables asked for, in this order; their units are pinned by the query and checked in the answer. */
export const HOURLY_VARIABLES = ['temperature_2m', 'dew_point_2m', 'cloud_cover', 'wind_speed_10m'] as const;
type HourlyVariable = (typeof HOURLY_VARIABLES)[number];

/** The units the answer must carry when it names them: a server that ignored `wind_speed_unit=ms` is wrong by 3.6×. */
const EXPECTED_UNITS: Readonly<Record<HourlyVariable, string>> = {
  temperature_2m: '°C',
  dew_point_2m: '°C',
  cloud_cover: '%',
  wind_speed_10m: 'm/s',
};

export const DEFAULT_TIMEOUT_MS = 20_000;
/** Locations per request: a URL of 50 locations is ~1.5 kB, well under any proxy's limit. */
export const DEFAULT_BATCH_SIZE = 50;

export interface FetchForecastsOptions {
  /** e.g. https://api.open-meteo.com or http://127.0.0.1:8080/openmeteo (a prefix is kept; userinfo becomes Basic auth). */
  baseUrl: string;
  locations: readonly ForecastLocation[];
  /** YYYY-MM-DD, local dates in `timeZone`. */
  startDate: string;
  endDate: string;
  /** An IANA name, e.g. Asia/Ho_Chi_Minh. */
  timeZone: string;
  /** Per request; default 20 s. */
  timeoutMs?: number;
  /** Locations per request; default 50. */
  batchSize?: number;
  signal?: AbortSignal;
}

/** Why the forecast could not be had. The message is meant for a log line or an officer: no credentials, no stack. */
export class ForecastError extends Error {
  override readonly name = 'ForecastError';
  constructor(
    message: string,
    /** The HTTP status when the server answered; null for no answer or an unreadable one. */
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/**
 * The hours of every location, one array per location in input order. Batches go one after another (the public API
 * counts each location against its rate limit; a district's few dozen locations need one or two requests).
 * Rejects with ForecastError; nothing is returned unless every batch answered in full.
 */
export async function fetchForecasts(opts: FetchForecastsOptions): Promise<ForecastHour[][]> {
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  checkOptions(opts, batchSize);
  const endpoint = forecastEndpoint(opts.baseUrl);
  const results: ForecastHour[][] = [];
  for (let i = 0; i < opts.locations.length; i += batchSize) {
    results.push(...(await fetchBatch(endpoint, opts.locations.slice(i, i + batchSize), opts)));
  }
  return results;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function checkOptions(opts: FetchForecastsOptions, batchSize: number): void {
  if (!DATE.test(opts.startDate) || !DATE.test(opts.endDate))
    throw new ForecastError(`forecast dates must be YYYY-MM-DD (got ${JSON.stringify(opts.startDate)}…${JSON.stringify(opts.endDate)})`);
  if (opts.endDate < opts.startDate) throw new ForecastError(`forecast end date ${opts.endDate} is before its start ${opts.startDate}`);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ForecastError(`forecast batch size must be a positive integer (got ${batchSize})`);
  if (opts.timeoutMs !== undefined && !(opts.timeoutMs > 0))
    throw new ForecastError(`forecast timeout must be positive (got ${opts.timeoutMs})`);
}

interface Endpoint {
  /** …/v1/forecast, without userinfo; the base's own query (e.g. a commercial `apikey`) kept for the request. */
  url: URL;
  authorization: string | undefined;
  /** What messages show: origin and path prefix only, never userinfo or query. */
  shown: string;
}

function forecastEndpoint(baseUrl: string): Endpoint {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    // Not echoed: an unparsable URL cannot be redacted, and it may hold a password.
    throw new ForecastError('the forecast base URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ForecastError(`the forecast base URL must be http(s), not ${url.protocol}`);
  // Node's fetch refuses URLs with credentials: they travel as Basic auth instead (a proxy in front of a self-hosted one).
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  url.username = '';
  url.password = '';
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}/v1/forecast`;
  return { url, authorization, shown: `Open-Meteo (${url.origin}${prefix})` };
}

/** The query as Open-Meteo documents it; commas stay literal (URLSearchParams would write %2C). */
function forecastQuery(batch: readonly ForecastLocation[], opts: FetchForecastsOptions): string {
  const list = (pick: (l: ForecastLocation) => number): string => batch.map((l) => String(pick(l))).join(',');
  const params: Array<[string, string]> = [
    ['latitude', list((l) => l.lat)],
    ['longitude', list((l) => l.lon)],
    ['elevation', list((l) => l.elevationM)],
    ['hourly', HOURLY_VARIABLES.join(',')],
    ['wind_speed_unit', 'ms'],
    ['timeformat', 'unixtime'],
    ['timezone', encodeURIComponent(opts.timeZone)],
    ['start_date', opts.startDate],
    ['end_date', opts.endDate],
  ];
  return params.map(([name, value]) => `${name}=${value}`).join('&');
}

async function fetchBatch(endpoint: Endpoint, batch: readonly ForecastLocation[], opts: FetchForecastsOptions): Promise<ForecastHour[][]> {
  const url = new URL(endpoint.url);
  const own = url.search.replace(/^\?/, '');
  url.search = own === '' ? forecastQuery(batch, opts) : `${own}&${forecastQuery(batch, opts)}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const failed = (err: unknown): ForecastError =>
    timeout.aborted
      ? new ForecastError(`${endpoint.shown} did not answer within ${timeoutMs / 1000} s`)
      : opts.signal?.aborted
        ? new ForecastError(`${endpoint.shown}: request cancelled`)
        : new ForecastError(`${endpoint.shown} unreachable: ${causeOf(err)}`);

  let status: number;
  let body: string;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json', ...(endpoint.authorization ? { authorization: endpoint.authorization } : {}) },
      signal,
    });
    status = response.status;
    body = await response.text();
  } catch (err) {
    throw failed(err);
  }
  if (status < 200 || status > 299) throw answeredError(endpoint, status, body);
  return parseForecastBody(body, batch.length, endpoint.shown, status);
}

const ErrorBodySchema = z.object({ error: z.literal(true), reason: z.string() });

/** Open-Meteo explains a refusal as `{"error": true, "reason": "…"}` (400 for a bad parameter); proxies may not. */
function answeredError(endpoint: Endpoint, status: number, body: string): ForecastError {
  const reason = errorReason(body);
  return new ForecastError(
    reason !== null ? `${endpoint.shown} answered ${status}: ${reason}` : `${endpoint.shown} answered ${status} (no reason given)`,
    status,
  );
}

function errorReason(body: string): string | null {
  const parsed = ErrorBodySchema.safeParse(parseJson(body));
  return parsed.success ? clip(parsed.data.reason, 300) : null;
}

/** Unix seconds; the upper bound catches a server answering milliseconds. */
const UnixSecondsSchema = z.number().int().min(0).max(10_000_000_000);
const ValuesSchema = z.array(z.number().nullable());

const LocationForecastSchema = z.object({
  hourly_units: z.record(z.string(), z.string()).optional(),
  hourly: z
    .object({
      time: z.array(UnixSecondsSchema),
      temperature_2m: ValuesSchema,
      dew_point_2m: ValuesSchema,
      cloud_cover: ValuesSchema,
      wind_speed_10m: ValuesSchema,
    })
    .superRefine((hourly, ctx) => {
      for (const name of HOURLY_VARIABLES) {
        const n = hourly[name].length;
        if (n !== hourly.time.length)
          ctx.addIssue({ code: 'custom', path: [name], message: `${n} values for ${hourly.time.length} times` });
      }
    }),
});
type LocationForecast = z.infer<typeof LocationForecastSchema>;

/**
 * A 2xx body → one hour list per location asked, or ForecastError. Exported for the fuzz and unit tests: what any
 * server might say must end as hours or as this error, never as anything else.
 */
export function parseForecastBody(body: string, expected: number, shown = 'Open-Meteo', status = 200): ForecastHour[][] {
  const json = parseJson(body);
  if (json === undefined)
    throw new ForecastError(`${shown} answered with a body that is not JSON: ${JSON.stringify(clip(body, 80))}`, status);
  const reason = errorReason(body);
  if (reason !== null) throw new ForecastError(`${shown} answered ${status} with an error: ${reason}`, status);
  // One location answers an object, several an array (in request order: there is no id to match by).
  const items = Array.isArray(json) ? (json as unknown[]) : [json];
  if (items.length !== expected) throw new ForecastError(`${shown} answered ${items.length} location(s) for the ${expected} asked`, status);
  return items.map((item, index) => toHours(parseLocation(item, index, shown, status)));
}

function parseLocation(item: unknown, index: number, shown: string, status: number): LocationForecast {
  const parsed = LocationForecastSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'unexpected shape';
    throw new ForecastError(`${shown}: location ${index + 1} is not a forecast as asked (${where})`, status);
  }
  for (const name of HOURLY_VARIABLES) {
    const unit = parsed.data.hourly_units?.[name];
    if (unit !== undefined && unit !== EXPECTED_UNITS[name])
      throw new ForecastError(`${shown}: location ${index + 1} gives ${name} in ${unit}, asked for ${EXPECTED_UNITS[name]}`, status);
  }
  return parsed.data;
}

function toHours({ hourly }: LocationForecast): ForecastHour[] {
  return hourly.time.map((seconds, i) => ({
    ts: seconds * 1000,
    tempC: hourly.temperature_2m[i] ?? null,
    dewPointC: hourly.dew_point_2m[i] ?? null,
    cloudPct: hourly.cloud_cover[i] ?? null,
    windMs: hourly.wind_speed_10m[i] ?? null,
  }));
}

/** The parsed body, or undefined when it is not JSON (JSON's own `null` stays null). */
function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function causeOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
