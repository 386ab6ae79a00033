/**
 * What the three Wi-Fi sources (Tasmota, ESPHome, Shelly; docs/devices.md) share: the payload as text, the receive-time
 * pairing of values that arrive in separate messages, and the one check of a single field against frostwatch's bounds.
 */
import { type MappableField, type RejectReason, type StationId, parseReading } from '../../contracts/index.js';
import type { Decoded, IntakeMessage } from '../intake.js';
import { NO_REJECTS } from '../intake.js';
import { checkReadings, ignored, isRecord } from './readings.js';

/** How long a humidity or battery value may wait for the temperature it is paired with. */
export const PAIR_MAX_AGE_MS = 15 * 60_000;

/** The fields a temperature reading may carry from earlier messages (ESPHome and Shelly publish them apart). */
const PAIRED_FIELDS: readonly Exclude<MappableField, 'airTempC'>[] = ['rhPct', 'windMs', 'leafTempC', 'batteryV'];

export type Fields = Partial<Record<MappableField, number>>;

export function textOf(message: IntakeMessage): string {
  return Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength).toString('utf8');
}

export function status(stationId: StationId, online: boolean): Decoded {
  return { kind: 'status', stationId, status: { online }, rejects: NO_REJECTS };
}

/** JSON of a device, or the reason it is not one frostwatch can read. */
export function jsonObjectOf(
  message: IntakeMessage,
): Record<string, unknown> | Extract<RejectReason, 'too_large' | 'bad_json' | 'not_object'> {
  if (message.payload.byteLength > message.limits.maxBytes) return 'too_large';
  let json: unknown;
  try {
    json = JSON.parse(textOf(message));
  } catch {
    return 'bad_json';
  }
  return isRecord(json) ? json : 'not_object';
}

/**
 * Why one field's value would be refused in a reading (out of frostwatch's bounds), or null when it would pass. Judged
 * by the native parser itself, so a value kept for pairing can never make the later temperature reading fail.
 */
export function fieldProblem(field: MappableField, value: number, nowMs: number): RejectReason | null {
  const probe = field === 'airTempC' ? { ts: nowMs, airTempC: value } : { ts: nowMs, airTempC: 0, [field]: value };
  const result = parseReading(probe, nowMs);
  return result.ok ? null : result.reason;
}

const memoryKey = (stationId: StationId, field: MappableField): string => `${stationId}:${field}`;

/** Keeps each field but the air temperature for the next temperature message (values out of bounds are not kept). */
export function rememberFields(message: IntakeMessage, stationId: StationId, fields: Fields): void {
  if (!message.memory) return;
  for (const field of PAIRED_FIELDS) {
    const value = fields[field];
    if (value !== undefined && fieldProblem(field, value, message.nowMs) === null)
      message.memory.remember(memoryKey(stationId, field), value, message.nowMs);
  }
}

/** The fields a message lacks, from what the station sent in the last 15 minutes. */
export function withRemembered(message: IntakeMessage, stationId: StationId, fields: Fields): Fields {
  const out: Fields = { ...fields };
  if (!message.memory) return out;
  for (const field of PAIRED_FIELDS) {
    if (out[field] !== undefined) continue;
    const value = message.memory.recall(memoryKey(stationId, field), message.nowMs, PAIR_MAX_AGE_MS);
    if (value !== null) out[field] = value;
  }
  return out;
}

/**
 * A message's values as frostwatch sees them: with an air temperature, one reading (the fields it lacks from the last
 * 15 minutes); without one, its other values are kept for the next reading and the message is ignored.
 */
export function pairedReading(message: IntakeMessage, stationId: StationId, fields: Fields, tsMs: number): Decoded {
  rememberFields(message, stationId, fields);
  if (fields.airTempC === undefined) {
    const kept = Object.keys(fields);
    return ignored(stationId, kept.length > 0 ? `kept ${kept.join(', ')} for the next temperature` : 'no value frostwatch reads');
  }
  return checkReadings(stationId, [{ ...withRemembered(message, stationId, fields), ts: tsMs }], message);
}

/** °F → °C, to 0.01 °C (the sensors' own resolution is 0.1). */
export function celsiusOfFahrenheit(f: number): number {
  return Math.round(((f - 32) * 500) / 9) / 100;
}
