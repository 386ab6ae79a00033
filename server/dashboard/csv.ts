import type { Report } from '../../contracts/index.js';

/** The CSV columns: every field of a report row, in schema order. */
export const REPORT_COLUMNS = [
  'stationId',
  'name',
  'commune',
  'district',
  'minAirC',
  'minAt',
  'hoursBelow2C',
  'hoursBelow0C',
  'hoursBelowMinus2C',
  'highestLevel',
  'messagesSent',
  'recipients',
  'reached',
  'reachRate',
  'leadTimeH',
] as const;

/**
 * One CSV cell (RFC 4180). Text that a spreadsheet would run as a formula (= + - @, or a leading tab/CR) gets a
 * leading apostrophe (OWASP "CSV injection"); numbers are written as numbers, so −2.5 stays a number.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The report as CSV with a header row, CRLF line ends (RFC 4180). */
export function reportCsv(report: Report): string {
  const lines = [REPORT_COLUMNS.join(',')];
  for (const row of report.rows) lines.push(REPORT_COLUMNS.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
