import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { CropSchema, type Crop } from '../contracts/index.js';
import { saturationVapourPressureHPa } from '../frost/index.js';
import type { NightLabel, RecordedReading, RecordedStation } from './types.js';

/**
 * The backtest's CSV files, read by header name so other columns are ignored (the shared frost-nights layout reads as
 * is). A row that cannot be read is reported with its line and skipped; the rest of the file still counts. A missing
 * required column, or a file with no good row at all, is an error.
 */

export interface Loaded<T> {
  rows: T[];
  /** Up to the first 20 rows that were skipped, with why; `skipped` counts them all. */
  problems: string[];
  skipped: number;
}

export class BacktestInputError extends Error {
  override readonly name = 'BacktestInputError';
}

type Row = Record<string, string>;

const MAX_PROBLEMS = 20;

function readRows(file: string, required: readonly string[]): Row[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BacktestInputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let rows: Row[];
  try {
    rows = parse<Row>(text, {
      columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
    });
  } catch (err) {
    throw new BacktestInputError(`${file}: not a CSV file (${(err as Error).message})`);
  }
  const header = rows.length > 0 ? Object.keys(rows[0] as Row) : [];
  const missing = required.filter((c) => !header.includes(c));
  if (rows.length > 0 && missing.length > 0)
    throw new BacktestInputError(`${file}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (rows.length === 0) throw new BacktestInputError(`${file}: no rows`);
  return rows;
}

/** A row's problem, as a value: the loaders collect these instead of throwing. */
class RowProblem extends Error {
  override readonly name = 'RowProblem';
}

function num(row: Row, col: string, opts: { required: boolean; min?: number; max?: number }): number | null {
  const raw = row[col];
  if (raw === undefined || raw === '') {
    if (opts.required) throw new RowProblem(`${col} is empty`);
    return null;
  }
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new RowProblem(`${col} "${raw}" is not a number`);
  if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
    throw new RowProblem(`${col} ${v} is outside ${opts.min}…${opts.max}`);
  }
  return v;
}

/** ISO 8601; a time without a zone is taken as UTC (the columns are `…_utc`). */
function time(row: Row, col: string): number {
  const raw = row[col] ?? '';
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`;
  const ms = Date.parse(withZone);
  if (raw === '' || Number.isNaN(ms)) throw new RowProblem(`${col} "${raw}" is not an ISO 8601 time`);
  return ms;
}

function text(row: Row, col: string): string {
  const v = row[col] ?? '';
  if (v === '') throw new RowProblem(`${col} is empty`);
  return v;
}

function loadEach<T>(file: string, required: readonly string[], read: (row: Row) => T): Loaded<T> {
  const rows = readRows(file, required);
  const out: T[] = [];
  const problems: string[] = [];
  let skipped = 0;
  rows.forEach((row, i) => {
    try {
      out.push(read(row));
    } catch (err) {
      if (!(err instanceof RowProblem)) throw err;
      skipped += 1;
      if (problems.length < MAX_PROBLEMS) problems.push(`${file} line ${i + 2}: ${err.message}`);
    }
  });
  if (out.length === 0) throw new BacktestInputError(`${file}: no usable row (${problems[0] ?? 'empty'})`);
  return { rows: out, problems, skipped };
}

/** Relative humidity from air temperature and dew point (the inverse of the Magnus dew point, over water). */
export function rhFromDewPct(airC: number, dewC: number): number {
  return (100 * saturationVapourPressureHPa(dewC)) / saturationVapourPressureHPa(airC);
}

/** `station,ts_utc,air_temp_c`, optional `rh_pct,dew_point_c,wind_ms,leaf_temp_c`. */
export function loadReadings(file: string): Loaded<RecordedReading> {
  return loadEach(file, ['station', 'ts_utc', 'air_temp_c'], (row) => ({
    station: text(row, 'station'),
    ts: time(row, 'ts_utc'),
    airC: num(row, 'air_temp_c', { required: true, min: -90, max: 60 }) as number,
    rhPct: num(row, 'rh_pct', { required: false, min: 0, max: 110 }),
    dewC: num(row, 'dew_point_c', { required: false, min: -90, max: 60 }),
    windMs: num(row, 'wind_ms', { required: false, min: 0, max: 100 }),
    leafC: num(row, 'leaf_temp_c', { required: false, min: -90, max: 60 }),
  }));
}

/**
 * The IANA zone of a station without one: the nearest whole-hour offset from its longitude ("Etc/GMT-1" is UTC+1).
 * The Watch hours (15:00–19:00 local) only need local solar time to within half an hour.
 */
export function zoneFromLongitude(lon: number): string {
  const hours = Math.round(lon / 15);
  if (hours === 0) return 'Etc/GMT';
  return `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}

/**
 * `station,lat,lon,elevation_m`, optional `time_zone,crop`. A station may repeat (one row per night, as nights.csv
 * has it) only with the same values.
 */
export function loadStations(file: string, defaults: { timeZone?: string | undefined; crop: Crop }): Loaded<RecordedStation> {
  const loaded = loadEach(file, ['station', 'lat', 'lon', 'elevation_m'], (row): RecordedStation => {
    const lon = num(row, 'lon', { required: true, min: -180, max: 180 }) as number;
    const zone = row['time_zone'] || defaults.timeZone || zoneFromLongitude(lon);
    if (!validZone(zone)) throw new RowProblem(`time_zone "${zone}" is not an IANA time zone`);
    const cropRaw = row['crop'] || defaults.crop;
    const crop = CropSchema.safeParse(cropRaw);
    if (!crop.success) throw new RowProblem(`crop "${cropRaw}" is not one of ${CropSchema.options.join(', ')}`);
    return {
      station: text(row, 'station'),
      lat: num(row, 'lat', { required: true, min: -90, max: 90 }) as number,
      lon,
      elevationM: num(row, 'elevation_m', { required: true, min: -500, max: 9000 }) as number,
      timeZone: zone,
      crop: crop.data,
    };
  });
  const byId = new Map<string, RecordedStation>();
  for (const s of loaded.rows) {
    const seen = byId.get(s.station);
    if (!seen) byId.set(s.station, s);
    else if (
      seen.lat !== s.lat ||
      seen.lon !== s.lon ||
      seen.elevationM !== s.elevationM ||
      seen.timeZone !== s.timeZone ||
      seen.crop !== s.crop
    ) {
      throw new BacktestInputError(`${file}: station ${s.station} appears with different values`);
    }
  }
  return { ...loaded, rows: [...byId.values()] };
}

/** The nights.csv layout: `night_id,station,kind,sunset_utc,sunrise_utc,min_air_c,time_of_min_utc`, other columns ignored. */
export function loadNights(file: string): Loaded<NightLabel> {
  return loadEach(file, ['night_id', 'station', 'kind', 'sunset_utc', 'sunrise_utc', 'min_air_c', 'time_of_min_utc'], (row) => {
    const kind = row['kind'];
    if (kind !== 'frost' && kind !== 'near_miss') throw new RowProblem(`kind "${kind}" is neither frost nor near_miss`);
    return {
      nightId: text(row, 'night_id'),
      station: text(row, 'station'),
      kind,
      sunsetMs: time(row, 'sunset_utc'),
      sunriseMs: time(row, 'sunrise_utc'),
      minAirC: num(row, 'min_air_c', { required: true, min: -90, max: 60 }) as number,
      timeOfMinMs: time(row, 'time_of_min_utc'),
    };
  });
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type { Crop };
