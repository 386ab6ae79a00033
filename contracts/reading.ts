import { z } from 'zod';
import type { RejectReason } from './reject-reasons.js';

/**
 * One reading as a station sends it (docs/protocol.md). Ranges here are what a sensor can physically
 * report, not quality control: a plausible-but-wrong value is stored and judged later by the rules
 * (WMO-No. 305 limits live in frost/), so nothing a station measured is thrown away at the edge.
 */
const EPOCH_MS_MIN = Date.UTC(2000, 0, 1);
const EPOCH_MS_MAX = Date.UTC(2100, 0, 1);

export const TimestampSchema = z.union([
  z
    .number()
    .int('ts: epoch milliseconds must be an integer')
    .min(EPOCH_MS_MIN, 'ts: epoch milliseconds expected (seconds are too small)')
    .max(EPOCH_MS_MAX, 'ts: too far in the future'),
  z.iso.datetime({ offset: true, error: 'ts: ISO 8601 with a time zone (Z or ±hh:mm) expected' }),
]);

/** What each field may physically hold; ReadingSchema and the fast path of parseReading are both built from it. */
const FIELD_BOUNDS = {
  airTempC: { min: -80, max: 80, int: false },
  rhPct: { min: 0, max: 105, int: false },
  windMs: { min: 0, max: 100, int: false },
  leafTempC: { min: -80, max: 80, int: false },
  batteryV: { min: 0, max: 30, int: false },
  rssiDbm: { min: -200, max: 0, int: false },
  seq: { min: 0, max: 0xffff_ffff, int: true },
} as const;

const bounded = (b: { min: number; max: number; int: boolean }) => (b.int ? z.number().int() : z.number()).min(b.min).max(b.max);

export const ReadingSchema = z.object({
  ts: TimestampSchema,
  airTempC: bounded(FIELD_BOUNDS.airTempC),
  rhPct: bounded(FIELD_BOUNDS.rhPct).optional(),
  windMs: bounded(FIELD_BOUNDS.windMs).optional(),
  leafTempC: bounded(FIELD_BOUNDS.leafTempC).optional(),
  batteryV: bounded(FIELD_BOUNDS.batteryV).optional(),
  rssiDbm: bounded(FIELD_BOUNDS.rssiDbm).optional(),
  seq: bounded(FIELD_BOUNDS.seq).optional(),
});
export type ReadingInput = z.infer<typeof ReadingSchema>;

/** A backfill batch: the readings a station buffered while offline, oldest first (docs/protocol.md). */
export const ReadingBatchSchema = z.array(ReadingSchema).min(1).max(1_440);
export type ReadingBatch = z.infer<typeof ReadingBatchSchema>;

/** A reading after the boundary: `ts` is always epoch milliseconds. */
export type Reading = Omit<ReadingInput, 'ts'> & { ts: number };

export const READING_FIELDS = ['airTempC', 'rhPct', 'windMs', 'leafTempC', 'batteryV', 'rssiDbm', 'seq'] as const;
export type ReadingField = (typeof READING_FIELDS)[number];

export { RejectReasonSchema, type RejectReason } from './reject-reasons.js';

export interface PayloadLimits {
  /** Largest payload accepted, in bytes. */
  maxBytes: number;
  /** Most readings in one batch. */
  maxBatch: number;
  /** A reading stamped further ahead of the receiver's clock than this is refused. */
  maxFutureMs: number;
  /** A reading older than this is refused (a station clock that never synced). */
  maxAgeMs: number;
}

export const DEFAULT_PAYLOAD_LIMITS: PayloadLimits = {
  maxBytes: 256 * 1024,
  maxBatch: 1_440, // a day of one-minute readings
  maxFutureMs: 5 * 60_000,
  maxAgeMs: 35 * 24 * 3_600_000,
};

export interface ParsedReadings {
  readings: Reading[];
  /** One entry per refused reading, or one for the whole payload. */
  rejects: RejectReason[];
}

/**
 * Parse a `stations/{id}/readings` payload: one object, or an array of them (backfill).
 * Each reading of a batch is judged on its own, so one bad reading never costs the good ones.
 */
