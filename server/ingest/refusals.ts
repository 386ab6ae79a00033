import type { RefusalTally, RejectReason } from '../../contracts/index.js';

export interface StationRefusal {
  reason: RejectReason;
  count: number;
  lastAtMs: number;
}

/**
 * What each station's device had refused since this process started, by reason: a sensor sending a field out of
 * range, a codec failing, a Tasmota on the wrong topic shows up beside its station, not only in the log and a
 * metric. In memory and bounded: a restart starts the tally afresh (the metrics and the log keep the history).
 */
export class StationRefusals implements RefusalTally {
  readonly #byStation = new Map<string, Map<RejectReason, StationRefusal>>();
  readonly #maxStations: number;

  constructor(maxStations = 100_000) {
    this.#maxStations = maxStations;
  }

  record(stationId: string, reason: RejectReason, count: number, atMs: number): void {
    let reasons = this.#byStation.get(stationId);
    if (!reasons) {
      if (this.#byStation.size >= this.#maxStations) this.#byStation.clear();
      reasons = new Map();
      this.#byStation.set(stationId, reasons);
    }
    const seen = reasons.get(reason);
    reasons.set(reason, { reason, count: (seen?.count ?? 0) + count, lastAtMs: Math.max(seen?.lastAtMs ?? atMs, atMs) });
  }

  /** The station's refusals, most recent first; empty when none. */
  of(stationId: string): StationRefusal[] {
    return [...(this.#byStation.get(stationId)?.values() ?? [])].sort((a, b) => b.lastAtMs - a.lastAtMs);
  }
}
