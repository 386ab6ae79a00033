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
