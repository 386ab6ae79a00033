import { READING_FIELDS } from '../../contracts/index.js';
import type { Reading, StationStatus } from '../../contracts/index.js';

/**
 * InfluxDB line protocol (1.x rules, also accepted by 2.x and 3.x):
 * https://docs.influxdata.com/influxdb/v1.6/write_protocols/line_protocol_reference/
 *
 * A line never contains a newline: the spool stores one point per line and splits on `\n`.
 */
export const READINGS_MEASUREMENT = 'readings';
export const STATUS_MEASUREMENT = 'status';
export const STATION_TAG = 'station';

const INTEGER_FIELDS: ReadonlySet<string> = new Set(['seq']);

/** Newlines cannot be escaped in names or tags; ids reaching here are validated, so one is a bug. */
function assertNoNewline(value: string, what: string): void {
  if (/[\r\n]/.test(value)) throw new RangeError(`line protocol: ${what} contains a newline: ${JSON.stringify(value)}`);
}

/** Measurement names escape commas and spaces. */
export function escapeMeasurement(name: string): string {
  assertNoNewline(name, 'measurement');
  return name.replace(/([, ])/g, '\\$1');
}

/** Tag keys, tag values and field keys escape commas, equals signs and spaces. */
export function escapeKey(value: string): string {
  assertNoNewline(value, 'tag or field key');
  return value.replace(/([,= ])/g, '\\$1');
}

export const escapeTagValue = escapeKey;

/**
 * String field values are double-quoted with `"` and `\` escaped. Line breaks become spaces:
 * InfluxDB would store `\n` literally, and a raw newline would split the spooled line.
 */
export function quoteFieldString(value: string): string {
  return `"${value.replace(/[\r\n]/g, ' ').replace(/(["\\])/g, '\\$1')}"`;
}

export function floatField(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`line protocol: non-finite float ${value}`);
  return String(value);
}

export function integerField(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`line protocol: not an integer ${value}`);
  return `${value}i`;
}

function timestampMs(tsMs: number): string {
  if (!Number.isSafeInteger(tsMs)) throw new RangeError(`line protocol: timestamp must be integer ms, got ${tsMs}`);
  return String(tsMs);
}

/**
 * One reading → one point. The station is the only tag, so a resent reading (same station and
 * timestamp) overwrites the stored point instead of adding a second one: duplicates are harmless.
 */
export function readingLine(stationId: string, reading: Reading): string {
  const fields: string[] = [];
  for (const name of READING_FIELDS) {
    const value = reading[name];
    if (value === undefined) continue;
    const encoded = INTEGER_FIELDS.has(name) ? integerField(value) : floatField(value);
    fields.push(`${escapeKey(name)}=${encoded}`);
  }
  const series = `${escapeMeasurement(READINGS_MEASUREMENT)},${STATION_TAG}=${escapeTagValue(stationId)}`;
  return `${series} ${fields.join(',')} ${timestampMs(reading.ts)}`;
}

export function statusLine(stationId: string, status: StationStatus, tsMs: number): string {
  const fields = [`online=${status.online ? 'true' : 'false'}`];
  if (status.fw !== undefined) fields.push(`fw=${quoteFieldString(status.fw)}`);
  if (status.uptimeS !== undefined) fields.push(`uptimeS=${integerField(status.uptimeS)}`);
  const series = `${escapeMeasurement(STATUS_MEASUREMENT)},${STATION_TAG}=${escapeTagValue(stationId)}`;
  return `${series} ${fields.join(',')} ${timestampMs(tsMs)}`;
}
