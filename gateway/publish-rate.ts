import type { AedesOptions, Client } from 'aedes';
import type { Counter } from 'prom-client';
import type { Identities } from './identity.js';
import type { LimitLog } from './limit-log.js';
import type { PublishLimits } from './limits.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

export interface PublishRateDeps {
  limits: PublishLimits;
  /** Simulated seconds per real second (Clock.speed): an accelerated simulation publishes that much faster. */
  speed: number;
  identities: Identities;
  throttled: Counter<'outcome'>;
  log: LimitLog;
  /** Monotonic milliseconds; passed in so a test can drive time. */
  now?: () => number;
}

export interface PublishRateLimit {
  authorizePublish: AuthorizePublish;
  /** Cancels publishes still waiting for their turn; idempotent. */
  close(): void;
}

/**
 * Per-station publish rate, as a GCRA (a token bucket of `publishBurst`, refilled at `publishesPerS`).
 * A publish over the rate is not refused but held: its authorizePublish answers later, so its PUBACK comes later,
 * and aedes reads nothing more from that socket until the batch it parsed is handled — TCP pushes back on the peer
 * and nothing piles up here. A publish that would wait more than `maxPublishDelayMs` closes the connection
 * (no PUBACK: an honest station keeps the reading and resends after reconnecting). Only stations are limited;
 * the server's service account is our own process.
 */
export function limitPublishRate(inner: AuthorizePublish, deps: PublishRateDeps): PublishRateLimit {
  const { limits, identities, throttled, log } = deps;
  const now = deps.now ?? (() => performance.now());
  const intervalMs = 1_000 / (limits.publishesPerS * Math.max(1, deps.speed));
  const toleranceMs = (limits.publishBurst - 1) * intervalMs;
  // Theoretical arrival time of each station connection's next conforming publish.
  const tat = new WeakMap<Client, number>();
  const over = new WeakSet<Client>();
  const waiting = new Set<NodeJS.Timeout>();

  const authorizePublish: AuthorizePublish = (client, packet, callback) => {
    // A will is published after its client closed: never held back, whatever that client did before.
    if (client === null || client.closed || identities.get(client)?.kind !== 'station') {
      inner(client, packet, callback);
      return;
    }
    const at = now();
    const next = Math.max(tat.get(client) ?? at, at);
    const waitMs = next - toleranceMs - at;
    if (waitMs > limits.maxPublishDelayMs) {
      if (!over.has(client)) {
        over.add(client);
        throttled.inc({ outcome: 'disconnected' });
        log(
          'publish_rate',
          { stationId: identities.stationOf(client), clientId: client.id, publishesPerS: limits.publishesPerS },
          'station over its publish rate; connection closed',
        );
      }
      callback(new Error('publish rate exceeded'));
      return;
    }
    tat.set(client, next + intervalMs);
    if (waitMs <= 0) {
      inner(client, packet, callback);
      return;
    }
    throttled.inc({ outcome: 'delayed' });
    const timer = setTimeout(() => {
      waiting.delete(timer);
      if (client.closed) callback(new Error('connection closed while throttled'));
      else inner(client, packet, callback);
    }, waitMs);
    waiting.add(timer);
  };

  return {
    authorizePublish,
    close() {
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
}
