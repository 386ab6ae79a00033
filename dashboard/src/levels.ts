import type { StationOverview } from '../../contracts/dashboard.js';
import type { T } from './i18n.js';

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

/** The levels the server sends as plain strings (an alert's, a report's highest) that have words in i18n.ts. */
const LEVEL_WORDS = ['none', 'watch', 'warning', 'severe', 'raised'] as const;

/** A level in the officer's language ("nguy hiểm", not "severe"); an unknown one as the server sent it. */
export function levelText(level: string, t: T): string {
  const known = LEVEL_WORDS.find((l) => l === level);
  return known === undefined ? level : t(known);
}
