/**
 * The engine's window (frost/sample-window.ts): columnar, persistent views over shared append-only storage. Held to a
 * plain sorted array of Sample objects — the window as it was before — through random in-order, out-of-order and
 * duplicate readings and rollbacks (inserting into an older view again), and no view may ever change what it shows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../contracts/index.js';
import {
  evaluate,
  initialState,
  rulesFor,
  SampleWindow,
  type Sample,
  type StationContext,
  type StationRuleState,
} from '../../frost/index.js';
import { localHourMinute } from '../../frost/local-time.js';
import { BYTES_PER_SAMPLE } from '../../frost/sample-window.js';

const sampleAt = (ts: number, airC = 1): Sample => ({
  ts,
  airC,
  rhPct: null,
  windMs: null,
  leafC: null,
  batteryV: null,
  humidityOk: true,
  qc: 'ok',
});
const windowOf = (ts: readonly number[]): SampleWindow => SampleWindow.from(ts.map((t) => sampleAt(t)));
/** Sorted distinct timestamps, as the engine keeps them. */
const tsArb = fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }).map((ts) => [...ts].sort((a, b) => a - b));

/** Every field a sample can hold, −0, nulls and every flag included: what goes in must come out bit for bit. */
const measured = fc.option(fc.double({ noNaN: true }), { nil: null });
const fieldsArb = fc.record({
  airC: fc.double({ noNaN: true }),
  rhPct: measured,
  windMs: measured,
  leafC: measured,
  batteryV: measured,
  humidityOk: fc.boolean(),
  qc: fc.constantFrom('ok' as const, 'range' as const, 'step' as const, 'stuck' as const),
});

/** The reference: the window as a plain array, as the engine kept it before (sort-insert, then drop ts < cutoff). */
function referenceInserted(items: readonly Sample[], sample: Sample, cutoffTs: number): Sample[] {
  return [...items, sample].sort((a, b) => a.ts - b.ts).filter((s) => s.ts >= cutoffTs);
}

describe('window index arithmetic (the engine finds its slices by binary search)', () => {
  it.each([
    { ts: [], at: 5, lower: 0, upper: 0 },
    { ts: [10, 20, 30], at: 5, lower: 0, upper: 0 },
    { ts: [10, 20, 30], at: 20, lower: 1, upper: 2 },
    { ts: [10, 20, 30], at: 25, lower: 2, upper: 2 },
    { ts: [10, 20, 30], at: 30, lower: 2, upper: 3 },
    { ts: [10, 20, 30], at: 31, lower: 3, upper: 3 },
  ])('in $ts: lowerBound($at) = $lower, upperBound($at) = $upper', ({ ts, at, lower, upper }) => {
    expect(windowOf(ts).lowerBound(at)).toBe(lower);
    expect(windowOf(ts).upperBound(at)).toBe(upper);
  });

  it('agrees with filtering the whole window, for any window, view into it and instant', () => {
    fc.assert(
      fc.property(tsArb, fc.nat(), fc.integer({ min: -10, max: 10_010 }), (ts, cut, t) => {
        const from = ts.length === 0 ? 0 : cut % (ts.length + 1);
        const view = windowOf(ts).slice(from); // a view that starts inside its storage
        const kept = ts.slice(from);
        expect(view.lowerBound(t)).toBe(kept.filter((x) => x < t).length);
        expect(view.upperBound(t)).toBe(kept.filter((x) => x <= t).length);
      }),
    );
  });
});