export function parseReadingsPayload(payload: Uint8Array, nowMs: number, limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS): ParsedReadings {
  if (payload.byteLength > limits.maxBytes) return { readings: [], rejects: ['too_large'] };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return { readings: [], rejects: ['bad_json'] };
  }
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) return { readings: [], rejects: ['empty_batch'] };
  if (items.length > limits.maxBatch) return { readings: [], rejects: ['batch_too_long'] };
  const readings: Reading[] = [];
  const rejects: RejectReason[] = [];
  for (const item of items) {
    const result = parseReading(item, nowMs, limits);
    if (result.ok) readings.push(result.reading);
    else rejects.push(result.reason);
  }
  return { readings, rejects };
}

export type ReadingResult = { ok: true; reading: Reading } | { ok: false; reason: RejectReason };

export function parseReading(item: unknown, nowMs: number, limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS): ReadingResult {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false, reason: 'not_object' };
  const plain = plainReading(item as Record<string, unknown>);
  return plain ? withinClock(plain, nowMs, limits) : parseReadingWithSchema(item, nowMs, limits);
}

/**
 * The schema's whole judgement, with the reason a reading is refused. parseReading gives the same answer faster for
 * the readings stations actually send (tests/unit/reading-parse.test.ts holds the two to the same result).
 */
export function parseReadingWithSchema(item: unknown, nowMs: number, limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS): ReadingResult {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return { ok: false, reason: 'not_object' };
  if (Object.values(item).some((v) => typeof v === 'number' && !Number.isFinite(v))) return { ok: false, reason: 'non_finite' };
  const parsed = ReadingSchema.safeParse(item, { reportInput: true });
  if (!parsed.success) return { ok: false, reason: reasonOf(parsed.error) };
  const { ts, ...rest } = parsed.data;
  const tsMs = typeof ts === 'number' ? ts : Date.parse(ts);
  if (!Number.isFinite(tsMs)) return { ok: false, reason: 'bad_timestamp' };
  return withinClock({ ...rest, ts: tsMs }, nowMs, limits);
}

function withinClock(reading: Reading, nowMs: number, limits: PayloadLimits): ReadingResult {
  if (reading.ts > nowMs + limits.maxFutureMs) return { ok: false, reason: 'clock_future' };
  if (reading.ts < nowMs - limits.maxAgeMs) return { ok: false, reason: 'clock_past' };
  return { ok: true, reading };
}

const OPTIONAL_FIELDS = ['rhPct', 'windMs', 'leafTempC', 'batteryV', 'rssiDbm', 'seq'] as const;
const KNOWN_KEYS = new Set<string>(['ts', 'airTempC', ...OPTIONAL_FIELDS]);

function inBounds(v: unknown, b: { min: number; max: number; int: boolean }): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= b.min && v <= b.max && (!b.int || Number.isInteger(v));
}

/**
 * The reading the schema would return, for an object of known fields that are all in bounds with `ts` in epoch ms;
 * undefined for anything else, which then goes through the schema for its reason. zod's general machinery cost
 * ~25 µs a reading at full ingest rate (bench ingest, CPU by part); this check costs a fraction of it.
 */
function plainReading(item: Record<string, unknown>): Reading | undefined {
  for (const key in item) if (!KNOWN_KEYS.has(key)) return undefined;
  const { ts, airTempC } = item;
  if (!(typeof ts === 'number' && Number.isInteger(ts) && ts >= EPOCH_MS_MIN && ts <= EPOCH_MS_MAX)) return undefined;
  if (!inBounds(airTempC, FIELD_BOUNDS.airTempC)) return undefined;
  // Keys in the order the schema's output has them (ts last), so the JSON a subscriber sees is the same either way.
  const fields: Partial<Record<(typeof OPTIONAL_FIELDS)[number], number>> = {};
  for (const field of OPTIONAL_FIELDS) {
    const v = item[field];
    if (v === undefined) continue;
    if (!inBounds(v, FIELD_BOUNDS[field])) return undefined;
    fields[field] = v;
  }
  return { airTempC, ...fields, ts };
}

function reasonOf(error: z.ZodError): RejectReason {
  const issue = error.issues[0];
  if (!issue) return 'wrong_type';
  if (issue.path[0] === 'ts') return 'bad_timestamp';
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'missing_field';
  if (issue.code === 'too_small' || issue.code === 'too_big') return 'out_of_range';
  return 'wrong_type';
}
