import { FROST_RANK, type StationOverview } from '../../contracts/index.js';
import type { StationRecord } from '../registry/stations.js';
import type { StationView } from '../warnings/rule-engine.js';
import type { Fault } from './alert-queries.js';

export interface Activity {
  lastSeenAt: number | null;
  online: boolean | null;
}

/** One overview row from the registry entry, the engine's state (null before its first reading) and the open faults. */
export function stationOverview(
  station: StationRecord,
  state: StationView | null,
  activity: Activity,
  faults: readonly Fault[],
): StationOverview {
  const inputs = state?.lastInputs ?? null;
  const newest = state?.newest;
  const row: Omit<StationOverview, 'risk'> = {
    id: station.id,
    name: station.name,
    commune: station.commune,
    districtId: station.districtId,
    lat: station.lat,
    lon: station.lon,
    elevationM: station.elevationM,
    level: state?.level ?? 'none',
    airTempC: inputs?.airTempC ?? null,
    dewPointC: inputs?.dewPointC ?? null,
    forecastMinC: inputs?.forecastMinC ?? null,
    forecastMinAtMs: inputs?.forecastMinAtMs ?? null,
    batteryV: inputs?.batteryV ?? newest?.batteryV ?? null,
    lastSeenAt: activity.lastSeenAt === null ? null : new Date(activity.lastSeenAt).toISOString(),
    online: activity.online,
    faults: [...faults].sort(),
  };
  return { ...row, risk: riskOf(row) };
}

/**
 * 0 … 100, ordered as an officer triages: the ladder level first (30 points a rung), then how cold the
 * forecast minimum is (up to 8 points, from +8 °C down to −4 °C), then open faults (up to 2).
 * The bands never overlap, so sorting by risk is sorting by level, then forecast, then faults.
 */
export function riskOf(row: Pick<StationOverview, 'level' | 'forecastMinC' | 'faults'>): number {
  const level = FROST_RANK[row.level] * 30;
  const forecast = row.forecastMinC === null ? 0 : clamp(((8 - row.forecastMinC) / 12) * 8, 0, 8);
  const faults = Math.min(2, row.faults.length * 0.75);
  return Math.round((level + forecast + faults) * 10) / 10;
}

export { byRisk } from '../../contracts/dashboard.js';

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
