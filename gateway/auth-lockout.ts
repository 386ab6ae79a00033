import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../contracts/index.js';
import { maskAddress } from './remote-address.js';

export interface LockoutPolicy {
  /** Wrong tokens for one (station, address) within `windowMs` that start a lockout. */
  maxFailures: number;
  windowMs: number;
  /** How long that (station, address) may then only get in with a token already verified since start. */
  cooldownMs: number;
}

/**
 * 10 wrong tokens in 10 minutes: a station whose token was replaced retries about once a minute, so it
 * stays far below; a guesser is slowed to 10 scrypt runs per 25 minutes per address.
 */
export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 10, windowMs: 10 * 60_000, cooldownMs: 15 * 60_000 };

/** Bound on remembered (station, address) pairs; each costs about 150 bytes. */
export const MAX_LOCKOUT_KEYS = 100_000;

interface Entry {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/**
 * Failed MQTT logins per (station id, remote address). Only failures that cost scrypt are counted (a wrong
 * token of a registered station); unknown ids and revoked stations are answered from the registry alone.
 * Keyed by address too, so a guesser elsewhere cannot lock an honest station out of its own network.
 */
export class AuthLockout {
  readonly #entries = new Map<string, Entry>();
  #lastSweep = Number.NEGATIVE_INFINITY;
  readonly #lockouts: Counter;
  readonly #refused: Counter;

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly clock: Clock,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.#lockouts = new Counter({
      name: 'frostwatch_gateway_auth_lockouts_total',
      help: 'Lockouts started: a (station, address) sent too many wrong tokens',
      registers: [registry],
    });
    this.#refused = new Counter({
      name: 'frostwatch_gateway_auth_locked_refusals_total',
      help: 'CONNECTs refused without checking the token because their (station, address) is locked out',
      registers: [registry],
    });
  }

  isLocked(stationId: string, address: string): boolean {
    const entry = this.#entries.get(key(stationId, address));
    return entry !== undefined && entry.lockedUntil > this.clock.now();
  }

  /** A CONNECT refused while locked: counted; the lockout's start was logged already, so no log line per attempt. */
  refusedWhileLocked(): void {
    this.#refused.inc();
  }

  recordFailure(stationId: string, address: string): void {
    const now = this.clock.now();
    const k = key(stationId, address);
    let entry = this.#entries.get(k);
    if (entry === undefined || now - entry.windowStart > this.policy.windowMs) {
      this.#makeRoom(now);
      entry = { windowStart: now, failures: 0, lockedUntil: entry?.lockedUntil ?? 0 };
      this.#entries.set(k, entry);
    }
    entry.failures += 1;
    if (entry.failures < this.policy.maxFailures || entry.lockedUntil > now) return;
    entry.lockedUntil = now + this.policy.cooldownMs;
    entry.failures = 0;
    entry.windowStart = now;
    this.#lockouts.inc();
    // One line per lockout: at most one per (station, address) per cooldown, so the log cannot be flooded.
    this.logger.warn(
      { stationId, address: maskAddress(address), cooldownS: this.policy.cooldownMs / 1000 },
      'MQTT login locked out after repeated wrong tokens',
    );
  }

  /** Remembered (station, address) pairs. */
  get size(): number {
    return this.#entries.size;
  }

  recordSuccess(stationId: string, address: string): void {
    this.#entries.delete(key(stationId, address));
  }

  /**
   * When full: forget expired pairs, at most one sweep per window so a flood cannot make every insert a full
   * scan; if still full, the oldest pair goes (it loses at most one lockout; filling the map costs a guesser
   * one scrypt per pair).
   */
  #makeRoom(now: number): void {
    if (this.#entries.size < MAX_LOCKOUT_KEYS) return;
    if (now - this.#lastSweep > this.policy.windowMs) {
      this.#lastSweep = now;
      for (const [k, entry] of this.#entries) {
        if (entry.lockedUntil <= now && now - entry.windowStart > this.policy.windowMs) this.#entries.delete(k);
      }
    }
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size < MAX_LOCKOUT_KEYS) break;
      this.#entries.delete(oldest);
    }
  }
}

function key(stationId: string, address: string): string {
  return `${stationId}|${address}`;
}
