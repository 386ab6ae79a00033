/**
 * A stand-in for Open-Meteo's forecast API (`GET /v1/forecast`, https://open-meteo.com/en/docs) for tests and the
 * demo: node:http on 127.0.0.1, the weather a function gives, answered in Open-Meteo's protocol — comma-separated
 * locations (a JSON array when more than one), `hourly` variables, `timezone` (days start at local midnight),
 * `start_date`/`end_date` (default today for `forecast_days`, 7), `timeformat` (iso8601 local or unixtime GMT),
 * `wind_speed_unit` (kmh by default), `elevation`; refusals as HTTP 400 `{"error": true, "reason": "…"}` with
 * Open-Meteo's wording where it is known. It has no grid and no DEM: coordinates are answered as given, and a location
 * without an elevation (or `elevation=nan`) stands at STAND_IN_ELEVATION_M.
 *
 * Switches: `fail()` makes every forecast request answer 500, 400, nothing at all, or a 200 that is not JSON.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WeatherPlace {
  lat: number;
  lon: number;
  /** Metres, what the request's `elevation` said (or STAND_IN_ELEVATION_M). */
  elevation: number;
}

/** One hour's weather at a place, in SI units; null: the model has no value for it. */
export interface WeatherSample {
  tempC: number | null;
  dewPointC: number | null;
  cloudPct: number | null;
  windMs: number | null;
}

/** The weather at a place for the hour starting at `tsMs`; null: no value at all for that hour. */
export type WeatherFn = (place: WeatherPlace, tsMs: number) => WeatherSample | null;

export type FailMode = 'none' | 'http500' | 'http400' | 'hang' | 'garbage';

export interface OpenMeteoServer {
  /** e.g. http://127.0.0.1:43121: the base URL the client is given. */
  readonly url: string;
  /** Every request, in order. */
  readonly requests: URL[];
  setWeather(fn: WeatherFn): void;
  fail(mode: FailMode): void;
  /** Closes the server and every connection, hanging ones too. */
  close(): Promise<void>;
}

export interface OpenMeteoServerOptions {
  /** Default frostyWeather. */
  weather?: WeatherFn;
  /** Default 0 (any free port). */
  port?: number;
}

/** Lạc Dương's coffee belt: where a location without an elevation stands (the stand-in has no DEM). */
export const STAND_IN_ELEVATION_M = 1_500;

