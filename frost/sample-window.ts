/**
 * The engine's window of recent samples, by column, as a persistent (immutable) structure.
 *
 * Layout: one ArrayBuffer per storage block — six Float64 columns (ts, airC, rhPct, windMs, leafC, batteryV; NaN
 * stands for null) one after the other, `capacity` slots each, then one flag byte a slot (QC flag in bits 0–1,
 * humidityOk in bit 2): 49 bytes a sample, where a Sample object cost ~181 B (V8 boxes its doubles). Float64 keeps
 * every number exactly as given, so the rules compute bit for bit what they computed over objects. (Readings are finite
 * by contract — the zod schema, the backtest's CSV loader — so NaN never stands for a measured value.)
 *
 * Why persistent: `evaluate(state, …)` is pure, and the server keeps the OLD state when committing a decision fails, so
 * the next reading is evaluated from it again. A window changed in place would already hold the reading that was
 * rolled back. So a SampleWindow is a view — (storage, start, end) — that never changes what it shows:
 * - appending at the end writes into the storage in place only when this view ends at the storage's high-water mark
 *   (no other view has written past it) and a slot is free — one reading after another, the common case;
 * - anything else (an out-of-order reading, an append to an older view after a rollback, a full storage) copies the
 *   live range into a new storage;
 * - dropping old samples only moves `start`; the slots before it die with the storage at its next copy.
 * A copy sizes the new storage to live + max(8, live/32) slots, so memory stays near 49 B a live sample (measured with
 * scripts/window-memory.ts: 53 B at one reading a minute, where 8 free slots and the few objects of a storage weigh on
 * 181 samples; 51 B at 10 s). The price is a copy of the `live` samples once per max(8, live/32) appends: amortised,
 * at most 32 samples (≈1.5 KB) copied per reading — 23 at one reading a minute — where the array window copied every
 * pointer of the window and allocated a new array on every reading. A storage whose live part shrank below a quarter
 * of it (a station that slowed down) is compacted at its next append; each sample is copied O(1) times for that too.
 */
import type { QcFlag, Sample } from './types.js';

/** Column offsets, in units of `capacity`, within a storage's Float64Array. */
const TS = 0;
const AIR = 1;
const RH = 2;
const WIND = 3;
const LEAF = 4;
const BATTERY = 5;
const FLOAT_COLUMNS = 6;
/** Bytes a slot: six doubles and the flag byte. */
export const BYTES_PER_SAMPLE = FLOAT_COLUMNS * 8 + 1;

const QC_MASK = 0b011;
const HUMIDITY_OK = 0b100;
const QC_FLAGS: readonly QcFlag[] = ['ok', 'range', 'step', 'stuck'];
const QC_BITS: Record<QcFlag, number> = { ok: 0, range: 1, step: 2, stuck: 3 };

/** Fewest free slots a copy leaves for appends. */
const MIN_SLACK = 8;
/** …and at least live / 2^SLACK_SHIFT of them. */
const SLACK_SHIFT = 5;
/** A storage whose live range is less than 1/4 of it (and that is bigger than this) is compacted at the next append. */
const COMPACT_ABOVE = 64;

/** One storage block, shared by every view made from it. Slots [0, used) are written and never change again. */
class ColumnStore {
  readonly f: Float64Array;
  readonly flags: Uint8Array;
  readonly capacity: number;
  /** The high-water mark: the next free slot. Only an append from a view ending here may write it. */
  used = 0;

  constructor(capacity: number) {
    const buffer = new ArrayBuffer(capacity * BYTES_PER_SAMPLE);
    this.capacity = capacity;
    this.f = new Float64Array(buffer, 0, FLOAT_COLUMNS * capacity);
    this.flags = new Uint8Array(buffer, FLOAT_COLUMNS * 8 * capacity, capacity);
  }

  write(slot: number, s: Sample): void {
    const f = this.f;
    const c = this.capacity;
    f[TS * c + slot] = s.ts;
    f[AIR * c + slot] = s.airC;
    f[RH * c + slot] = s.rhPct ?? Number.NaN;
    f[WIND * c + slot] = s.windMs ?? Number.NaN;
    f[LEAF * c + slot] = s.leafC ?? Number.NaN;
    f[BATTERY * c + slot] = s.batteryV ?? Number.NaN;
    this.flags[slot] = QC_BITS[s.qc] | (s.humidityOk ? HUMIDITY_OK : 0);
  }

  /** Copies `from`'s slots [lo, hi) to this storage's slots from `at` on. */
  copy(from: ColumnStore, lo: number, hi: number, at: number): void {
    if (hi <= lo) return;
    for (let k = 0; k < FLOAT_COLUMNS; k += 1)
      this.f.set(from.f.subarray(k * from.capacity + lo, k * from.capacity + hi), k * this.capacity + at);
    this.flags.set(from.flags.subarray(lo, hi), at);
  }
}

