import { localMidnightMs } from '../dashboard/reports.js';

/** Calendar dates in the farms' zone, as YYYY-MM-DD (sv-SE formats dates that way). */
export function localDate(ms: number, timeZone: string): string {
  return new Date(ms).toLocaleDateString('sv-SE', { timeZone });
}

export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

export { localMidnightMs };
