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

/**
 * Tag keys, tag values and field keys escape commas, equals signs and spaces. A trailing backslash cannot be written:
 * influxd reads it as escaping the separator after it (found by tests/fuzz/line-protocol.test.ts).
 */
export function escapeKey(value: string): string {
  assertNoNewline(value, 'tag or field key');
  if (value.endsWith('\\')) throw new RangeError(`line protocol: tag or field key ends with a backslash: ${JSON.stringify(value)}`);
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
  let fields = '';
  for (const [name, key, integer] of READING_FIELD_KEYS) {
    const value = reading[name];
    if (value === undefined) continue;
    fields += `${fields === '' ? '' : ','}${key}=${integer ? integerField(value) : floatField(value)}`;
  }
  return `${readingsSeries(stationId)} ${fields} ${timestampMs(reading.ts)}`;
}

/** Field names are constants: escaped once here, not on every reading. */
const READING_FIELD_KEYS = READING_FIELDS.map((name) => [name, escapeKey(name), INTEGER_FIELDS.has(name)] as const);

/** `readings,station=<id>` by station: a fleet has a few thousand ids, and every reading of one shares its series key. */
const seriesKeys = new Map<string, string>();
const MAX_SERIES_KEYS = 100_000;

function readingsSeries(stationId: string): string {
  let key = seriesKeys.get(stationId);
  if (key === undefined) {
    key = `${escapeMeasurement(READINGS_MEASUREMENT)},${STATION_TAG}=${escapeTagValue(stationId)}`;
    if (seriesKeys.size >= MAX_SERIES_KEYS) seriesKeys.clear();
    seriesKeys.set(stationId, key);
  }
  return key;
}

export function statusLine(stationId: string, status: StationStatus, tsMs: number): string {
  const fields = [`online=${status.online ? 'true' : 'false'}`];
  if (status.fw !== undefined) fields.push(`fw=${quoteFieldString(status.fw)}`);
  if (status.uptimeS !== undefined) fields.push(`uptimeS=${integerField(status.uptimeS)}`);
  const series = `${escapeMeasurement(STATUS_MEASUREMENT)},${STATION_TAG}=${escapeTagValue(stationId)}`;
  return `${series} ${fields.join(',')} ${timestampMs(tsMs)}`;
}
