import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';

/** A spreadsheet's rows as csv-parse reads them: the cells, and the line of the file each row ends on. */
const RecordsSchema = z.array(z.object({ record: z.array(z.string()), info: z.object({ lines: z.number() }) }));
export type CsvRecords = z.infer<typeof RecordsSchema>;

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * The rows of a CSV file the registry imports (farmers, stations), whatever separator the spreadsheet wrote:
 * spreadsheets set to a comma-decimal locale (Vietnamese among them) export with `;` (and write 11,98), some with tabs.
 */
export function readCsvRecords(text: string): Result<CsvRecords> {
  try {
    const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    const delimiter = firstLine.includes(',') ? ',' : firstLine.includes(';') ? ';' : firstLine.includes('\t') ? '\t' : ',';
    const output: unknown = parse(text, { bom: true, delimiter, info: true, trim: true, skip_empty_lines: true, relax_column_count: true });
    return { ok: true, value: RecordsSchema.parse(output) };
  } catch (error) {
    if (error instanceof CsvError) return { ok: false, error: `not readable as CSV: ${error.message}` };
    throw error;
  }
}
