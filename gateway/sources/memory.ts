/**
 * What the decoders of other sources remember between messages, in this process only (a restart forgets; the cost
 * is one duplicate uplink stored twice under the same timestamp, which InfluxDB overwrites, or one reading without
 * its humidity):
 * - ids already seen (a ChirpStack `deduplicationId`, a TTS uplink's correlation ids), so a redelivered uplink is
 *   stored once;
 * - a sensor's last value and when it came (ESPHome publishes temperature and humidity as separate messages).
 */
export class SourceMemory {
  readonly #seen = new Map<string, true>();
  readonly #values = new Map<string, { value: number; atMs: number }>();
  readonly #capacity: number;

  constructor(capacity = 50_000) {
    this.#capacity = capacity;
  }

  /** True when `key` was seen before; remembers it otherwise (the oldest is forgotten past the capacity). */
  seen(key: string): boolean {
    if (this.#seen.has(key)) return true;
    this.#seen.set(key, true);
    if (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    return false;
  }

  /** Forget `key`: the message it marked was not stored after all (the sink failed), so its redelivery must be. */
  forget(key: string): void {
    this.#seen.delete(key);
  }

  remember(key: string, value: number, atMs: number): void {
    this.#values.delete(key);
    this.#values.set(key, { value, atMs });
    if (this.#values.size > this.#capacity) {
      const oldest = this.#values.keys().next();
      if (!oldest.done) this.#values.delete(oldest.value);
    }
  }

  /** The last value remembered under `key`, if it came no earlier than `maxAgeMs` before `nowMs`. */
  recall(key: string, nowMs: number, maxAgeMs: number): number | null {
    const hit = this.#values.get(key);
    return hit !== undefined && nowMs - hit.atMs <= maxAgeMs ? hit.value : null;
  }
}
