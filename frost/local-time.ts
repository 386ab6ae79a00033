/**
 * Wall-clock time of a farm from epoch ms and an IANA zone, via Intl (deterministic for a given tz database:
 * still a pure function of its inputs). Formatters are cached per zone because building one is slow.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Results by zone and UTC minute. Every zone in use today is offset by whole minutes, so all instants of one UTC
 * minute share a local hour and minute; formatting is the costliest step of a reading otherwise. Cleared when it grows
 * (a night of readings touches ~1,000 minutes per zone).
 */
const byZone = new Map<string, Map<number, { hour: number; minute: number }>>();
const MAX_CACHED = 20_000;

export function localHourMinute(ms: number, timeZone: string): { hour: number; minute: number } {
  let byMinute = byZone.get(timeZone);
  if (!byMinute) byZone.set(timeZone, (byMinute = new Map<number, { hour: number; minute: number }>()));
  const key = Math.floor(ms / 60_000);
  const cached = byMinute.get(key);
  if (cached) return cached;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type === 'hour') hour = Number(part.value);
    if (part.type === 'minute') minute = Number(part.value);
  }
  if (byMinute.size >= MAX_CACHED) byMinute.clear();
  const result = Object.freeze({ hour, minute });
  byMinute.set(key, result);
  return result;
}

/** Local fractional hour, e.g. 15.5 at 15:30. */
export function localHour(ms: number, timeZone: string): number {
  const { hour, minute } = localHourMinute(ms, timeZone);
  return hour + minute / 60;
}

/** "05:40" in the farm's zone, for reasons. */
export function hhmm(ms: number, timeZone: string): string {
  const { hour, minute } = localHourMinute(ms, timeZone);
  return `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
}
