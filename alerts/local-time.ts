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

export function localHourMinute(ms: number, timeZone: string): { hour: number; minute: number } {
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(ms)) {
    if (part.type === 'hour') hour = Number(part.value);
    if (part.type === 'minute') minute = Number(part.value);
  }
  return { hour, minute };
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
