import { timingSafeEqual } from 'node:crypto';
import type { StationAuthenticator, TokenCheck } from '../../contracts/index.js';
import { REVOKED_TOKEN_HASH, sha256, verifyToken } from './station-tokens.js';

/** Where stored token hashes come from (the StationRepository). Read on every CONNECT. */
export interface TokenHashSource {
  tokenHash(stationId: string): string | null;
}

export interface CachingAuthenticatorOptions {
  /** Most stations remembered; about 150 bytes each. Default 20,000 (twice the planned fleet). */
  maxEntries?: number;
}

interface CacheEntry {
  storedHash: string;
  tokenDigest: Buffer;
}

/**
 * Verifies MQTT credentials with scrypt, and remembers successes so that 10,000 stations
 * reconnecting after a network outage do not cost 10,000 scrypt runs each time.
 * A remembered success counts only while the hash stored in SQLite *now* is the one it was
 * checked against, so a rotated token is refused at the very next CONNECT.
 */
export class CachingStationAuthenticator implements StationAuthenticator {
  readonly #source: TokenHashSource;
  readonly #maxEntries: number;
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the least recent.
  readonly #cache = new Map<string, CacheEntry>();

  constructor(source: TokenHashSource, options: CachingAuthenticatorOptions = {}) {
    this.#source = source;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 20_000);
  }

  async verify(stationId: string, token: Buffer): Promise<TokenCheck> {
    const fast = this.verifyCached(stationId, token);
    if (fast !== null) return fast;
    const storedHash = this.#source.tokenHash(stationId);
    if (storedHash === null) return 'unknown_station';
    if (!(await verifyToken(token, storedHash))) return 'bad_token';
    // scrypt took a while: a revocation or rotation in the meantime must win over this success.
    const now = this.#source.tokenHash(stationId);
    if (now !== storedHash) return changedMeanwhile(now);
    this.#remember(stationId, { storedHash, tokenDigest: sha256(token) });
    return 'ok';
  }

  /** Every answer that needs no scrypt: unknown, revoked, or this very token verified before; else null. */
  verifyCached(stationId: string, token: Buffer): TokenCheck | null {
    const storedHash = this.#source.tokenHash(stationId);
    if (storedHash === null || storedHash === REVOKED_TOKEN_HASH) {
      this.#cache.delete(stationId);
      return storedHash === null ? 'unknown_station' : 'revoked';
    }
    return this.#cacheHit(stationId, storedHash, sha256(token)) ? 'ok' : null;
  }

  /** Number of remembered stations (for metrics and tests). */
  get size(): number {
    return this.#cache.size;
  }

  #cacheHit(stationId: string, storedHash: string, tokenDigest: Buffer): boolean {
    const entry = this.#cache.get(stationId);
    if (!entry) return false;
    if (entry.storedHash !== storedHash) {
      this.#cache.delete(stationId);
      return false;
    }
    if (!timingSafeEqual(entry.tokenDigest, tokenDigest)) return false;
    this.#cache.delete(stationId);
    this.#cache.set(stationId, entry);
    return true;
  }

  #remember(stationId: string, entry: CacheEntry): void {
    this.#cache.delete(stationId);
    this.#cache.set(stationId, entry);
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (oldest.done) break;
      this.#cache.delete(oldest.value);
    }
  }
}

/** The answer for a token that matched a hash which has since been replaced, revoked or deleted. */
function changedMeanwhile(storedHash: string | null): TokenCheck {
  if (storedHash === null) return 'unknown_station';
  return storedHash === REVOKED_TOKEN_HASH ? 'revoked' : 'bad_token';
}