/** Slots to allocate for `live` samples: room for max(8, live/32) appends before the next copy. */
function capacityFor(live: number): number {
  return live + Math.max(MIN_SLACK, live >> SLACK_SHIFT);
}

/** The window by column, for the state codec: numbers, null where nothing was measured. */
export interface SampleColumns {
  ts: number[];
  airC: number[];
  rhPct: (number | null)[];
  windMs: (number | null)[];
  leafC: (number | null)[];
  batteryV: (number | null)[];
  qc: QcFlag[];
  humidityOk: boolean[];
}

const orNull = (v: number): number | null => (v === v ? v : null); // NaN is null

/**
 * Samples sorted by ts, no ts twice: an immutable view over shared columnar storage (see the file's comment).
 * Accessors take an index in [0, length) and do not check it (they sit in the rules' hot loops); `sample(i)`,
 * `at(i)` and `toArray()` materialise Sample objects for anything else.
 */
export class SampleWindow implements Iterable<Sample> {
  readonly #s: ColumnStore;
  readonly #start: number;
  readonly #end: number;
  static readonly #EMPTY = new SampleWindow(new ColumnStore(0), 0, 0);

  private constructor(storage: ColumnStore, start: number, end: number) {
    this.#s = storage;
    this.#start = start;
    this.#end = end;
  }

  static empty(): SampleWindow {
    return SampleWindow.#EMPTY;
  }

  /** A window holding `samples` (sorted by ts, no ts twice — checked). */
  static from(samples: readonly Sample[]): SampleWindow {
    const n = samples.length;
    if (n === 0) return SampleWindow.#EMPTY;
    const s = new ColumnStore(capacityFor(n));
    for (let i = 0; i < n; i += 1) {
      const sample = samples[i] as Sample;
      if (i > 0 && !(sample.ts > (samples[i - 1] as Sample).ts))
        throw new RangeError('SampleWindow.from: samples must be sorted by ts, no ts twice');
      s.write(i, sample);
    }
    s.used = n;
    return new SampleWindow(s, 0, n);
  }

  /** The inverse of `columns()`: a window from the state codec's columns (sorted by ts — checked). */
  static fromColumns(c: SampleColumns): SampleWindow {
    const n = c.ts.length;
    if (n === 0) return SampleWindow.#EMPTY;
    const s = new ColumnStore(capacityFor(n));
    const cap = s.capacity;
    for (let i = 0; i < n; i += 1) {
      const ts = c.ts[i] as number;
      if (i > 0 && !(ts > (c.ts[i - 1] as number))) throw new RangeError('SampleWindow.fromColumns: ts must be increasing');
      s.f[TS * cap + i] = ts;
      s.f[AIR * cap + i] = c.airC[i] as number;
      s.f[RH * cap + i] = c.rhPct[i] ?? Number.NaN;
      s.f[WIND * cap + i] = c.windMs[i] ?? Number.NaN;
      s.f[LEAF * cap + i] = c.leafC[i] ?? Number.NaN;
      s.f[BATTERY * cap + i] = c.batteryV[i] ?? Number.NaN;
      s.flags[i] = QC_BITS[c.qc[i] ?? 'ok'] | (c.humidityOk[i] === true ? HUMIDITY_OK : 0);
    }
    s.used = n;
    return new SampleWindow(s, 0, n);
  }

  get length(): number {
    return this.#end - this.#start;
  }

  ts(i: number): number {
    return this.#s.f[this.#start + i] as number;
  }