export async function startOpenMeteoServer(opts: OpenMeteoServerOptions = {}): Promise<OpenMeteoServer> {
  const requests: URL[] = [];
  const state: { weather: WeatherFn; fail: FailMode } = { weather: opts.weather ?? frostyWeather, fail: 'none' };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push(url);
    answer(req, res, url, state);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setWeather: (fn) => {
      state.weather = fn;
    },
    fail: (mode) => {
      state.fail = mode;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** What to write back: a status and a body (JSON unless raw text), or nothing at all ('hang'). */
type Reply = { status: number; json: unknown } | { status: number; text: string } | null;

function answer(req: IncomingMessage, res: ServerResponse, url: URL, state: { weather: WeatherFn; fail: FailMode }): void {
  const reply = replyTo(req.method, url, state);
  // null: never answered; the client's timeout is what ends it (close() drops the socket).
  if (reply === null) return;
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8' });
  res.end('json' in reply ? JSON.stringify(reply.json) : reply.text);
}

function replyTo(method: string | undefined, url: URL, state: { weather: WeatherFn; fail: FailMode }): Reply {
  if (url.pathname !== '/v1/forecast') return { status: 404, json: { error: true, reason: 'Not Found' } };
  if (method !== 'GET') return { status: 405, json: { error: true, reason: 'Method Not Allowed' } };
  switch (state.fail) {
    case 'hang':
      return null;
    case 'http500':
      return { status: 500, json: { error: true, reason: 'Internal Server Error (the stand-in was told to fail)' } };
    case 'http400':
      return { status: 400, json: { error: true, reason: 'Refused (the stand-in was told to answer 400)' } };
    case 'garbage':
      // What a misconfigured proxy gives: a 200 whose body is a web page.
      return { status: 200, text: '<html><body><h1>502 Bad Gateway</h1></body></html>' };
    case 'none':
      return forecastReply(url.searchParams, state.weather);
  }
}

function forecastReply(params: URLSearchParams, weather: WeatherFn): Reply {
  const started = performance.now();
  try {
    const query = parseQuery(params);
    const bodies = query.places.map((place, i) => locationBody(query, place, i, weather, started));
    return { status: 200, json: bodies.length === 1 ? bodies[0] : bodies };
  } catch (err) {
    // A refusal is the caller's mistake (400, as Open-Meteo); anything else, e.g. a test's weather function throwing, is ours.
    if (err instanceof Refusal) return { status: 400, json: { error: true, reason: err.message } };
    return { status: 500, json: { error: true, reason: `stand-in failed: ${err instanceof Error ? err.message : String(err)}` } };
  }
}

// ---- the query -------------------------------------------------------------------------------------------------

/** A parameter Open-Meteo would refuse: answered 400 with this message as `reason`. */
class Refusal extends Error {}

const VARIABLES = ['temperature_2m', 'dew_point_2m', 'cloud_cover', 'wind_speed_10m'] as const;
type Variable = (typeof VARIABLES)[number];

/** Factor from m/s, and the unit string Open-Meteo writes in `hourly_units`. */
const WIND_UNITS = {
  kmh: { factor: 3.6, unit: 'km/h' },
  ms: { factor: 1, unit: 'm/s' },
  mph: { factor: 3600 / 1609.344, unit: 'mp/h' },
  kn: { factor: 3600 / 1852, unit: 'kn' },
} as const;
type WindUnit = keyof typeof WIND_UNITS;

interface ForecastQuery {
  places: WeatherPlace[];
  /** One per place. */
  timeZones: string[];
  variables: Variable[];
  timeformat: 'iso8601' | 'unixtime';
  windUnit: WindUnit;
  /** Local dates, inclusive; null: today in each place's zone for `forecastDays`. */
  startDate: string | null;
  endDate: string | null;
  forecastDays: number;
}

function parseQuery(params: URLSearchParams): ForecastQuery {
  const lats = floats(params, 'latitude');
  const lons = floats(params, 'longitude');
  if (lats.length !== lons.length) throw new Refusal("Parameter 'latitude' and 'longitude' must have the same number of elements");
  for (const lat of lats) if (!(lat >= -90 && lat <= 90)) throw new Refusal(`Latitude must be in range of -90 to 90°. Given: ${lat}.`);
  for (const lon of lons) if (!(lon >= -180 && lon <= 180)) throw new Refusal(`Longitude must be in range of -180 to 180°. Given: ${lon}.`);
  const elevations = elevationsFor(params, lats.length);
  const { startDate, endDate } = dateRange(params);
  return {
    places: lats.map((lat, i) => ({ lat, lon: lons[i] as number, elevation: elevations[i] as number })),
    timeZones: timeZonesFor(params, lats.length),
    variables: hourlyVariables(params),
    timeformat: oneOf(params, 'timeformat', ['iso8601', 'unixtime'] as const, 'iso8601'),
    // The old spelling `windspeed_unit` is still accepted by Open-Meteo.
    windUnit: oneOf(
      params,
      params.has('wind_speed_unit') ? 'wind_speed_unit' : 'windspeed_unit',
      ['kmh', 'ms', 'mph', 'kn'] as const,
      'kmh',
    ),
    startDate,
    endDate,
    forecastDays: forecastDays(params),
  };
}

/** A list parameter: comma-separated, or repeated (`&hourly=a&hourly=b`). */
function list(params: URLSearchParams, key: string): string[] {
  return params
    .getAll(key)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function floats(params: URLSearchParams, key: string): number[] {
  const values = list(params, key).map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new Refusal(`Value of type 'Float' required for key '${key}'.`);
  return values;
}

function elevationsFor(params: URLSearchParams, count: number): number[] {
  const raw = list(params, 'elevation');
  if (raw.length === 0) return Array.from({ length: count }, () => STAND_IN_ELEVATION_M);
  if (raw.length !== count) throw new Refusal("Parameter 'elevation' must have the same number of elements as 'latitude' and 'longitude'");
  return raw.map((v) => {
    // `nan` turns downscaling off: the grid cell's own height, which here is the stand-in's.
    if (v.toLowerCase() === 'nan') return STAND_IN_ELEVATION_M;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Refusal("Value of type 'Float' required for key 'elevation'.");
    return n;
  });
}

function hourlyVariables(params: URLSearchParams): Variable[] {
  return list(params, 'hourly').map((name) => {
    if (!(VARIABLES as readonly string[]).includes(name))
      throw new Refusal(`Cannot initialize WeatherVariable from invalid String value ${name} for key hourly`);
    return name as Variable;
  });
}

function oneOf<T extends string>(params: URLSearchParams, key: string, allowed: readonly T[], fallback: T): T {
  const value = params.get(key);
  if (value === null || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Refusal(`Cannot initialize ${key} from invalid String value ${value}`);
  return value as T;
}

function timeZonesFor(params: URLSearchParams, count: number): string[] {
  const raw = list(params, 'timezone');
  const zones = raw.length === 0 ? ['GMT'] : raw;
  for (const zone of zones) {
    if (zone === 'auto') throw new Refusal('timezone=auto needs a time zone database of places, which this stand-in does not have');
    if (!isTimeZone(zone)) throw new Refusal('Invalid timezone');
  }
  // One zone serves every location; a list pairs with the coordinates.
  if (zones.length === 1) return Array.from({ length: count }, () => zones[0] as string);
  if (zones.length !== count) throw new Refusal("Parameter 'timezone' must have one element or as many as 'latitude'");
  return zones;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function dateRange(params: URLSearchParams): { startDate: string | null; endDate: string | null } {
  const startDate = params.get('start_date');
  const endDate = params.get('end_date');
  if (startDate === null && endDate === null) return { startDate: null, endDate: null };
  if (startDate === null || endDate === null) throw new Refusal("Parameter 'start_date' and 'end_date' must be set together");
  for (const date of [startDate, endDate])
    if (!isDate(date)) throw new Refusal(`Invalid date format. Make sure to use 'YYYY-MM-DD'. Given: ${date}`);
  if (endDate < startDate) throw new Refusal('End-date must be larger or equals than start-date');
  return { startDate, endDate };
}

function forecastDays(params: URLSearchParams): number {
  const raw = params.get('forecast_days');
  if (raw === null) return 7;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0 || days > 16) throw new Refusal('Forecast days is invalid. Allowed range 0 to 16.');
  return days;
}

function isDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const back = new Date(Date.UTC(y, mo - 1, d));
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d;
}

// ---- the answer ------------------------------------------------------------------------------------------------

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const UNITS: Readonly<Record<Exclude<Variable, 'wind_speed_10m'>, string>> = {
  temperature_2m: '°C',
  dew_point_2m: '°C',
  cloud_cover: '%',
};

function locationBody(
  query: ForecastQuery,
  place: WeatherPlace,
  index: number,
  weather: WeatherFn,
  started: number,
): Record<string, unknown> {
  const zone = query.timeZones[index] as string;
  const hours = hourStarts(query, zone);
  const firstMs = hours[0] ?? zonedMidnight(todayIn(zone), zone);
  const body: Record<string, unknown> = {
    latitude: place.lat,
    longitude: place.lon,
    generationtime_ms: 0,
    utc_offset_seconds: offsetMs(zone, firstMs) / 1000,
    timezone: zone,
    timezone_abbreviation: abbreviation(zone, firstMs),
    elevation: place.elevation,
  };
  if (query.variables.length > 0) {
    const samples = hours.map((ts) => weather(place, ts));
    const windUnit = WIND_UNITS[query.windUnit];
    body['hourly_units'] = {
      time: query.timeformat,
      ...Object.fromEntries(query.variables.map((v) => [v, v === 'wind_speed_10m' ? windUnit.unit : UNITS[v]])),
    };
    body['hourly'] = {
      time: hours.map((ts) => (query.timeformat === 'unixtime' ? ts / 1000 : localIso(ts, zone))),
      ...Object.fromEntries(query.variables.map((v) => [v, samples.map((s) => valueOf(s, v, windUnit.factor))])),
    };
  }
  body['generationtime_ms'] = Math.round((performance.now() - started) * 1000) / 1000;
  return body;
}

function valueOf(sample: WeatherSample | null, variable: Variable, windFactor: number): number | null {
  if (sample === null) return null;
  const raw = {
    temperature_2m: sample.tempC,
    dew_point_2m: sample.dewPointC,
    cloud_cover: sample.cloudPct,
    wind_speed_10m: sample.windMs === null ? null : sample.windMs * windFactor,
  }[variable];
  // Open-Meteo rounds its JSON to one decimal.
  return raw === null ? null : Math.round(raw * 10) / 10;
}

/** The hours from local midnight of the first day to local midnight after the last (23 or 25 on a DST change). */
function hourStarts(query: ForecastQuery, zone: string): number[] {
  const first = query.startDate ?? todayIn(zone);
  const last = query.endDate ?? addDays(first, query.forecastDays - 1);
  if (last < first) return [];
  const from = zonedMidnight(first, zone);
  const to = zonedMidnight(addDays(last, 1), zone);
  const hours: number[] = [];
  for (let ts = from; ts < to; ts += HOUR_MS) hours.push(ts);
  return hours;
}

// ---- time zones, through Intl (no library) ---------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

function isTimeZone(zone: string): boolean {
  try {
    wallClock(zone);
    return true;
  } catch {
    return false;
  }
}

/** Local wall time minus UTC at `atMs`, in ms (+7 h in Asia/Ho_Chi_Minh). */
function offsetMs(zone: string, atMs: number): number {
  const parts = Object.fromEntries(
    wallClock(zone)
      .formatToParts(new Date(atMs))
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(
    Number(parts['year']),
    Number(parts['month']) - 1,
    Number(parts['day']),
    Number(parts['hour']),
    Number(parts['minute']),
    Number(parts['second']),
  );
  return wall - Math.floor(atMs / 1000) * 1000;
}

/** The UTC instant of 00:00 local on `date` in `zone` (the offset looked up twice: it may differ either side of a change). */
function zonedMidnight(date: string, zone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wallMs = Date.UTC(y, m - 1, d);
  const guess = wallMs - offsetMs(zone, wallMs);
  return wallMs - offsetMs(zone, guess);
}

function todayIn(zone: string): string {
  return new Date(Date.now() + offsetMs(zone, Date.now())).toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** `YYYY-MM-DDTHH:MM` local, as Open-Meteo writes iso8601 times. */
function localIso(ts: number, zone: string): string {
  return new Date(ts + offsetMs(zone, ts)).toISOString().slice(0, 16);
}

function abbreviation(zone: string, atMs: number): string {
  if (zone === 'GMT' || zone === 'UTC') return zone;
  const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' })
    .formatToParts(new Date(atMs))
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? zone;
}

// ---- weather for the demo and the tests ------------------------------------------------------------------------

/** Lạc Dương keeps UTC+7 all year (Asia/Ho_Chi_Minh, no daylight saving). */
const LOCAL_OFFSET_H = 7;
const REFERENCE_ELEVATION_M = 1_500;
/** Standard lapse rate, as Open-Meteo's downscaling applies it (°C per m). */
const LAPSE_C_PER_M = 0.0065;
/** Dew point falls more slowly with height than temperature (~2 °C/km). */
const DEW_LAPSE_C_PER_M = 0.002;
const COLDEST_H = 5.5;
const WARMEST_H = 14;

function localHour(tsMs: number): number {
  return (((tsMs / HOUR_MS + LOCAL_OFFSET_H) % 24) + 24) % 24;
}

/**
 * 0 at the coldest hour (05:30 local), 1 at the warmest (14:00): a half cosine up through the morning; down through
 * the afternoon and night a half cosine raised to 1.5, so the evening cools fast and the small hours slowly, as a
 * radiating surface does.
 */
function diurnalShare(tsMs: number): number {
  const hour = localHour(tsMs);
  if (hour >= COLDEST_H && hour < WARMEST_H) return (1 - Math.cos((Math.PI * (hour - COLDEST_H)) / (WARMEST_H - COLDEST_H))) / 2;
  const falling = 24 - (WARMEST_H - COLDEST_H);
  const x = ((((hour - WARMEST_H) % 24) + 24) % 24) / falling;
  return ((1 + Math.cos(Math.PI * x)) / 2) ** 1.5;
}

/** A clear, calm, dry radiative night: ~16 °C in the afternoon, ~-0.5 °C near 05:30 at 1,500 m, dew point ~-3 °C at night. */
export const frostyWeather: WeatherFn = (place, tsMs) => {
  const share = diurnalShare(tsMs);
  const above = place.elevation - REFERENCE_ELEVATION_M;
  const tempC = -0.5 + 16.5 * share - LAPSE_C_PER_M * above;
  const dewPointC = Math.min(tempC, -3 + 2 * share - DEW_LAPSE_C_PER_M * above);
  return { tempC, dewPointC, cloudPct: 5, windMs: 1 };
};

/** An overcast, breezy, moist night that holds up: 90 % cloud, 4 m/s, ~9 °C at its coldest, dew point ~8 °C. */
export const cloudyWeather: WeatherFn = (place, tsMs) => {
  const share = diurnalShare(tsMs);
  const above = place.elevation - REFERENCE_ELEVATION_M;
  const tempC = 9 + 6 * share - LAPSE_C_PER_M * above;
  const dewPointC = Math.min(tempC, 8 + share - DEW_LAPSE_C_PER_M * above);
  return { tempC, dewPointC, cloudPct: 90, windMs: 4 };
};
