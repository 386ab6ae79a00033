import { localHourMinute } from '../../frost/local-time.js';

/**
 * QUIET_HOURS (contracts/env.ts): local hours when what can wait waits — the all-clear and the morning survey call.
 * The night's warnings are never held: the planner asks only for those purposes, and a held row heads no queue
 * (outbox.ts), so a Severe call or SMS to the same phone never waits behind it.
 */
export interface QuietHours {
  /** Clock time at which the quiet hours that contain `ms` end; null when `ms` is not in quiet hours. */
  holdUntil(ms: number): number | null;
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;

export const NO_QUIET_HOURS: QuietHours = { holdUntil: () => null };

/** `HH:MM-HH:MM` (may wrap past midnight) or `off`, in the farms' zone. */
export function parseQuietHours(spec: string, timeZone: string): QuietHours {
  if (spec === 'off') return NO_QUIET_HOURS;
  const match = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(spec);
  if (!match) throw new Error(`QUIET_HOURS: expected HH:MM-HH:MM or off, got ${spec}`);
  const [from, to] = [Number(match[1]) * 60 + Number(match[2]), Number(match[3]) * 60 + Number(match[4])];
  if (from === to) return NO_QUIET_HOURS;
  return {
    holdUntil(ms) {
      const { hour, minute } = localHourMinute(ms, timeZone);
      const now = hour * 60 + minute;
      const quiet = from < to ? now >= from && now < to : now >= from || now < to;
      if (!quiet) return null;
      const minutesLeft = (to - now + DAY_MINUTES) % DAY_MINUTES;
      return Math.floor(ms / MINUTE_MS) * MINUTE_MS + minutesLeft * MINUTE_MS;
    },
  };
}
