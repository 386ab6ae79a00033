import { nightOf, type Reading, type ReadingOut } from '../../contracts/index.js';
import { fitFfst, type NightFeatures, nightFeatures } from '../../frost/index.js';
import type { StationRecord } from '../registry/stations.js';
import type { StoredFfstModel } from './station-settings.js';

const DAY_MS = 86_400_000;
/** 10-minute means are plenty to find T₂, Td₂ and the minimum, and keep a season within one query. */
const FIT_EVERY = '10m';

export interface FitReport {
  model: StoredFfstModel;
  nightsSeen: number;
  /** Radiative nights (calm, or no wind sensor) with T₂, Td₂ and a minimum: the ones fitted. */
  nightsUsed: number;
}

export type FitResult = { ok: true; report: FitReport } | { ok: false; reason: string };

/**
 * `frostwatch model fit`: the FFST minimum forecast fitted to one station's own radiative nights
 * (Snyder & de Melo-Abreu 2005, ch. 5: fit per station, on clear calm nights, at least a season).
 */
export async function fitStationModel(args: {
  station: StationRecord;
  fromMs: number;
  toMs: number;
  query: (q: { fromMs: number; toMs: number; every: string }) => Promise<ReadingOut[]>;
  nowMs: number;
}): Promise<FitResult> {
  const { station } = args;
  const rows = await args.query({ fromMs: args.fromMs, toMs: args.toMs, every: FIT_EVERY });
  const readings = rows.flatMap(toReading);
  const nights: NightFeatures[] = [];
  const visited = new Set<number>();
  let seen = 0;
  for (let day = args.fromMs; day < args.toMs; day += DAY_MS) {
    const { sunsetMs, sunriseMs } = nightOf(station.lat, station.lon, day);
    if (sunriseMs > args.toMs || visited.has(sunsetMs)) continue;
    visited.add(sunsetMs);
    const inNight = readings.filter((r) => r.ts >= sunsetMs - 3_600_000 && r.ts <= sunriseMs + 3_600_000);
    const features = nightFeatures(inNight, sunsetMs, sunriseMs);
    if (!features) continue;
    seen += 1;
    if (features.radiative !== false && features.td2C !== null) nights.push(features);
  }
  try {
    const fit = fitFfst(nights);
    return {
      ok: true,
      report: {
        model: { a: fit.a, b: fit.b, c: fit.c, n: fit.n, rmseC: fit.rmseC, fittedAt: args.nowMs },
        nightsSeen: seen,
        nightsUsed: nights.length,
      },
    };
  } catch (err) {
    return {
      ok: false,
      reason: `cannot fit ${station.id} from ${nights.length} radiative nights of ${seen}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function toReading(row: ReadingOut): Reading[] {
  if (row.airTempC === null) return [];
  return [
    {
      ts: Date.parse(row.ts),
      airTempC: row.airTempC,
      ...(row.rhPct == null ? {} : { rhPct: row.rhPct }),
      ...(row.windMs == null ? {} : { windMs: row.windMs }),
    },
  ];
}
