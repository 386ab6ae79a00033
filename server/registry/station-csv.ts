import { StationCreateSchema } from '../../contracts/index.js';
import type { ImportCandidate } from './stations.js';
import { type Result, readCsvRecords } from './csv-records.js';

/**
 * A district's station list as a spreadsheet: `id,name,commune,lat,lon,elevation_m` and optionally
 * `crop,source,device_id,preset` (any order, any case) — the fields of `frostwatch station add`. Pure: each line is
 * checked on its own here; duplicates and what is registered already are `StationRepository.createMany`'s question.
 * Line numbers are lines of the file with the header as 1, as the spreadsheet shows them.
 */
export const STATION_CSV_COLUMNS = ['id', 'name', 'commune', 'lat', 'lon', 'elevation_m', 'crop', 'source', 'device_id', 'preset'] as const;
type Column = (typeof STATION_CSV_COLUMNS)[number];
const REQUIRED: readonly Column[] = ['id', 'name', 'commune', 'lat', 'lon', 'elevation_m'];

export interface CsvStationLine {
  line: number;
  candidate: ImportCandidate;
}

export type ParsedStationCsv = { ok: true; lines: CsvStationLine[] } | { ok: false; error: string };

export function parseStationCsv(text: string): ParsedStationCsv {
  const records = readCsvRecords(text);
  if (!records.ok) return records;
  const [header, ...body] = records.value;
  if (!header) return { ok: false, error: `the file is empty; expected a header line: ${REQUIRED.join(',')}` };
  const columns = readHeader(header.record);
  if (!columns.ok) return columns;
  return { ok: true, lines: body.map(({ record, info }) => ({ line: info.lines, candidate: readLine(record, columns.value) })) };
}

function readHeader(cells: string[]): Result<Map<Column, number>> {
  const columns = new Map<Column, number>();
  for (const [index, cell] of cells.entries()) {
    const name = cell
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
    if (name === '') continue;
    if (!isColumn(name)) return { ok: false, error: `unknown column "${cell}"; expected ${STATION_CSV_COLUMNS.join(',')}` };
    if (columns.has(name)) return { ok: false, error: `column "${name}" appears twice` };
    columns.set(name, index);
  }
  const missing = REQUIRED.filter((column) => !columns.has(column));
  if (missing.length > 0) return { ok: false, error: `missing column ${missing.join(', ')} in the header; expected ${REQUIRED.join(',')}` };
  return { ok: true, value: columns };
}

function isColumn(name: string): name is Column {
  return (STATION_CSV_COLUMNS as readonly string[]).includes(name);
}

function readLine(record: string[], columns: Map<Column, number>): ImportCandidate {
  const cell = (column: Column): string => {
    const index = columns.get(column);
    return index === undefined ? '' : (record[index] ?? '').normalize('NFC').trim();
  };
  const id = cell('id');
  const source = cell('source').toLowerCase() || undefined;
  const deviceId = cell('device_id') || undefined;
  const candidate = {
    id,
    name: cell('name'),
    commune: cell('commune'),
    lat: number(cell('lat')),
    lon: number(cell('lon')),
    elevationM: number(cell('elevation_m')),
    crop: cell('crop').toLowerCase() || undefined,
    source,
    // Network servers print DevEUIs in upper case; frostwatch keeps them in lower case (as `station add` does).
    deviceId: source === 'chirpstack' || source === 'ttn' ? deviceId?.toLowerCase() : deviceId,
    preset: cell('preset').toLowerCase() || undefined,
  };
  const parsed = StationCreateSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, station: parsed.data };
  const reason = parsed.error.issues.map((issue) => `${columnOf(issue.path)}: ${withoutField(issue.message, issue.path)}`).join('; ');
  return { ok: false, ...(id === '' ? {} : { id }), reason };
}

/** An empty cell is missing (zod then says "expected number"), never 0; `11,98` from a comma-decimal spreadsheet is 11.98. */
function number(text: string): number | undefined {
  if (text === '') return undefined;
  // Decimal numbers only: Number() would also take "0x1f", "1e3" or "Infinity".
  return /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.test(text) ? Number(text.replace(',', '.')) : Number.NaN;
}

const COLUMN_OF_FIELD: Record<string, Column> = { elevationM: 'elevation_m', deviceId: 'device_id' };

/** Issues name the schema's fields; a spreadsheet user knows the columns. */
function columnOf(path: readonly PropertyKey[]): string {
  const field = String(path[0] ?? 'line');
  return COLUMN_OF_FIELD[field] ?? field;
}

/** Contract messages often name their field already ("deviceId: required for source chirpstack"): do not say it twice. */
function withoutField(message: string, path: readonly PropertyKey[]): string {
  const field = String(path[0] ?? '');
  for (const prefix of [`${field}: `, 'station id: ']) if (message.startsWith(prefix)) return message.slice(prefix.length);
  return message;
}
