import { nightOf } from '../contracts/index.js';
import { localHour } from './local-time.js';
import type { Rules } from './rules.js';
import type { StationContext } from './types.js';

/** 15:00 local → sunrise: the part of the day in which the ladder may climb. */
export interface RiskWindow {
  inRisk: boolean;
  inWatchHours: boolean;
  /** The night this instant belongs to (by day: the coming night), from contracts/solar.ts. */
  sunsetMs: number;
  sunriseMs: number;
}

export function inRiskWindow(ctx: StationContext, t: number, rules: Rules): RiskWindow {
  const night = nightOf(ctx.lat, ctx.lon, t);
  const hour = localHour(t, ctx.timeZone);
  const inWatchHours = hour >= rules.watchStartHour && hour < rules.watchEndHour;
  const inRisk = t < night.sunriseMs && (t >= night.sunsetMs || hour >= rules.watchStartHour);
  return { inRisk, inWatchHours, ...night };
}