describe('SampleWindow against a plain array', () => {
  it('reads back every field exactly: −0, nulls, every flag', () => {
    fc.assert(
      fc.property(fc.array(fieldsArb, { maxLength: 40 }), (fields) => {
        const samples = fields.map((f, i) => ({ ts: 1_000 + i, ...f }));
        const w = SampleWindow.from(samples);
        expect(w.toArray()).toEqual(samples); // toEqual tells −0 from 0
        expect([...w]).toEqual(samples);
        expect(SampleWindow.fromColumns(w.columns()).toArray()).toEqual(samples);
        samples.forEach((s, i) => {
          expect(w.sample(i)).toEqual(s);
          expect(w.isValid(i)).toBe(s.qc === 'ok');
        });
        expect(w.at(-1)).toEqual(samples.at(-1));
        expect(w.at(samples.length)).toBeUndefined();
      }),
    );
  });

  it('inserted equals sort-insert then retention filter, and leaves the old window untouched', () => {
    fc.assert(
      fc.property(tsArb, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (ts, t, cutoff) => {
        fc.pre(!ts.includes(t));
        const w = windowOf(ts);
        const before = w.toArray();
        const out = w.inserted(w.lowerBound(t), sampleAt(t), cutoff);
        expect(out.toArray()).toEqual(referenceInserted(before, sampleAt(t), cutoff));
        expect(w.toArray()).toEqual(before);
      }),
    );
  });

  it('refuses an index that is not where the sample goes, or a ts it holds already', () => {
    const w = windowOf([10, 20, 30]);
    expect(() => w.inserted(0, sampleAt(25), 0)).toThrow(RangeError);
    expect(() => w.inserted(1, sampleAt(20), 0)).toThrow(RangeError);
    expect(() => SampleWindow.from([sampleAt(2), sampleAt(1)])).toThrow(RangeError);
  });

  it('random in-order, out-of-order and duplicate readings and rollbacks give the reference samples; no view ever changes', () => {
    const op = fc.record({
      kind: fc.constantFrom('next', 'next', 'next', 'late', 'duplicate'),
      /** Which version to insert into: mostly the newest; otherwise an older one, as after a rolled-back commit. */
      rollback: fc.option(fc.nat(), { freq: 4 }),
      step: fc.integer({ min: 1, max: 90 }),
      pick: fc.nat(),
      /** How far the cutoff trails the newest ts (the engine keeps a few hours). */
      keep: fc.integer({ min: 0, max: 600 }),
      fields: fieldsArb,
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 250 }), (ops) => {
        const versions: { w: SampleWindow; ref: Sample[] }[] = [{ w: SampleWindow.empty(), ref: [] }];
        for (const o of ops) {
          const from = versions[o.rollback === null ? versions.length - 1 : o.rollback % versions.length] as (typeof versions)[number];
          const newest = from.ref.at(-1)?.ts ?? 1_000;
          const ts =
            o.kind === 'next'
              ? newest + o.step
              : o.kind === 'late'
                ? newest - o.step - (o.pick % 300)
                : (from.ref[o.pick % Math.max(1, from.ref.length)]?.ts ?? newest);
          const at = from.w.lowerBound(ts);
          if (from.ref.some((s) => s.ts === ts)) {
            expect(from.w.ts(at)).toBe(ts); // a duplicate: the engine finds it and changes nothing
            continue;
          }
          const sample: Sample = { ts, ...o.fields };
          const cutoff = Math.max(newest, ts) - o.keep;
          const w = from.w.inserted(at, sample, cutoff);
          const ref = referenceInserted(from.ref, sample, cutoff);
          expect(w.toArray()).toEqual(ref);
          versions.push({ w, ref });
        }
        for (const v of versions) expect(v.w.toArray()).toEqual(v.ref);
      }),
      { numRuns: 200 },
    );
  });

  it('appends one reading after another in place, copies only when its storage is full, and sizes the copy with little slack', () => {
    // 181 samples: three hours at one reading a minute. Slack max(8, 181/32) = 8 slots.
    let w = SampleWindow.from(Array.from({ length: 181 }, (_, i) => sampleAt(i)));
    expect(w.storageBytes).toBe((181 + 8) * BYTES_PER_SAMPLE);
    const views = [w];
    for (let ts = 181; ts < 189; ts += 1) {
      const next = w.inserted(w.length, sampleAt(ts), ts - 180); // one in, one out: 181 live
      expect(next.sharesStorage(w)).toBe(true); // written in place
      views.push((w = next));
    }
    const copied = w.inserted(w.length, sampleAt(189), 9); // the storage is full: copied into live + 8 slots
    expect(copied.sharesStorage(w)).toBe(false);
    expect(copied.storageBytes).toBe((181 + 8) * BYTES_PER_SAMPLE);
    views.forEach((v, i) => expect(v.toArray().map((s) => s.ts)).toEqual(Array.from({ length: 181 }, (_, k) => i + k)));
    // An append to an older view (a rollback) copies and leaves the newer views alone.
    const old = views[5] as SampleWindow;
    const branch = old.inserted(old.length, sampleAt(1_000, 7), 0);
    expect(branch.sharesStorage(old)).toBe(false);
    expect(branch.toArray().at(-1)).toEqual(sampleAt(1_000, 7));
    expect((views[6] as SampleWindow).at(-1)).toEqual(sampleAt(186));
    expect(old.length).toBe(181);
    // So does an out-of-order one.
    const late = w.inserted(w.lowerBound(100.5), sampleAt(100.5), 0);
    expect(late.sharesStorage(w)).toBe(false);
    expect(w.lowerBound(100.5)).toBe(w.upperBound(100.5));
    // A long window (10 s sampling) leaves live/32 free slots.
    expect(SampleWindow.from(Array.from({ length: 1_081 }, (_, i) => sampleAt(i))).storageBytes).toBe((1_081 + 33) * BYTES_PER_SAMPLE);
  });

  it('compacts a storage whose live part shrank below a quarter (a station that slowed down)', () => {
    let w = SampleWindow.from(Array.from({ length: 400 }, (_, i) => sampleAt(i)));
    expect(w.storageBytes).toBe(412 * BYTES_PER_SAMPLE);
    w = w.inserted(w.length, sampleAt(400), 350); // 51 live in a 412-slot storage
    expect(w.length).toBe(51);
    expect(w.storageBytes).toBe((51 + 8) * BYTES_PER_SAMPLE);
    expect(w.toArray().map((s) => s.ts)).toEqual(Array.from({ length: 51 }, (_, i) => 350 + i));
  });
});

