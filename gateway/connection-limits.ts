import type { Duplex } from 'node:stream';
import type { Counter } from 'prom-client';
import type { LimitLog } from './limit-log.js';
import type { ConnectionLimits } from './limits.js';

export type ConnectionRefusal = 'max_connections' | 'max_pending' | 'pending_per_address' | 'connect_timeout';

export interface ConnectionLimiter {
  /** Counts an accepted connection in, or closes it at once (false) when a limit is reached. */
  admit(conn: Duplex, remoteAddress: string | undefined): boolean;
  /** Its CONNACK accepted it: it no longer holds a pending slot nor runs against the connect timeout. */
  connected(conn: Duplex): void;
  /** Stops every connect timer; idempotent. */
  close(): void;
}

interface Pending {
  address: string | undefined;
  timer: NodeJS.Timeout;
}

/**
 * Bounds what peers that have not (yet) authenticated can hold: open connections overall, half-open ones overall
 * and per address, and the time from accept to CONNACK. A connection refused here never reaches the MQTT parser.
 * aedes' own connectTimeout stops only at the CONNECT packet; this one runs until the peer is authenticated (its
 * CONNACK follows at once), so a peer cannot hold a slot by dribbling its CONNECT byte by byte either.
 */
export function createConnectionLimiter(limits: ConnectionLimits, refused: Counter<'reason'>, log: LimitLog): ConnectionLimiter {
  const open = new Set<Duplex>();
  const pending = new Map<Duplex, Pending>();
  const pendingByAddress = new Map<string, number>();

  const release = (conn: Duplex): void => {
    const entry = pending.get(conn);
    if (!entry) return;
    clearTimeout(entry.timer);
    pending.delete(conn);
    if (entry.address === undefined) return;
    const left = (pendingByAddress.get(entry.address) ?? 1) - 1;
    if (left <= 0) pendingByAddress.delete(entry.address);
    else pendingByAddress.set(entry.address, left);
  };

  const refuse = (conn: Duplex, reason: ConnectionRefusal, remoteAddress: string | undefined): false => {
    refused.inc({ reason });
    log(reason, { remoteAddress, open: open.size, pending: pending.size }, 'MQTT connection refused by a limit');
    conn.destroy();
    return false;
  };

  const whichLimit = (address: string | undefined): ConnectionRefusal | null => {
    if (open.size >= limits.maxConnections) return 'max_connections';
    if (pending.size >= limits.maxPending) return 'max_pending';
    if (address !== undefined && (pendingByAddress.get(address) ?? 0) >= limits.maxPendingPerAddress) return 'pending_per_address';
    return null;
  };

  return {
    admit(conn, remoteAddress) {
      const limit = whichLimit(remoteAddress);
      if (limit !== null) return refuse(conn, limit, remoteAddress);
      open.add(conn);
      const timer = setTimeout(() => {
        if (!pending.has(conn)) return;
        release(conn);
        refuse(conn, 'connect_timeout', remoteAddress);
      }, limits.connectTimeoutMs);
      pending.set(conn, { address: remoteAddress, timer });
      if (remoteAddress !== undefined) pendingByAddress.set(remoteAddress, (pendingByAddress.get(remoteAddress) ?? 0) + 1);
      conn.once('close', () => {
        release(conn);
        open.delete(conn);
      });
      return true;
    },
    connected: release,
    close() {
      for (const conn of [...pending.keys()]) release(conn);
    },
  };
}
