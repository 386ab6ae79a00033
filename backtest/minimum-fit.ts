import { fitMinimumModel, rulesFor, type MinimumModel, type MinimumRow } from '../frost/index.js';
import { contextOf, replayStation } from './replay.js';
import type { NightLabel, RecordedReading, RecordedStation } from './types.js';

/**
 * Training rows for the minimum model, read off the engine itself: each station's readings are replayed through the
 * server's rule engine, and after every reading between sunset and sunrise of a labelled night its assessed inputs —
 * the same 5-minute medians, dew point and trend the engine forecasts from — are paired with that night's minimum.
 * What the model is fitted on is what it will be given.
 */
export function minimumRows(
  readingsByStation: ReadonlyMap<string, readonly RecordedReading[]>,
  stations: readonly RecordedStation[],
  nights: readonly NightLabel[],
): Map<string, MinimumRow[]> {
  const rowsByStation = new Map<string, MinimumRow[]>();
  for (const station of stations) {
    const readings = readingsByStation.get(station.station);
    const labels = nights.filter((n) => n.station === station.station).sort((a, b) => a.sunsetMs - b.sunsetMs);
    if (!readings || labels.length === 0) continue;
    const rows: MinimumRow[] = [];
    let k = 0;
    replayStation(contextOf(station), rulesFor(station.crop), readings, (state, reading) => {
      const i = state.lastInputs;
      if (!i || i.readingTs !== reading.ts || i.airTempC === null || i.sunsetMs === null || i.sunriseMs === null) return;
      while (k < labels.length && (labels[k] as NightLabel).sunriseMs <= reading.ts) k += 1;
      const night = labels[k];
      if (!night || reading.ts < night.sunsetMs || Math.abs(night.sunsetMs - i.sunsetMs) > 5 * 60_000) return;
      rows.push({
        f: {
          airC: i.airTempC,
          dewC: i.dewPointC,
          trendCPerH: i.trendCPerH,
          sinceSunsetH: (reading.ts - i.sunsetMs) / 3_600_000,
          toSunriseH: (i.sunriseMs - reading.ts) / 3_600_000,
        },
        minC: night.minAirC,
      });
    });
    rowsByStation.set(station.station, rows);
  }
  return rowsByStation;
}

/** A model fitted on every station's rows but `leftOut`'s (null: on all of them). */
export function fitExcept(rowsByStation: ReadonlyMap<string, readonly MinimumRow[]>, leftOut: string | null, source: string): MinimumModel {
  const rows: MinimumRow[] = [];
  for (const [station, list] of rowsByStation) if (station !== leftOut) rows.push(...list);
  return fitMinimumModel(rows, source);
}
