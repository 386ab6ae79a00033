import type { Logger } from 'pino';

/** One warning per reason per interval: a flood of refusals must not become a flood of log lines. */
const LOG_EVERY_MS = 60_000;

export type LimitLog = (reason: string, fields: Record<string, unknown>, message: string) => void;

/** Logs the first refusal of each reason, then at most one line per minute saying how many were held back. */
export function createLimitLog(logger: Logger, now: () => number = Date.now): LimitLog {
  const windows = new Map<string, { loggedAt: number; suppressed: number }>();
  return (reason, fields, message) => {
    const at = now();
    const window = windows.get(reason);
    if (window && at - window.loggedAt < LOG_EVERY_MS) {
      window.suppressed += 1;
      return;
    }
    windows.set(reason, { loggedAt: at, suppressed: 0 });
    logger.warn({ ...fields, reason, suppressedSinceLastLog: window?.suppressed ?? 0 }, message);
  };
}