  airC(i: number): number {
    const s = this.#s;
    return s.f[AIR * s.capacity + this.#start + i] as number;
  }

  rhPct(i: number): number | null {
    const s = this.#s;
    return orNull(s.f[RH * s.capacity + this.#start + i] as number);
  }

  windMs(i: number): number | null {
    const s = this.#s;
    return orNull(s.f[WIND * s.capacity + this.#start + i] as number);
  }

  leafC(i: number): number | null {
    const s = this.#s;
    return orNull(s.f[LEAF * s.capacity + this.#start + i] as number);
  }

  batteryV(i: number): number | null {
    const s = this.#s;
    return orNull(s.f[BATTERY * s.capacity + this.#start + i] as number);
  }

  qc(i: number): QcFlag {
    return QC_FLAGS[(this.#s.flags[this.#start + i] as number) & QC_MASK] as QcFlag;
  }

  /** qc(i) === 'ok', without the string. */
  isValid(i: number): boolean {
    return ((this.#s.flags[this.#start + i] as number) & QC_MASK) === 0;
  }

  humidityOk(i: number): boolean {
    return ((this.#s.flags[this.#start + i] as number) & HUMIDITY_OK) !== 0;
  }

  /** Sample i as an object (one literal with every field: one V8 hidden class); throws outside [0, length). */
  sample(i: number): Sample {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`SampleWindow: index ${i} outside 0…${this.length - 1}`);
    return {
      ts: this.ts(i),
      airC: this.airC(i),
      rhPct: this.rhPct(i),
      windMs: this.windMs(i),
      leafC: this.leafC(i),
      batteryV: this.batteryV(i),
      humidityOk: this.humidityOk(i),
      qc: this.qc(i),
    };
  }

  /** As Array.prototype.at: a negative index counts from the end; undefined outside. */
  at(i: number): Sample | undefined {
    const j = i < 0 ? this.length + i : i;
    return j >= 0 && j < this.length ? this.sample(j) : undefined;
  }

  toArray(): Sample[] {
    const out = new Array<Sample>(this.length);
    for (let i = 0; i < out.length; i += 1) out[i] = this.sample(i);
    return out;
  }

  /** As Array.prototype.map, over materialised samples: for tests and diagnosis, not for the rules' hot paths. */
  map<U>(fn: (sample: Sample, index: number) => U): U[] {
    const out = new Array<U>(this.length);
    for (let i = 0; i < out.length; i += 1) out[i] = fn(this.sample(i), i);
    return out;
  }

  /** JSON.stringify of a state gives the window as an array of samples (the codec's older format, which it still reads). */
  toJSON(): Sample[] {
    return this.toArray();
  }

  *[Symbol.iterator](): Iterator<Sample> {
    for (let i = 0; i < this.length; i += 1) yield this.sample(i);
  }

  columns(): SampleColumns {
    const n = this.length;
    const c: SampleColumns = { ts: [], airC: [], rhPct: [], windMs: [], leafC: [], batteryV: [], qc: [], humidityOk: [] };
    for (let i = 0; i < n; i += 1) {
      c.ts.push(this.ts(i));
      c.airC.push(this.airC(i));
      c.rhPct.push(this.rhPct(i));
      c.windMs.push(this.windMs(i));
      c.leafC.push(this.leafC(i));
      c.batteryV.push(this.batteryV(i));
      c.qc.push(this.qc(i));
      c.humidityOk.push(this.humidityOk(i));
    }
    return c;
  }

  /** First index whose ts ≥ `ts` (`length` when none). */
  lowerBound(ts: number): number {
    const f = this.#s.f;
    let lo = this.#start;
    let hi = this.#end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((f[mid] as number) < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.#start;
  }

  /** First index whose ts > `ts` (`length` when none). */
  upperBound(ts: number): number {
    const f = this.#s.f;
    let lo = this.#start;
    let hi = this.#end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((f[mid] as number) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.#start;
  }

  /** Samples [from, to) of this window, sharing its storage (no copy). */
  slice(from: number, to: number = this.length): SampleWindow {
    const lo = Math.max(0, Math.min(from, this.length));
    const hi = Math.max(lo, Math.min(to, this.length));
    return lo === 0 && hi === this.length ? this : new SampleWindow(this.#s, this.#start + lo, this.#start + hi);
  }

  /**
   * This window with `sample` placed at index `at` (= lowerBound(sample.ts); no sample there may have its ts), keeping
   * only samples with ts ≥ `cutoffTs`. A new view: what this one and every other view show does not change.
   */
  inserted(at: number, sample: Sample, cutoffTs: number): SampleWindow {
    const n = this.length;
    const t = sample.ts;
    if (!(at >= 0 && at <= n && (at === 0 || this.ts(at - 1) < t) && (at === n || this.ts(at) > t))) {
      throw new RangeError(`SampleWindow.inserted: index ${at} is not where ts ${t} goes, or the ts is there already`);
    }
    const first = this.lowerBound(cutoffTs); // samples before it are dropped
    if (t < cutoffTs) return this.slice(first);
    const s = this.#s;
    const live = n - first + 1;
    const compact = s.capacity > COMPACT_ABOVE && live * 4 < s.capacity;
    if (at === n && this.#end === s.used && s.used < s.capacity && !compact) {
      s.write(s.used, sample);
      s.used += 1;
      return new SampleWindow(s, this.#start + first, this.#end + 1);
    }
    const next = new ColumnStore(capacityFor(live));
    next.copy(s, this.#start + first, this.#start + at, 0);
    next.write(at - first, sample);
    next.copy(s, this.#start + at, this.#end, at - first + 1);
    next.used = live;
    return new SampleWindow(next, 0, live);
  }

  /** Bytes of typed-array storage this view keeps alive (shared with the other views of its storage). */
  get storageBytes(): number {
    return this.#s.capacity * BYTES_PER_SAMPLE;
  }

  /** Whether both views read the same storage (an append was written in place rather than copied). */
  sharesStorage(other: SampleWindow): boolean {
    return this.#s === other.#s;
  }
}
