import { DEFAULT_TIME_ZONE } from '../../contracts/dashboard.js';

/**
 * The farms' time zone (the server's TZ_NAME, from /api/ui-config): every time on the dashboard is shown in it — the
 * stations' clock, wherever the officer's phone or laptop thinks it is. Lạc Dương's until the server has said.
 */
let zone = DEFAULT_TIME_ZONE;

export const farmTimeZone = (): string => zone;

export function setFarmTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone }); // a zone this browser does not know keeps the default
    zone = timeZone;
  } catch {
    /* keep the default */
  }
}

/**
 * The server's clock (/api/ui-config): real time in production; under a simulated night (`up --start --speed`) the
 * dashboard's "today" and "last night" follow the simulation. The browser's own clock until the server has said.
 */
let clock: { nowMs: number; speed: number; atMs: number } | null = null;

export function setFarmClock(server: { nowMs: number; speed: number } | undefined): void {
  clock = server ? { ...server, atMs: Date.now() } : null;
}

export function farmNow(): number {
  return clock === null ? Date.now() : clock.nowMs + (Date.now() - clock.atMs) * clock.speed;
}
