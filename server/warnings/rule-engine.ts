import type { DecisionInputs, FrostLevel, Reading } from '../../contracts/index.js';
import type { NightState, Sample, StationRuleState } from '../../frost/index.js';

/**
 * What the rest of the server sees of a station's rule state: its level, the inputs of its last decision, tonight, and
 * its newest sample — everything the dashboard draws, without the window of readings (hundreds of samples), which only
 * the engine needs. With the engine on a worker thread (engine-thread.ts) this is what crosses to the main thread.
 */
export interface StationView {
  level: FrostLevel;
  notifiedLevel: FrostLevel;
  lastInputs: DecisionInputs | null;
  night: NightState | null;
  newest: Sample | null;
}

export type StationViewListener = (stationId: string, view: StationView) => void;

/**
 * The rule engine as the server drives it: the in-process FrostEngine (frost-engine.ts) or the same engine on a worker
 * thread (engine-thread.ts, the default for `frostwatch up` and `frostwatch server`: RULE_ENGINE=thread).
 */
export interface RuleEngine {
  /** Readings of one station, as they became durable (live, or a backfill batch). Never blocks on the evaluation. */
  onReadings(stationId: string, readings: readonly Reading[]): void;
  /** Start the minute tick and the periodic state save. */
  start(): void;
  /** Stop the timers and save every state not yet saved. */
  close(): Promise<void>;
  /** Re-read the station's registry entry and settings at its next event (a new fitted model, new overrides). */
  forget(stationId: string): void;
  /** Told when a station's view may have changed; returns an unsubscribe. */
  onStationChanged(listener: StationViewListener): () => void;
  /** The engine's current view of a station (null before its first reading or tick since start). */
  viewOf(stationId: string): StationView | null;
  /** The whole rule state, window included: for tests and diagnosis, not for hot paths. */
  inspect(stationId: string): Promise<StationRuleState | null>;
  /** For /health: whether the engine is running, and how far behind the ingest it is. */
  check(): { ok: boolean; detail?: string };
}

export function viewOf(state: StationRuleState): StationView {
  return {
    level: state.level,
    notifiedLevel: state.notifiedLevel,
    lastInputs: state.lastInputs,
    night: state.night,
    newest: state.window.at(-1) ?? null,
  };
}

/** Whether two views differ in anything the dashboard shows (the engine's states are replaced, never edited). */
export function viewChanged(a: StationView | undefined, b: StationView): boolean {
  return (
    a === undefined ||
    a.level !== b.level ||
    a.notifiedLevel !== b.notifiedLevel ||
    a.lastInputs !== b.lastInputs ||
    a.night !== b.night ||
    a.newest?.ts !== b.newest?.ts
  );
}
