/**
 * Pacing of the sender: how long to wait before the next request (rate limit) and before the next
 * attempt of a failed one (backoff). Pure apart from the time source and the random source passed in.
 */

/**
 * Spaces requests so that `unitsPerSec` units (SMS segments, calls) leave per second: a request of
 * n units holds the line for n/unitsPerSec seconds. The first request goes at once. Time is real
 * time (the provider's limit), not the possibly accelerated clock of a demo.
 */
export class UnitRateLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #nextFreeAt = Number.NEGATIVE_INFINITY;

  constructor(unitsPerSec: number, now: () => number = () => performance.now()) {
    if (!(unitsPerSec > 0) || !Number.isFinite(unitsPerSec)) throw new RangeError(`rate must be a positive number, got ${unitsPerSec}`);
    this.#intervalMs = 1_000 / unitsPerSec;
    this.#now = now;
  }

  /** Milliseconds to wait before a request may start (0 when it may start now). */
  delayMs(): number {
    return Math.max(0, this.#nextFreeAt - this.#now());
  }

  /** Record a request of `units` starting now; call only when `delayMs()` is 0. */
  take(units: number): void {
    const start = Math.max(this.#now(), this.#nextFreeAt);
    this.#nextFreeAt = start + Math.max(1, units) * this.#intervalMs;
  }
}

export interface BackoffOptions {
  /** Delay after the first failure; default 2 s. */
  baseMs?: number;
  /** Cap; default 2 min, so a message is tried again within two minutes of a provider coming back. */
  maxMs?: number;
}

/**
 * Exponential backoff with "equal jitter": between half and all of base·2^(attempt−1), capped.
 * Half is kept so retries never bunch at zero; the jitter keeps a provider outage from being met by
 * every queued message at the same instant.
 */
export function backoffMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const base = options.baseMs ?? 2_000;
  const max = options.maxMs ?? 120_000;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
