import type { MinimumModel, RuleOverrides } from '../frost/index.js';
import { fitExcept, minimumRows } from './minimum-fit.js';
import { replayPrepared, type ReplayOptions, type ReplayResult } from './replay.js';
import type { NightLabel, RecordedReading, RecordedStation } from './types.js';

export interface LosoResult extends ReplayResult {
  /** The model each station was replayed with: fitted on every other station's nights. */
  models: Map<string, MinimumModel>;
}

/**
 * Leave one station out: each station's records are replayed through the engine with a minimum model fitted on the
 * labelled nights of all the other stations, so every decision scored is out of sample — the station, its climate and
 * its seasons were never seen by the model that judged them.
 */
export function replayLeaveOneStationOut(
  readingsByStation: Map<string, RecordedReading[]>,
  stations: readonly RecordedStation[],
  nights: readonly NightLabel[],
  opts: Omit<ReplayOptions, 'overrides' | 'cadenceMin'> & { overrides?: RuleOverrides } = {},
): LosoResult {
  const rows = minimumRows(readingsByStation, stations, nights);
  const models = new Map<string, MinimumModel>();
  for (const s of stations) {
    if (!readingsByStation.has(s.station)) continue;
    models.set(s.station, fitExcept(rows, s.station, `fitted without ${s.station}`));
  }
  const result = replayPrepared(readingsByStation, stations, {
    ...opts,
    overrides: (id) => {
      const model = models.get(id);
      return { ...opts.overrides, ...(model ? { minimumModel: model } : {}) };
    },
  });
  return { ...result, models };
}
