/**
 * Real-time scheduling, passed in (as MQTT.js does) so tests and accelerated runs control it.
 * Delays are REAL milliseconds; callers convert from simulated time with `clock.speed`.
 */
export interface SimTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  /** Accepts whatever `setTimeout` returned, or null. */
  clearTimeout(handle: unknown): void;
}

export const realTimers: SimTimers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => {
    if (handle !== null && handle !== undefined) clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
