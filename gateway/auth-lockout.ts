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

/**
 * Failures counted across every gateway of a cluster (docs/scale-out.md), so that a guesser spreading its attempts over
 * the gateways behind a balancer gets one budget, not one per gateway. Keys are `<station>|<address>`; times come from
 * the gateway's clock, which every process of a cluster shares.
 */
export interface SharedLockout {
  /** A wrong token: counted; the lockout's end if the key is now locked (0: not), and whether this call began it. */
  failed(key: string): Promise<{ lockedUntil: number; began: boolean }>;
  /** The end of the key's lockout, 0 when there is none. */
  lockedUntil(key: string): Promise<number>;
  /** A right token: the key's count starts again. */
  succeeded(key: string): Promise<void>;
}

/** A shared store that failed is logged at most once a minute: a database down must not flood the log. */
const SHARED_ERROR_LOG_MS = 60_000;

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
  #sharedErrorLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly clock: Clock,
    private readonly logger: Logger,
    registry: Registry,
    /** A cluster's gateways count together; absent (one gateway): this process's memory only. */
    private readonly shared?: SharedLockout,
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

  /**
   * Locked here, or (in a cluster) by the failures the other gateways counted. A lockout learnt from the cluster is kept
   * here too, so the attempts that follow are refused without asking again. The shared store unreachable: this
   * gateway's own count decides (logged).
   */
  async check(stationId: string, address: string): Promise<boolean> {
    if (this.isLocked(stationId, address)) return true;
    if (!this.shared) return false;
    const k = key(stationId, address);
    let until: number;
    try {
      until = await this.shared.lockedUntil(k);
    } catch (err) {
      this.#sharedFailed(err);
      return false;
    }
    if (until <= this.clock.now()) return false;
    this.#adopt(k, until);
    return true;
  }

  /** A wrong token, counted here and across the cluster. */
  async fail(stationId: string, address: string): Promise<void> {
    const beganHere = this.recordFailure(stationId, address);
    if (!this.shared) return;
    const k = key(stationId, address);
    let outcome: { lockedUntil: number; began: boolean };
    try {
      outcome = await this.shared.failed(k);
    } catch (err) {
      this.#sharedFailed(err);
      if (beganHere) this.#begun(stationId, address);
      return;
    }
    if (outcome.lockedUntil > this.clock.now()) this.#adopt(k, outcome.lockedUntil);
    // Counted and logged by the gateway whose failure began it; a lockout of this gateway's own count alone, here.
    if (outcome.began || (beganHere && outcome.lockedUntil <= this.clock.now())) this.#begun(stationId, address);
  }

  /** A right token: the count starts again, here and across the cluster. */
  async succeed(stationId: string, address: string): Promise<void> {
    this.recordSuccess(stationId, address);
    try {
      await this.shared?.succeeded(key(stationId, address));
    } catch (err) {
      this.#sharedFailed(err);
    }
  }

  #adopt(k: string, lockedUntil: number): void {
    const entry = this.#entries.get(k);
    if (entry) entry.lockedUntil = Math.max(entry.lockedUntil, lockedUntil);
    else {
      this.#makeRoom(this.clock.now());
      this.#entries.set(k, { windowStart: this.clock.now(), failures: 0, lockedUntil });
    }
  }

  #begun(stationId: string, address: string): void {
    this.#lockouts.inc();
    // One line per lockout: at most one per (station, address) per cooldown, so the log cannot be flooded.
    this.logger.warn(
      { stationId, address: maskAddress(address), cooldownS: this.policy.cooldownMs / 1000 },
      'MQTT login locked out after repeated wrong tokens',
    );
  }

  #sharedFailed(err: unknown): void {
    const now = Date.now();
    if (now - this.#sharedErrorLoggedAt < SHARED_ERROR_LOG_MS) return;
    this.#sharedErrorLoggedAt = now;
    this.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      "MQTT login lockout: the cluster's shared count did not answer; this gateway's own count decides",
    );
  }

  isLocked(stationId: string, address: string): boolean {
    const entry = this.#entries.get(key(stationId, address));
    return entry !== undefined && entry.lockedUntil > this.clock.now();
  }

  /** A CONNECT refused while locked: counted; the lockout's start was logged already, so no log line per attempt. */
  refusedWhileLocked(): void {
    this.#refused.inc();
  }

  /** A wrong token counted in this process's memory; true when it began a lockout. */
  recordFailure(stationId: string, address: string): boolean {
    const now = this.clock.now();
    const k = key(stationId, address);
    let entry = this.#entries.get(k);
    if (entry === undefined || now - entry.windowStart > this.policy.windowMs) {
      this.#makeRoom(now);
      entry = { windowStart: now, failures: 0, lockedUntil: entry?.lockedUntil ?? 0 };
      this.#entries.set(k, entry);
    }
    entry.failures += 1;
    if (entry.failures < this.policy.maxFailures || entry.lockedUntil > now) return false;
    entry.lockedUntil = now + this.policy.cooldownMs;
    entry.failures = 0;
    entry.windowStart = now;
    // In a cluster, fail() logs it once, after hearing from the shared count.
    if (!this.shared) this.#begun(stationId, address);
    return true;
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
