import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Crop } from '../contracts/index.js';
import { loadNights, loadReadings, loadStations } from './csv.js';
import type { NightLabel, RecordedReading, RecordedStation } from './types.js';

/**
 * The real nights shipped with frostwatch, each folder in the frost-nights layout (observations.csv, nights.csv,
 * README.md with source and licence): DWD München 2018/19 in tests/fixtures, and the stations of datasets/real-nights.
 */
export function shippedDatasetDirs(root: string): string[] {
  const extra = join(root, 'datasets', 'real-nights');
  const sets = existsSync(extra)
    ? readdirSync(extra, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(extra, d.name))
        .sort()
    : [];
  return [join(root, 'tests', 'fixtures', 'frost-nights'), ...sets];
}

export interface Dataset {
  readings: RecordedReading[];
  stations: RecordedStation[];
  nights: NightLabel[];
}

/** Readings, stations and labels of dataset folders in the frost-nights layout, together. */
export function loadDatasets(dirs: readonly string[], crop: Crop = 'arabica'): Dataset {
  const out: Dataset = { readings: [], stations: [], nights: [] };
  for (const dir of dirs) {
    out.readings.push(...loadReadings(join(dir, 'observations.csv')).rows);
    out.stations.push(...loadStations(join(dir, 'nights.csv'), { crop }).rows);
    out.nights.push(...loadNights(join(dir, 'nights.csv')).rows);
  }
  return out;
}
