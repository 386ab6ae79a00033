import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { RejectReason, RejectRecorder } from '../../contracts/index.js';

/** One warning per station and reason per interval, so a misbehaving station cannot flood the log. */
const LOG_EVERY_MS = 60_000;

/**
 * Counts refused payloads by reason (`frostwatch_ingest_rejected_total`) and logs them with the station id.
 * Used by the broker consumer; the in-process gateway has its own metric of the same shape.
 */
export function createRejectRecorder(registry: Registry, logger: Logger, now: () => number = Date.now): RejectRecorder {
  const counter = new Counter({
    name: 'frostwatch_ingest_rejected_total',
    help: 'Readings or messages refused by the ingest, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const lastLogged = new Map<string, number>();
  return {
    reject(stationId, reason, count = 1) {
      counter.inc({ reason }, count);
      const key = `${stationId ?? '-'}|${reason}`;
      const last = lastLogged.get(key);
      if (last !== undefined && now() - last < LOG_EVERY_MS) return;
      if (lastLogged.size > 10_000) lastLogged.clear();
      lastLogged.set(key, now());
      logger.warn({ stationId, reason, count }, 'payload refused');
    },
  };
}

export function rejectCounts(rejects: readonly RejectReason[]): Map<RejectReason, number> {
  const counts = new Map<RejectReason, number>();
  for (const reason of rejects) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return counts;
}
