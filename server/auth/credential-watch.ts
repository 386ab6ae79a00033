import type { Logger } from 'pino';
import type { CredentialChanges, StationId } from '../../contracts/index.js';
import { type Db, isSqlite } from '../registry/db.js';
import type { StationRepository } from '../registry/stations.js';

/** How often SQLite is asked whether another process committed; the bound on how long a CLI revocation waits. */
const DEFAULT_POLL_MS = 2_000;

export interface CredentialWatch extends CredentialChanges {
  /** Stops polling; idempotent. */
  close(): void;
}

export interface CredentialWatchOptions {
  db: Db;
  stations: StationRepository;
  logger: Logger;
  pollMs?: number;
}

/**
 * Every rotation or revocation of a station token, wherever it was made: through this process's repository
 * (the HTTP API) at once, and through another process on the same SQLite file (`frostwatch station revoke`,
 * or the server while the gateway runs apart) within `pollMs`. SQLite's `data_version` changes only when
 * another connection commits, so an idle registry costs one pragma per poll and no table scan.
 */
export function watchCredentials(options: CredentialWatchOptions): CredentialWatch {
  const { db, stations, logger } = options;
  const listeners = new Set<(stationId: StationId) => void>();
  const emit = (stationId: StationId): void => {
    for (const listener of listeners) listener(stationId);
  };
  let hashes = stations.tokenHashes();
  let version = dataVersion(db);
  const unsubscribe = stations.onCredentialsChanged((stationId, change) => {
    // Our own commits do not move data_version: keep the snapshot current so a later poll neither repeats this
    // change nor misses a revocation, made elsewhere, of a station registered here since the last snapshot.
    // An upgrade (the same token's scrypt hash replaced by its keyed hash at login) must not read as a rotation later.
    const hash = stations.tokenHash(stationId);
    if (hash !== null) hashes.set(stationId, hash);
    if (change === 'rotated' || change === 'revoked') emit(stationId);
  });

  const poll = (): void => {
    const now = dataVersion(db);
    if (now === version) return;
    version = now;
    const next = stations.tokenHashes();
    for (const [id, hash] of hashes) if (next.get(id) !== hash) emit(id as StationId);
    hashes = next;
  };
  const timer = setInterval(() => {
    try {
      poll();
    } catch (error) {
      // A closed or busy database: the next CONNECT still reads the hash afresh, so only the live drop is late.
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'credential watch: registry check failed');
    }
  }, options.pollMs ?? DEFAULT_POLL_MS);
  timer.unref();

  let closed = false;
  return {
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
    },
  };
}

/**
 * SQLite: `data_version`. PostgreSQL has no such counter, and its sessions never share a file: every poll reads
 * the hashes (one indexed scan of `stations`, ~1 ms for 10,000) — NaN never equals itself, so `poll` always compares.
 */
function dataVersion(db: Db): number {
  return isSqlite(db) ? Number(db.pragma('data_version', { simple: true })) : Number.NaN;
}
