import type { StationOverview } from '../../contracts/dashboard.js';

export type Shade = 'none' | 'watch' | 'warning' | 'severe' | 'offline';

/** Offline wins over the frost level: a silent station's level is stale, and the officer must go look. */
export function shadeOf(row: Pick<StationOverview, 'level' | 'online'>): Shade {
  return row.online === false ? 'offline' : row.level;
}

export const SHADE_COLOR: Record<Shade, string> = {
  none: '#2e9d4f',
  watch: '#e8c31c',
  warning: '#f07f16',
  severe: '#d7263d',
  offline: '#8a8f98',
};
