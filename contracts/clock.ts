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

/** A time line given as one instant on it and the wall-clock moment of that instant, and its speed. */
export interface ClockAnchor {
  /** The simulated instant, epoch ms … */
  simMs: number;
  /** … at this wall-clock moment, epoch ms. */
  wallMs: number;
  speed: number;
}

/**
 * The clock through `anchor`: every process given the same anchor (SIM_CLOCK) is on the same time line, whenever it
 * starts — the gateways, workers and servers of a cluster playing one simulated night (docs/scale-out.md).
 */
export function anchoredClock(anchor: ClockAnchor, realNow: () => number = Date.now): Clock {
  if (!(anchor.speed > 0) || !Number.isFinite(anchor.speed)) throw new RangeError(`speed must be a positive number, got ${anchor.speed}`);
  return { now: () => anchor.simMs + (realNow() - anchor.wallMs) * anchor.speed, speed: anchor.speed };
}

/** `<simulated ISO time>@<wall-clock epoch ms>x<speed>`, e.g. `2025-01-15T16:00:00+07:00@1764810000000x600`. */
export function parseClockAnchor(text: string): ClockAnchor | null {
  const match = /^(\S+)@(\d{10,16})x(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) return null;
  const simMs = Date.parse(match[1] ?? '');
  const speed = Number(match[3]);
  if (!Number.isFinite(simMs) || !(speed > 0)) return null;
  return { simMs, wallMs: Number(match[2]), speed };
}

/** An accelerated clock that stands at its start until `release()`: "start at 14:40" means when the system is up. */
export interface HeldClock extends Clock {
  /** Start the time line running (from `startMs`); later calls do nothing. */
  release(): void;
  /** Whether it still stands at its start. */
  isHeld(): boolean;
  /** Settles at the release: a copy of the line elsewhere (the rule engine's thread) starts running then too. */
  readonly released: Promise<void>;
}

/** Whether `clock` is a held clock (a copy of its line must wait for its release). */
export function isHeldClock(clock: Clock): clock is HeldClock {
  return typeof (clock as Partial<HeldClock>).isHeld === 'function';
}

/**
 * `acceleratedClock`, held at `startMs` until released. `frostwatch up --start 14:40 --speed 600` spends real seconds
 * starting (InfluxDB, migrations, the gateway) that are ten simulated minutes each; without the hold, a slow start
 * (a busy CI machine) would open the demo's night already at 16:00 and skip what the afternoon does.
 */
export function heldAcceleratedClock(startMs: number, speed: number, realNow: () => number = Date.now): HeldClock {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`);
  let realStart: number | null = null;
  let settle: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (settle = resolve));
  return {
    now: () => (realStart === null ? startMs : startMs + (realNow() - realStart) * speed),
    speed,
    release() {
      if (realStart !== null) return;
      realStart = realNow();
      settle();
    },
    isHeld: () => realStart === null,
    released,
  };
}

/**
 * `base`, except that it never goes back: when the wall clock steps backwards (an NTP step, a board without an RTC
 * set late), time stands still until the wall clock has caught up; a step forwards is followed at once. Every window
 * the server measures on the Clock — repeat suppression, "already sent this night", escalation and provider-failure
 * grace periods, quiet hours — then sees time only ever advance, so a step back cannot make a message due again.
 * `onStepBack` hears each backward step (by how much), for a log line.
 */
export function nonDecreasing(base: Clock, onStepBack?: (byMs: number) => void): Clock {
  let latest = Number.NEGATIVE_INFINITY;
  let stepping = false;
  return {
    now() {
      const t = base.now();
      if (t >= latest) {
        latest = t;
        stepping = false;
      } else if (!stepping && latest - t > 1_000) {
        stepping = true;
        onStepBack?.(latest - t);
      }
      return latest;
    },
    speed: base.speed,
    // A held clock stays recognisable through the wrapper: copies of its line wait for its release.
    ...(isHeldClock(base) ? { release: () => base.release(), isHeld: () => base.isHeld(), released: base.released } : {}),
  };
}

/**
 * Real-time waiting, injected like the Clock so tests fire timers by hand instead of sleeping: the notifier's idle
 * poll, retries and pacing, the escalation scan, the rule engine's tick and state flush. Real time, not the Clock's:
 * a provider's rate limit and another process's database lock pass in real seconds even when a demo's clock runs
 * 600× faster. Three members, because the waits need "once", the scans need "repeatedly", and pacing and the close
 * budget need to measure what passed on the same time line the timers run on.
 */
export interface Timers {
  /** Monotonic milliseconds (`performance.now()` for the real ones): only differences mean anything. */
  now(): number;
  /** Call `fn` once after `ms`; the returned function cancels it (and does nothing once it ran). */
  after(ms: number, fn: () => void): () => void;
  /** Call `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const systemTimers: Timers = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => {
      clearTimeout(timer);
    };
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => {
      clearInterval(timer);
    };
  },
};
