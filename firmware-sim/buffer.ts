import type { Reading } from '../contracts/index.js';

/**
 * The station's flash-backed reading buffer. A reading leaves it only when the broker acknowledged
 * the message that carried it (PUBACK); when full, the oldest reading is dropped and counted —
 * losing the oldest keeps the recent, frost-relevant minutes.
 */
export interface BufferEntry {
  /** Buffer-local id, so an acknowledgement removes exactly what it carried. */
  id: number;
  reading: Reading;
  inFlight: boolean;
}

export class ReadingBuffer {
  readonly #capacity: number;
  #entries: BufferEntry[] = [];
  #nextId = 0;
  #dropped = 0;

  constructor(capacity = 1_440) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`buffer capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(reading: Reading): void {
    if (this.#entries.length >= this.#capacity) {
      this.#entries.shift();
      this.#dropped++;
    }
    this.#entries.push({ id: this.#nextId++, reading, inFlight: false });
  }

  /** The oldest readings not yet in flight, up to `max`, now marked in flight. */
  take(max: number): BufferEntry[] {
    const batch: BufferEntry[] = [];
    for (const entry of this.#entries) {
      if (batch.length >= max) break;
      if (entry.inFlight) continue;
      entry.inFlight = true;
      batch.push(entry);
    }
    return batch;
  }

  /** PUBACK arrived: these readings are safe on the other side. Returns how many were still here. */
  ack(batch: readonly BufferEntry[]): number {
    const ids = new Set(batch.map((e) => e.id));
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => !ids.has(e.id));
    return before - this.#entries.length;
  }

  /** The link died before PUBACK: everything in flight must be sent again. */
  releaseAll(): void {
    for (const entry of this.#entries) entry.inFlight = false;
  }
}
