import { farmNow, farmTimeZone } from './time-zone.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The farms' calendar (time-zone.ts): dates as YYYY-MM-DD (sv-SE formats them that way) and wall-clock hours of a
 * farm date as instants. "Today" is the server's clock (farmNow) read in the farms' zone.
 */
export function farmDate(offsetDays = 0, nowMs = farmNow()): string {
  return new Date(nowMs + offsetDays * DAY_MS).toLocaleDateString('sv-SE', { timeZone: farmTimeZone() });
}

/** The date `days` after a YYYY-MM-DD date (calendar arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The zone's offset from UTC at an instant, as it reads there. */
function offsetMs(atMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: farmTimeZone(),
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(atMs);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - Math.floor(atMs / 1000) * 1000;
}

/** The instant (epoch ms) of `hour` o'clock on a farm date; 31 is 07:00 the next morning (a night's end). */
export function farmWallMs(date: string, hour: number): number {
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d) + hour * HOUR_MS;
  const first = wall - offsetMs(wall);
  return wall - offsetMs(first); // twice: right on either side of a daylight-saving change
}

/** A night runs from 18:00 of its evening to 07:00 the next morning (frost/forecast-night.ts), in epoch seconds. */
export const NIGHT_HOURS = { from: 18, to: 24 + 7 } as const;
export function nightSpanS(night: string): { from: number; to: number } {
  return { from: farmWallMs(night, NIGHT_HOURS.from) / 1000, to: farmWallMs(night, NIGHT_HOURS.to) / 1000 };
}
