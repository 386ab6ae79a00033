import { type Chart, type ChartRange, type ReadingOut, nightOf, sunTimes } from '../../contracts/index.js';
import { type Rules, dewPointC, ffstCurveC } from '../../frost/index.js';
import type { StationRecord } from '../registry/stations.js';
import type { StationView } from '../warnings/rule-engine.js';
import type { Marker } from './alert-queries.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * InfluxDB window per range, so every chart has ~700–1,500 points whatever the span: a season of one-minute
 * readings is 170,000 rows raw, 1,440 at 2 h.
 */
export const CHART_WINDOWS: Record<ChartRange, { every: string; everyMs: number }> = {
  night: { every: '1m', everyMs: MINUTE_MS },
  '24h': { every: '2m', everyMs: 2 * MINUTE_MS },
  '7d': { every: '15m', everyMs: 15 * MINUTE_MS },
  season: { every: '2h', everyMs: 2 * HOUR_MS },
};
/** The chart of a night starts 2 h before sunset (the evening cooling) and ends 3 h after sunrise (the all-clear). */
export const NIGHT_BEFORE_SUNSET_MS = 2 * HOUR_MS;
export const NIGHT_AFTER_SUNRISE_MS = 3 * HOUR_MS;
export const SEASON_DAYS = 120;
/** Step of the FFST curve; the curve is smooth, 15 min is plenty. */
const FORECAST_STEP_MS = 15 * MINUTE_MS;

export interface ChartInputs {
  station: StationRecord;
  range: ChartRange;
  nowMs: number;
  rules: Rules;
  view: StationView | null;
  query(range: { fromMs: number; toMs: number; every: string }): Promise<ReadingOut[]>;
  markers(fromMs: number, toMs: number): Marker[];
}

/** The window of a range at `nowMs`; `night` is the current night, or by day the last one until 2 h before sunset. */
export function chartWindow(
  station: Pick<StationRecord, 'lat' | 'lon'>,
  range: ChartRange,
  nowMs: number,
): { fromMs: number; toMs: number } {
  if (range === '24h') return { fromMs: nowMs - DAY_MS, toMs: nowMs };
  if (range === '7d') return { fromMs: nowMs - 7 * DAY_MS, toMs: nowMs };
  if (range === 'season') return { fromMs: nowMs - SEASON_DAYS * DAY_MS, toMs: nowMs };
  let night = nightOf(station.lat, station.lon, nowMs);
  if (nowMs < night.sunsetMs - NIGHT_BEFORE_SUNSET_MS) {
    night = nightOf(station.lat, station.lon, sunTimes(station.lat, station.lon, nowMs).sunriseMs - MINUTE_MS);
  }
  return { fromMs: night.sunsetMs - NIGHT_BEFORE_SUNSET_MS, toMs: night.sunriseMs + NIGHT_AFTER_SUNRISE_MS };
}

export async function buildChart(input: ChartInputs): Promise<Chart> {
  const { range, rules } = input;
  const { every, everyMs } = CHART_WINDOWS[range];
  const { fromMs, toMs } = chartWindow(input.station, range, input.nowMs);
  const rows = await input.query({ fromMs, toMs, every });
  const byWindow = new Map(rows.map((r) => [Date.parse(r.ts), r]));
  // InfluxDB aligns GROUP BY time() windows to the epoch; the grid does too, and a missing window is a null (a gap).
  const chart: Chart = {
    stationId: input.station.id,
    range,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    every,
    x: [],
    airTempC: [],
    airTempMinC: [],
    dewPointC: [],
    leafEstC: [],
    thresholds: {
      watchC: rules.watchForecastMinC,
      warningC: rules.warningMinC,
      severeC: rules.severeForecastMinC,
      leafOffsetC: rules.leafOffsetC,
    },
    forecast: forecastCurve(input.view, fromMs, toMs),
    markers: input.markers(fromMs, toMs).map((m) => ({ at: m.atMs / 1_000, transition: m.transition, level: m.level, reason: m.reason })),
  };
  for (let t = Math.floor(fromMs / everyMs) * everyMs; t <= toMs; t += everyMs) {
    const r = byWindow.get(t);
    const air = r?.airTempC ?? null;
    const rh = r?.rhPct ?? null;
    chart.x.push(t / 1_000);
    chart.airTempC.push(air);
    chart.airTempMinC.push(r?.airTempMinC ?? air);
    chart.dewPointC.push(air !== null && rh !== null && rh > 0 ? round2(dewPointC(air, Math.min(rh, 100))) : null);
    chart.leafEstC.push(r?.leafTempC ?? (air === null ? null : round2(air - rules.leafOffsetC)));
  }
  return chart;
}

/** Tonight's FFST curve from T₂ (sunset + 2 h) to sunrise, when the engine has T₂ and a forecast for this chart's night. */
function forecastCurve(state: StationView | null, fromMs: number, toMs: number): Chart['forecast'] {
  const night = state?.night;
  const tp = state?.lastInputs?.forecastMinC ?? null;
  if (!night || night.t2C === null || tp === null || night.ffstVoid) return null;
  const startMs = night.sunsetMs + 2 * HOUR_MS;
  if (night.sunriseMs < fromMs || startMs > toMs) return null;
  const x: number[] = [];
  const c: number[] = [];
  const at = (t: number): void => {
    x.push(Math.round(t / 1_000));
    c.push(round2(ffstCurveC(night.t2C ?? tp, tp, night.sunsetMs, night.sunriseMs, t)));
  };
  for (let t = startMs; t < night.sunriseMs; t += FORECAST_STEP_MS) at(t);
  at(night.sunriseMs);
  return { x, c };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
