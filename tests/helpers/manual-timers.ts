import type { Timers } from '../../contracts/index.js';

interface Pending {
  id: number;
  atMs: number;
  /** Set for `every`: re-armed this far after each firing. */
  everyMs: number | null;
  fn: () => void;
}

/**
 * Timers that only fire when the test says so: `advance(ms)` moves `now()` and runs every timer falling due on the
 * way, in time order. Lets a test show that a poll, a scan or a retry happens on its schedule without waiting for it.
 */
export class ManualTimers implements Timers {
  #nowMs = 0;
  #seq = 0;
  readonly #pending = new Map<number, Pending>();

  now(): number {
    return this.#nowMs;
  }

  after(ms: number, fn: () => void): () => void {
    return this.#add(ms, null, fn);
  }

  every(ms: number, fn: () => void): () => void {
    return this.#add(ms, ms, fn);
  }

  /** What is armed, soonest first: `inMs` from now, and the period of a repeating one (null: once). */
  pending(): { inMs: number; everyMs: number | null }[] {
    return this.#sorted().map((p) => ({ inMs: p.atMs - this.#nowMs, everyMs: p.everyMs }));
  }

  /**
   * Move time forward by `ms`, firing what falls due in order. After each firing the event loop gets a turn, so the
   * promise chains a timer resumes (a worker's loop, a retry) run and may arm the next timer before time moves on.
   */
  async advance(ms: number): Promise<void> {
    const untilMs = this.#nowMs + ms;
    for (;;) {
      const next = this.#sorted()[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.#nowMs = next.atMs;
      if (next.everyMs === null) this.#pending.delete(next.id);
      else next.atMs += next.everyMs;
      next.fn();
      await turn();
    }
    this.#nowMs = untilMs;
    await turn();
  }

  #add(ms: number, everyMs: number | null, fn: () => void): () => void {
    // Node runs a timeout of less than 1 ms after 1 ms; so do these (and an interval of 0 cannot spin forever).
    const delayMs = Math.max(1, ms);
    this.#seq += 1;
    const id = this.#seq;
    this.#pending.set(id, { id, atMs: this.#nowMs + delayMs, everyMs: everyMs === null ? null : delayMs, fn });
    return () => {
      this.#pending.delete(id);
    };
  }

  #sorted(): Pending[] {
    return [...this.#pending.values()].sort((a, b) => a.atMs - b.atMs || a.id - b.id);
  }
}

/** One turn of the event loop: every promise continuation queued so far has run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
