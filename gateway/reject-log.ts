import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Clock, RefusalTally, RejectReason, RejectRecorder } from '../contracts/index.js';

/** One warning per station and reason per interval, so a flooding station cannot flood the log. */
const LOG_EVERY_MS = 60_000;
/** Bound on remembered (station, reason) keys; past it the memory is dropped, costing a few extra lines. */
const MAX_KEYS = 10_000;

/**
 * Counts every refusal, tallies it per station when a tally is given (shown with the station), and logs it with the
 * station id, rate-limited; reports how many lines it held back.
 */
export function createRejectLog(counter: Counter<'reason'>, logger: Logger, clock: Clock, tally?: RefusalTally): RejectRecorder {
  const windows = new Map<string, { loggedAt: number; suppressed: number }>();
  return {
    reject(stationId, reason: RejectReason, count = 1) {
      counter.inc({ reason }, count);
      const key = `${stationId ?? '-'}|${reason}`;
      const now = clock.now();
      if (stationId !== null) tally?.record(stationId, reason, count, now);
      const window = windows.get(key);
      if (window && now - window.loggedAt < LOG_EVERY_MS) {
        window.suppressed += count;
        return;
      }
      if (windows.size >= MAX_KEYS) windows.clear();
      windows.set(key, { loggedAt: now, suppressed: 0 });
      logger.warn({ stationId, reason, count, suppressedSinceLastLog: window?.suppressed ?? 0 }, 'payload refused');
    },
  };
}

export function countByReason(rejects: readonly RejectReason[]): Map<RejectReason, number> {
  const counts = new Map<RejectReason, number>();
  for (const reason of rejects) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return counts;
}