describe('the engine on a persistent window: rollbacks', () => {
  const CTX: StationContext = {
    stationId: 'ld-w',
    lat: 11.9404,
    lon: 108.4583,
    elevationM: 1_500,
    crop: 'arabica',
    timeZone: 'Asia/Ho_Chi_Minh',
  };
  const RULES = rulesFor('arabica');
  /** 16:00 local on a January day: the night, its T₂ and the 3-hour retention are all crossed. */
  const START = Date.parse('2025-01-15T09:00:00Z');
  const MIN = 60_000;

  const readingArb = fc.record({
    kind: fc.constantFrom('next', 'next', 'next', 'next', 'late', 'duplicate', 'gap'),
    rollback: fc.option(fc.nat(), { freq: 5 }),
    pick: fc.nat(),
    drift: fc.double({ min: -0.3, max: 0.2, noNaN: true }),
    spike: fc.option(fc.constantFrom(-12, 9, 60), { freq: 15 }),
    rhPct: fc.option(fc.double({ min: 40, max: 104, noNaN: true }), { freq: 6 }),
    windMs: fc.option(fc.double({ min: 0, max: 4, noNaN: true }), { freq: 3 }),
    leafTempC: fc.option(fc.double({ min: -5, max: 15, noNaN: true }), { freq: 3 }),
    batteryV: fc.option(fc.double({ min: 3.2, max: 4.2, noNaN: true }), { freq: 3 }),
  });

  it('evaluating from any older state gives what a fresh copy of it gives, and no state window ever changes', () => {
    fc.assert(
      fc.property(fc.array(readingArb, { minLength: 150, maxLength: 320 }), (ops) => {
        const states: { state: StationRuleState; snapshot: Sample[]; air: number }[] = [
          { state: initialState(CTX), snapshot: [], air: 12 },
        ];
        let clock = START;
        for (const o of ops) {
          const from = states[o.rollback === null ? states.length - 1 : o.rollback % states.length] as (typeof states)[number];
          const newest = from.state.newestTs ?? START;
          const held = from.state.window;
          const ts =
            o.kind === 'next'
              ? newest + MIN
              : o.kind === 'gap'
                ? newest + 20 * MIN
                : o.kind === 'late'
                  ? newest - (1 + (o.pick % 200)) * MIN + 30_000
                  : held.length > 0
                    ? held.ts(o.pick % held.length)
                    : newest;
          const air = Math.round((from.air + o.drift) * 100) / 100;
          const reading: Reading = { ts, airTempC: air + (o.spike ?? 0) };
          if (o.rhPct !== null) reading.rhPct = o.rhPct;
          if (o.windMs !== null) reading.windMs = o.windMs;
          if (o.leafTempC !== null) reading.leafTempC = o.leafTempC;
          if (o.batteryV !== null) reading.batteryV = o.batteryV;
          clock = Math.max(clock, ts) + 2_000;
          const event = { kind: 'reading' as const, reading, receivedAtMs: clock };
          const out = evaluate(from.state, event, RULES, clock);
          // The same evaluation on a copy with storage of its own: sharing storage changed nothing.
          const fresh = evaluate({ ...from.state, window: SampleWindow.from(from.state.window.toArray()) }, event, RULES, clock);
          expect(out.decisions).toEqual(fresh.decisions);
          expect(out.state).toEqual(fresh.state);
          // The plain-array model: the window before, the new sample sort-inserted, the oldest dropped.
          const after = out.state.window.toArray();
          const inserted = after.find((s) => s.ts === ts);
          if (inserted !== undefined && !from.snapshot.some((s) => s.ts === ts)) {
            expect(inserted).toMatchObject({ airC: reading.airTempC, rhPct: reading.rhPct ?? null, batteryV: reading.batteryV ?? null });
            expect(after).toEqual(referenceInserted(from.snapshot, inserted, after[0]?.ts ?? -Infinity));
          } else {
            expect(after).toEqual(from.snapshot.filter((s) => s.ts >= (after[0]?.ts ?? Infinity)));
          }
          states.push({ state: out.state, snapshot: after, air });
        }
        for (const s of states) expect(s.state.window.toArray()).toEqual(s.snapshot);
      }),
      { numRuns: 40 },
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
