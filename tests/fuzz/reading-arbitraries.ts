import fc from 'fast-check';
import { DEFAULT_PAYLOAD_LIMITS, type Reading, type ReadingInput } from '../../contracts/index.js';

/** The measured fields of a reading, each over the range the contract allows (docs/protocol.md). */
const MEASUREMENTS = {
  airTempC: fc.double({ min: -80, max: 80, noNaN: true }),
  rhPct: fc.double({ min: 0, max: 105, noNaN: true }),
  windMs: fc.double({ min: 0, max: 100, noNaN: true }),
  leafTempC: fc.double({ min: -80, max: 80, noNaN: true }),
  batteryV: fc.double({ min: 0, max: 30, noNaN: true }),
  rssiDbm: fc.double({ min: -200, max: 0, noNaN: true }),
  seq: fc.integer({ min: 0, max: 0xffff_ffff }),
};

/** A parsed reading at `ts`, any subset of optional fields (what the line protocol encodes). */
export function readingAt(ts: number): fc.Arbitrary<Reading> {
  return fc.record({ ts: fc.constant(ts), ...MEASUREMENTS }, { requiredKeys: ['ts', 'airTempC'] });
}

/** Readings a station may send at `nowMs` (docs/protocol.md), epoch ms or ISO 8601, any subset of optional fields. */
export function validReading(nowMs: number): fc.Arbitrary<ReadingInput> {
  const tsMs = fc.integer({ min: nowMs - DEFAULT_PAYLOAD_LIMITS.maxAgeMs + 1_000, max: nowMs + DEFAULT_PAYLOAD_LIMITS.maxFutureMs });
  return fc.record(
    {
      ts: fc.oneof(
        tsMs,
        tsMs.map((ms) => new Date(ms).toISOString()),
      ),
      ...MEASUREMENTS,
    },
    { requiredKeys: ['ts', 'airTempC'] },
  );
}

/** Not a valid reading: wrong types, out of range, missing air temperature, bad or far timestamps, not an object. */
export function invalidReading(nowMs: number): fc.Arbitrary<unknown> {
  const valid = validReading(nowMs);
  return fc.oneof(
    fc.anything().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
    valid.map((r) => ({ ...r, airTempC: undefined })),
    valid.map((r) => ({ ...r, airTempC: 81 + Math.abs(r.airTempC) })),
    valid.map((r) => ({ ...r, rhPct: -1 })),
    valid.map((r) => ({ ...r, seq: 1.5 })),
    valid.map((r) => ({ ...r, ts: nowMs + DEFAULT_PAYLOAD_LIMITS.maxFutureMs + 60_000 })),
    valid.map((r) => ({ ...r, ts: Math.floor(nowMs / 1_000) })),
    valid.map((r) => ({ ...r, ts: '2026-01-15 22:00' })),
    fc.tuple(valid, fc.string()).map(([r, s]) => ({ ...r, airTempC: s })),
  );
}

/** A batch mixing both, each item tagged so a test knows which ones must be kept. */
export function mixedBatch(nowMs: number, maxLength = 40): fc.Arbitrary<Array<{ valid: boolean; r: unknown }>> {
  const item = fc.oneof(
    validReading(nowMs).map((r) => ({ valid: true, r })),
    invalidReading(nowMs).map((r) => ({ valid: false, r })),
  );
  return fc.array(item, { minLength: 1, maxLength });
}

/** The reading as it arrives after JSON (no −0) and the boundary (ts in epoch ms). */
export function asReceived(sent: ReadingInput): Omit<ReadingInput, 'ts'> & { ts: number } {
  const wire = JSON.parse(JSON.stringify(sent)) as ReadingInput;
  return { ...wire, ts: typeof wire.ts === 'number' ? wire.ts : Date.parse(wire.ts) };
}
