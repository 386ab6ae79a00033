import { timingSafeEqual } from 'node:crypto';
import type { StationAuthenticator, TokenCheck } from '../../contracts/index.js';
import { REVOKED_TOKEN_HASH, sha256, verifyToken } from './station-tokens.js';
import { TokenKey } from './token-key.js';

/** Where stored token hashes come from (the StationRepository). Read on every CONNECT. */
export interface TokenHashSource {
  tokenHash(stationId: string): string | null;
  /** The key of the stored `hmac-sha256$…` hashes. */
  readonly tokenKey: TokenKey;
  /** Compare-and-set of a verified legacy hash to the token's keyed hash; the new stored hash, or null if it had changed. */
  upgradeTokenHash(stationId: string, verifiedHash: string, token: Buffer): string | null;
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
 * Verifies MQTT credentials against the hash stored in SQLite *now*, so a rotated or revoked token is refused at
 * the very next CONNECT. A keyed hash (token-key.ts) is checked synchronously in microseconds; a legacy scrypt hash
 * (a token issued before the keyed hash) costs one scrypt, once: on success it is replaced by the token's keyed hash.
 *
 * The memory of successes is no longer there for speed (checking a keyed hash costs what checking the cache did).
 * It stays for the lockout: while a (station, address) is locked out only a token already verified since start
 * gets in (`verifyCached`, gateway/authenticate.ts), so the honest station behind a guesser's carrier NAT keeps
 * its access while the guesser is refused even the right token.
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

  verify(stationId: string, token: Buffer): Promise<TokenCheck> {
    const storedHash = this.#source.tokenHash(stationId);
    if (storedHash === null || storedHash === REVOKED_TOKEN_HASH) return Promise.resolve(this.#gone(stationId, storedHash));
    if (this.#source.tokenKey.matches(token, storedHash)) return Promise.resolve(this.#success(stationId, storedHash, token));
    // A keyed hash that did not match (or was made under another key) is a plain refusal; anything else may be scrypt.
    if (TokenKey.isKeyedHash(storedHash)) return Promise.resolve('bad_token');
    return this.#verifyLegacy(stationId, token, storedHash);
  }

  /** Every answer that needs no hash at all: unknown, revoked, or this very token verified since start; else null. */
  verifyCached(stationId: string, token: Buffer): TokenCheck | null {
    const storedHash = this.#source.tokenHash(stationId);
    if (storedHash === null || storedHash === REVOKED_TOKEN_HASH) return this.#gone(stationId, storedHash);
    return this.#cacheHit(stationId, storedHash, sha256(token)) ? 'ok' : null;
  }

  /** Number of remembered stations (for metrics and tests). */
  get size(): number {
    return this.#cache.size;
  }

  /** The station was deleted or its token revoked: forget its success too. */
  #gone(stationId: string, storedHash: string | null): TokenCheck {
    this.#cache.delete(stationId);
    return storedHash === null ? 'unknown_station' : 'revoked';
  }

  async #verifyLegacy(stationId: string, token: Buffer, verifiedHash: string): Promise<TokenCheck> {
    if (!(await verifyToken(token, verifiedHash))) return 'bad_token';
    // scrypt took a while: what is stored *now* decides. Still the verified hash → replace it by the keyed hash.
    const upgraded = this.#upgrade(stationId, verifiedHash, token);
    if (upgraded !== null) return this.#success(stationId, upgraded, token);
    const now = this.#source.tokenHash(stationId);
    if (now === null || now === REVOKED_TOKEN_HASH) return this.#gone(stationId, now);
    // The write failed but nothing changed; or a concurrent login of the same token upgraded it first.
    if (now === verifiedHash || this.#source.tokenKey.matches(token, now)) return this.#success(stationId, now, token);
    return 'bad_token'; // rotated meanwhile: this token is the old one
  }

  /** The upgrade is an optimisation: a registry that cannot take the write (busy, read-only) must not refuse a good token. */
  #upgrade(stationId: string, verifiedHash: string, token: Buffer): string | null {
    try {
      return this.#source.upgradeTokenHash(stationId, verifiedHash, token);
    } catch {
      return null;
    }
  }

  #success(stationId: string, storedHash: string, token: Buffer): TokenCheck {
    this.#remember(stationId, { storedHash, tokenDigest: sha256(token) });
    return 'ok';
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
