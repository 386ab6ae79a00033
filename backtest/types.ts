import type { Crop } from '../contracts/index.js';

/**
 * The backtest's data: recorded readings and station facts as read from CSV, the nights' labels, and the decisions
 * the server's own rule engine made when those readings were replayed through it on a simulated clock.
 */

/** One recorded reading (`--readings FILE.csv`: station,ts_utc,air_temp_c[,rh_pct,dew_point_c,wind_ms,leaf_temp_c]). */
export interface RecordedReading {
  station: string;
  ts: number;
  airC: number;
  rhPct: number | null;
  /** Measured dew point when the file has one; otherwise derived from rh_pct where needed. */
  dewC: number | null;
  windMs: number | null;
  leafC: number | null;
}

/** One station (`--stations FILE.csv`: station,lat,lon,elevation_m[,time_zone,crop]). */
export interface RecordedStation {
  station: string;
  lat: number;
  lon: number;
  elevationM: number;
  timeZone: string;
  crop: Crop;
}

/** One labelled night (`--nights FILE.csv`, the nights.csv layout). */
export interface NightLabel {
  nightId: string;
  station: string;
  kind: 'frost' | 'near_miss';
  sunsetMs: number;
  sunriseMs: number;
  /** The 2 m minimum and when it came, as the labels say. */
  minAirC: number;
  timeOfMinMs: number;
}

/** A decision of the engine, as `--json` writes it (`at` is ISO UTC). */
export interface BacktestDecision {
  station: string;
  at: string;
  atMs: number;
  kind: 'frost' | 'station_offline' | 'sensor_fault' | 'low_battery';
  /** The frost level moved to ('watch' | 'warning' | 'severe' | 'all_clear'), or 'raised' | 'cleared' for officer alerts. */
  to: string;
  notify: boolean;
  reason: string;
}
