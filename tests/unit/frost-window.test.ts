import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { insertedAt, lowerBound, upperBound } from '../../frost/window.js';
import { localHourMinute } from '../../frost/local-time.js';

const timed = (ts: number[]) => ts.map((t) => ({ ts: t }));
/** A sorted window of distinct timestamps, as the engine keeps it. */
const windowArb = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }).map((ts) => timed([...ts].sort((a, b) => a - b)));

describe('window index arithmetic (the engine finds its slices by binary search)', () => {
  it.each([
    { ts: [], at: 5, lower: 0, upper: 0 },
    { ts: [10, 20, 30], at: 5, lower: 0, upper: 0 },
    { ts: [10, 20, 30], at: 20, lower: 1, upper: 2 },
    { ts: [10, 20, 30], at: 25, lower: 2, upper: 2 },
    { ts: [10, 20, 30], at: 30, lower: 2, upper: 3 },
    { ts: [10, 20, 30], at: 31, lower: 3, upper: 3 },
  ])('in $ts: lowerBound($at) = $lower, upperBound($at) = $upper', ({ ts, at, lower, upper }) => {
    expect(lowerBound(timed(ts), at)).toBe(lower);
    expect(upperBound(timed(ts), at)).toBe(upper);
  });

  it('agrees with filtering the whole window, for any window and instant', () => {
    fc.assert(
      fc.property(windowArb, fc.integer({ min: -10, max: 10_010 }), (w, t) => {
        expect(lowerBound(w, t)).toBe(w.filter((s) => s.ts < t).length);
        expect(upperBound(w, t)).toBe(w.filter((s) => s.ts <= t).length);
      }),
    );
  });

  it('insertedAt equals sort-insert then retention filter, and leaves the old window untouched', () => {
    fc.assert(
      fc.property(windowArb, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (w, ts, cutoff) => {
        fc.pre(!w.some((s) => s.ts === ts));
        const before = w.map((s) => s.ts);
        const out = insertedAt(w, lowerBound(w, ts), { ts }, cutoff);
        const expected = [...before, ts].sort((a, b) => a - b).filter((x) => x >= cutoff);
        expect(out.map((s) => s.ts)).toEqual(expected);
        expect(w.map((s) => s.ts)).toEqual(before);
      }),
    );
  });
});

describe('local time cache', () => {
  it('gives every instant of a minute the same local time as formatting it would', () => {
    const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Kathmandu', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    fc.assert(
      fc.property(fc.integer({ min: Date.parse('2020-01-01'), max: Date.parse('2030-01-01') }), (ms) => {
        const [hour, minute] = fmt.format(ms).split(':').map(Number);
        expect(localHourMinute(ms, 'Asia/Kathmandu')).toEqual({ hour, minute });
        expect(localHourMinute(ms - (ms % 60_000), 'Asia/Kathmandu')).toEqual({ hour, minute });
      }),
    );
  });
});
