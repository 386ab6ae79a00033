/**
 * parseReading answers plain readings without zod (a fast path, issue 5) and hands everything else to the schema.
 * These properties hold the two to the same result — the same reading, or the same reason — for valid readings,
 * invalid ones, and objects built field by field from values at and beyond every bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYLOAD_LIMITS, parseReading, parseReadingWithSchema } from '../../contracts/index.js';
import { fuzzRuns } from './fuzz-settings.js';
import { invalidReading, validReading } from './reading-arbitraries.js';

const NOW = Date.parse('2026-12-20T22:00:00+07:00');

/** Values that sit on, just inside or just outside a bound, or are not numbers at all. */
const edgy = fc.oneof(
  fc.constantFrom(-200, -80, -80.0001, -1, -0, 0, 0.5, 1.5, 30, 30.0001, 80, 80.0001, 100, 105, 105.5, 0xffff_ffff, 2 ** 32, 1e999, -1e999),
  fc.double(),
  fc.integer({ min: -1_000, max: 1_000 }),
  fc.constantFrom(null, '1.5', true, [], {}),
);
const tsValue = fc.oneof(
  fc.integer({ min: NOW - DEFAULT_PAYLOAD_LIMITS.maxAgeMs - 60_000, max: NOW + DEFAULT_PAYLOAD_LIMITS.maxFutureMs + 60_000 }),
  fc.constantFrom(
    Date.UTC(2000, 0, 1),
    Date.UTC(2100, 0, 1),
    Date.UTC(2100, 0, 1) + 1,
    NOW + 0.5,
    NOW / 1_000,
    '2026-12-20T15:00:00Z',
    null,
  ),
);
const fieldByField = fc.record(
  {
    ts: tsValue,
    airTempC: edgy,
    rhPct: edgy,
    windMs: edgy,
    leafTempC: edgy,
    batteryV: edgy,
    rssiDbm: edgy,
    seq: edgy,
    firmware: fc.constantFrom('1.2.0', 3),
  },
  { requiredKeys: [] },
);

function sameAnswer(item: unknown): void {
  expect(parseReading(item, NOW)).toEqual(parseReadingWithSchema(item, NOW));
}

describe('parseReading, fast path and schema', () => {
  it('agree on every valid reading, key for key', () => {
    fc.assert(
      fc.property(validReading(NOW), (item) => {
        const fast = parseReading(item, NOW);
        expect(fast.ok).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parseReadingWithSchema(item, NOW)));
      }),
      fuzzRuns(2_000),
    );
  });

  it('agree on the reason for every invalid reading', () => {
    fc.assert(fc.property(invalidReading(NOW), sameAnswer), fuzzRuns(2_000));
  });

  it('agree on objects built from values at, inside and beyond every bound, with and without unknown keys', () => {
    fc.assert(fc.property(fieldByField, sameAnswer), fuzzRuns(5_000));
  });

  it('take the fast path for what a station sends, and refuse what the schema refuses', () => {
    expect(parseReading({ ts: NOW, airTempC: -0.4, rhPct: 95, windMs: 0.3, seq: 7 }, NOW)).toEqual({
      ok: true,
      reading: { airTempC: -0.4, rhPct: 95, windMs: 0.3, seq: 7, ts: NOW },
    });
    expect(parseReading({ ts: NOW, airTempC: 80.5 }, NOW)).toEqual({ ok: false, reason: 'out_of_range' });
    expect(parseReading({ ts: NOW, airTempC: 1, seq: 1.5 }, NOW)).toEqual({ ok: false, reason: 'wrong_type' });
    expect(parseReading({ ts: NOW, airTempC: 1, extra: Infinity }, NOW)).toEqual({ ok: false, reason: 'non_finite' });
    expect(parseReading({ ts: NOW + 10 * 60_000, airTempC: 1 }, NOW)).toEqual({ ok: false, reason: 'clock_future' });
  });
});
