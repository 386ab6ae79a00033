import { FarmerCreateSchema, type FarmerCreate } from '../../contracts/index.js';
import { normalisePhone } from './phone.js';
import { type Result, readCsvRecords } from './csv-records.js';

/**
 * A farmer list as officers keep it in a spreadsheet:
 * `name,phone,language,commune,station_ids,diacritics` (name and phone required, any order, any case).
 * Pure: reads the text and checks each row on its own; whether the stations exist is the repository's
 * question. Row numbers are lines of the file with the header as 1 — what the spreadsheet shows.
 */
export const FARMER_CSV_COLUMNS = ['name', 'phone', 'language', 'commune', 'station_ids', 'diacritics'] as const;
type Column = (typeof FARMER_CSV_COLUMNS)[number];
const REQUIRED: readonly Column[] = ['name', 'phone'];

/** A row that passed its own checks, with the phone already in E.164. */
export interface CsvFarmerRow {
  row: number;
  farmer: FarmerCreate;
}

export type ParsedFarmerCsv = { ok: true; rows: CsvFarmerRow[]; errors: { row: number; error: string }[] } | { ok: false; error: string };

export function parseFarmerCsv(text: string): ParsedFarmerCsv {
  const records = readCsvRecords(text);
  if (!records.ok) return records;
  const [header, ...body] = records.value;
  if (!header) return { ok: false, error: 'the file is empty; expected a header line: name,phone,language,commune,station_ids,diacritics' };
  const columns = readHeader(header.record);
  if (!columns.ok) return columns;

  const rows: CsvFarmerRow[] = [];
  const errors: { row: number; error: string }[] = [];
  const phoneRows = new Map<string, number>();
  for (const { record, info } of body) {
    const row = info.lines;
    const farmer = readRow(record, columns.value);
    if (!farmer.ok) {
      errors.push({ row, error: farmer.error });
      continue;
    }
    const first = phoneRows.get(farmer.value.phone);
    if (first !== undefined) {
      errors.push({ row, error: `same phone as row ${first}` });
      continue;
    }
    phoneRows.set(farmer.value.phone, row);
    rows.push({ row, farmer: farmer.value });
  }
  return { ok: true, rows, errors };
}

function readHeader(cells: string[]): Result<Map<Column, number>> {
  const columns = new Map<Column, number>();
  for (const [index, cell] of cells.entries()) {
    const name = cell
      .normalize('NFC')
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
    if (name === '') continue;
    if (!isColumn(name)) return { ok: false, error: `unknown column "${cell}"; expected ${FARMER_CSV_COLUMNS.join(',')}` };
    if (columns.has(name)) return { ok: false, error: `column "${name}" appears twice` };
    columns.set(name, index);
  }
  const missing = REQUIRED.filter((column) => !columns.has(column));
  if (missing.length > 0)
    return { ok: false, error: `missing column ${missing.join(', ')} in the header; expected ${FARMER_CSV_COLUMNS.join(',')}` };
  return { ok: true, value: columns };
}

function isColumn(name: string): name is Column {
  return (FARMER_CSV_COLUMNS as readonly string[]).includes(name);
}

function readRow(record: string[], columns: Map<Column, number>): Result<FarmerCreate> {
  const cell = (column: Column): string => {
    const index = columns.get(column);
    return index === undefined ? '' : (record[index] ?? '').normalize('NFC').trim();
  };
  const phone = normalisePhone(cell('phone'));
  if (!phone.ok) return { ok: false, error: phone.error };
  const diacritics = readDiacritics(cell('diacritics'));
  if (diacritics === null)
    return { ok: false, error: `diacritics "${cell('diacritics')}": expected yes/no (also 1/0, true/false, có/không)` };
  const candidate = {
    name: cell('name'),
    phone: phone.e164,
    language: cell('language').toLowerCase() || 'vi',
    diacritics,
    commune: cell('commune') || undefined,
    stationIds: cell('station_ids')
      .split(/[\s;,]+/)
      .filter((id) => id !== '')
      .map((id) => id.toLowerCase()),
  };
  const parsed = FarmerCreateSchema.safeParse(candidate);
  if (!parsed.success) {
    return { ok: false, error: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`).join('; ') };
  }
  if (parsed.data.stationIds.length === 0 && parsed.data.commune === undefined) {
    return { ok: false, error: 'no station_ids and no commune: this farmer would never be warned' };
  }
  return { ok: true, value: parsed.data };
}

const YES = new Set(['', 'yes', 'y', 'true', '1', 'có', 'co', 'x']);
const NO = new Set(['no', 'n', 'false', '0', 'không', 'khong']);

/** Empty means yes: diacritics are the default, the GSM-7 text is the exception a farmer asks for. */
function readDiacritics(value: string): boolean | null {
  const key = value.toLowerCase();
  if (YES.has(key)) return true;
  if (NO.has(key)) return false;
  return null;
}
