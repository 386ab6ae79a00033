/**
 * Time is passed in, never read from globals, so tests and accelerated demos control it.
 * `now()` is epoch milliseconds in the clock's own (possibly simulated) time line.
 */
export interface Clock {
  now(): number;
  /** Simulated seconds per real second: 1 for the wall clock. */
  readonly speed: number;
}

export const systemClock: Clock = { now: () => Date.now(), speed: 1 };

/**
 * A clock that starts at `startMs` and runs `speed` times faster than the wall clock.
 * Used by `frostwatch up --speed` so the server, the rules and the simulator share one time line.
 */
export function acceleratedClock(startMs: number, speed: number, realNow: () => number = Date.now): Clock {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  const realStart = realNow();
  return { now: () => startMs + (realNow() - realStart) * speed, speed };
}
