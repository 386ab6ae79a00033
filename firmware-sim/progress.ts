import type { FleetStats } from './fleet.js';

/**
 * One status line for the CLI, e.g.
 * `sim 15/01 04:32 │ 12/12 online │ acked 8 412 │ buffered 36 │ dropped 0 │ coldest sim-01 −1.8 °C`
 * (simulated time in the farmers' time zone).
 */
export function renderProgress(stats: FleetStats, timeZone = 'Asia/Ho_Chi_Minh'): string {
  const when = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    day: '2-digit',
    month: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(new Date(stats.simTimeMs));
  const coldest = stats.coldest ? `${stats.coldest.stationId} ${formatC(stats.coldest.airTempC)}` : '—';
  const parts = [
    `sim ${when.replace(',', '')}`,
    `${stats.connected}/${stats.stations} online`,
    `acked ${count(stats.acked)}`,
    `buffered ${count(stats.buffered)}`,
    `dropped ${count(stats.dropped)}`,
    `coldest ${coldest}`,
  ];
  return parts.join(' │ ');
}

const count = (n: number): string => n.toLocaleString('en-US').replaceAll(',', ' ');
/** A real minus sign reads better than a hyphen on a terminal. */
const formatC = (c: number): string => `${c < 0 ? '−' : ''}${Math.abs(c).toFixed(1)} °C`;
