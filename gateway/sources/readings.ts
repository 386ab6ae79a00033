import { type StationId, parseReadingsPayload } from '../../contracts/index.js';
import { countByReason } from '../reject-log.js';
import { type Decoded, type IntakeMessage, NO_REJECTS } from '../intake.js';

/**
 * A device's readings, mapped to frostwatch's fields (°C, %, m/s, V; `ts` in epoch ms), judged exactly as a native
 * batch is: the same bounds, the same clock window, the same reasons for each refusal.
 */
export function checkReadings(stationId: StationId, candidates: readonly Record<string, unknown>[], message: IntakeMessage): Decoded {
  const bytes = Buffer.from(JSON.stringify(candidates.length === 1 ? candidates[0] : candidates), 'utf8');
  const { readings, rejects } = parseReadingsPayload(bytes, message.nowMs, message.limits);
  const counts = countByReason(rejects);
  if (readings.length === 0) return { kind: 'refused', stationId, reason: rejects[0] ?? 'empty_batch', rejects: counts };
  return { kind: 'readings', stationId, readings, rejects: counts };
}

/** A finite number from a device's JSON value: numbers, and numeric strings (ESPHome, some codecs); else null. */
export function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** Nothing to store and nothing wrong (a duplicate, another kind of event, a value kept for the next reading). */
export function ignored(stationId: StationId | null, why: string): Decoded {
  return { kind: 'ignored', stationId, why, rejects: NO_REJECTS };
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` (`a.b.c`, or its parts) in nested objects; undefined where the path leaves them. */
export function pathValue(data: Record<string, unknown>, path: string | readonly string[]): unknown {
  let here: unknown = data;
  for (const part of typeof path === 'string' ? path.split('.') : path) {
    if (!isRecord(here)) return undefined;
    here = here[part];
  }
  return here;
}
