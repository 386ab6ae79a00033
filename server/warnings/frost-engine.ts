import type { Statement } from '../registry/sql.js';
import type { Logger } from 'pino';
import {
  systemTimers,
  type Clock,
  type Decision,
  type Reading,
  type StationConfig,
  type StationId,
  type Timers,
} from '../../contracts/index.js';
import {
  type EngineEvent,
  type Rules,
  type StationContext,
  type StationRuleState,
  evaluate,
  initialState,
  rulesFor,
  wantsFastSampling,
} from '../../frost/index.js';
import { announce } from '../registry/change-feed.js';
import type { Db } from '../registry/db.js';
import type { StationRecord, StationRepository } from '../registry/stations.js';
import type { AlertStore, AppliedDecision } from './alert-store.js';
import type { StationSettingsStore } from './station-settings.js';
import { type RuleEngine, type StationView, type StationViewListener, viewOf } from './rule-engine.js';
import { decodeState, encodeState } from './state-codec.js';

/** Turns an applied decision into outbox rows; runs inside the engine's transaction. */
export interface NotificationPlanner {
  plan(applied: AppliedDecision, station: StationRecord): void;
}

/** Publishes a retained config to a station (in-process broker, or the server's MQTT client). */
export interface ConfigPublisher {
  publish(stationId: StationId, config: StationConfig): Promise<void>;
}

export interface FrostEngineOptions {
  db: Db;
  stations: StationRepository;
  settings: StationSettingsStore;
  alerts: AlertStore;
  planner: NotificationPlanner;
  clock: Clock;
  /** Real time for the minute tick and the state flush; default Node's timers. Tests pass fake ones. */
  timers?: Timers;
  logger: Logger;
  timeZone: string;
  sampling?: ConfigPublisher | undefined;
  /** After a transaction that may have enqueued messages: wake the notifier. */
  onCommitted?: () => void;
  /** Sampling asked of stations on a risky night, and by day / on safe nights. */
  fastIntervalS?: number;
  relaxedIntervalS?: number;
  /**
   * The stations this engine decides for; default all. A cluster worker (server/cluster/worker.ts) owns the stations of
   * its partitions only: it ticks those, and reads any other's view from its saved state without taking it on.
   */
  owns?: (stationId: string) => boolean;
}

/** A saved state newer than the one this engine holds: another engine has decided for the station since. */
export class StaleStationState extends Error {
  constructor(readonly stationId: string) {
    super(`the saved rule state of ${stationId} is newer than this engine's: reloading it`);
    this.name = 'StaleStationState';
  }
}

interface Tracked {
  station: StationRecord;
  ctx: StationContext;
  rules: Rules;
  state: StationRuleState;
  /** Real time (the timers') at which ctx/rules are re-read from the registry (settings may change elsewhere). */
  refreshAtMs: number;
  intervalS: number | null;
}

/** Real milliseconds the timer's tick uses one reading of the registry's station list. */
const TICK_LIST_MS = 10_000;
/** Real milliseconds a station's registry entry and settings are trusted before they are read again. */
const REFRESH_MS = 5 * 60_000;
/**
 * How often states that changed without a decision are saved. After a crash the engine resumes from a state at
 * most this old: the readings in between were acknowledged and are in InfluxDB, but the rules' window misses them
 * (a level may then need its few hold readings again); every decision, and the state that led to it, is saved at once.
 */
const STATE_FLUSH_MS = 1_000;
/**
 * How long one slice of a periodic flush may hold the event loop. A whole fleet's states in one synchronous
 * transaction held it — and so every PUBACK and every alert — for ~280 ms with 1,000 busy stations (bench
 * alert-latency, p99). A slice of a fixed 64 stations still took 10–20 ms once their windows were full (each state is
 * serialised whole); a slice now ends after this budget (one state past it at most), and the next one waits for the
 * event loop's turn, so a reading arriving meanwhile waits a few milliseconds at most.
 */
const FLUSH_SLICE_MS = 4;
/**
 * The guarded save of rule states: a state never overwrites one that has seen a newer reading (an engine that lost the
 * station to another, a replayed reading). A refused save changes no row, and the caller reloads (docs/scale-out.md).
 * One row or many: `SAVE_STATE_HEAD`, `SAVE_STATE_ROW` joined by commas, `SAVE_STATE_GUARD` (values go as parameters).
 */
const SAVE_STATE_HEAD = 'INSERT INTO station_rule_state (station_id, state, updated_at, reading_at) VALUES ';
const SAVE_STATE_ROW = '(?, ?, ?, ?)';
const SAVE_STATE_GUARD =
  ' ON CONFLICT (station_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, reading_at = excluded.reading_at' +
  ' WHERE station_rule_state.reading_at IS NULL OR station_rule_state.reading_at <= COALESCE(excluded.reading_at, -1)';
/** Most stations one save statement carries. */
const SAVE_ROWS = 64;

/**
 * The imperative shell around the pure rule engine (frost/): feeds it every reading as the ingest receives it
 * (while the spool makes it durable) and a tick a minute, and applies its decisions — alert history, rule state and
 * outbox rows in ONE SQLite transaction, so a crash leaves all or none. A reading whose decisions could not be committed
 * (SQLite locked) is still acknowledged — it is durable in the spool — but leaves the state unadvanced, so the next
 * reading decides the same again: delayed, not lost (docs/reliability.md). A reading seen again (a station resending
 * after a lost PUBACK) is ignored: the window already holds its timestamp.
 */
export class FrostEngine implements RuleEngine {
  readonly #o: FrostEngineOptions;
  readonly #tracked = new Map<string, Tracked>();
  readonly #loadState: Statement<[string], { state: string }>;
  readonly #saveState: Statement<[string, string, number, number | null]>;
  /** The multi-row save of #saveMany, by row count. */
  readonly #saveStates = new Map<number, Statement<Array<string | number | null>, { station_id: string }>>();
  readonly #timers: Timers;
  /** Stop the tick and the periodic flush; null while not started. */
  #stopTimers: (() => void) | null = null;
  /** Stations whose state changed without a decision since the last flush (write-behind, see #run). */
  #dirty = new Set<Tracked>();
  /** The station ids the timer's tick goes through, and when (real time) they were read. */
  #tickList: { ids: string[]; readAtMs: number } | null = null;
  /** The stations of the flush round in progress, saved a slice at a time. */
  #round: Tracked[] = [];
  readonly #sampling: ConfigPublisher | undefined;
  readonly #changed = new Set<StationViewListener>();

  constructor(options: FrostEngineOptions) {
    this.#o = options;
    this.#sampling = options.sampling;
    this.#timers = options.timers ?? systemTimers;
    this.#loadState = options.db.prepare('SELECT state FROM station_rule_state WHERE station_id = ?');
    // Guarded: a state never overwrites one that has seen a newer reading (an engine that lost the station to another,
    // a replayed reading). A refused save changes no row, and the caller reloads (docs/scale-out.md).
    this.#saveState = options.db.prepare(SAVE_STATE_HEAD + SAVE_STATE_ROW + SAVE_STATE_GUARD);
  }

  /** Readings of one station, as they became durable (live, or a backfill batch). */
  onReadings(stationId: string, readings: readonly Reading[]): void {
    const tracked = this.#track(stationId);
    if (!tracked) return;
    const nowMs = this.#o.clock.now();
    const events: EngineEvent[] = [...readings]
      .sort((x, y) => x.ts - y.ts)
      .map((reading) => ({ kind: 'reading', reading, receivedAtMs: nowMs }));
    this.#run(tracked, events, nowMs);
  }

  /** Time passes for these stations (default: every station of the registry): offline detection, all-clear after sunrise, sampling. */
  tick(stationIds: readonly string[] = this.#o.stations.list().map((station) => station.id)): void {
    const nowMs = this.#o.clock.now();
    const owns = this.#o.owns;
    for (const stationId of stationIds) {
      if (owns !== undefined && !owns(stationId)) continue;
      const tracked = this.#track(stationId);
      if (!tracked) continue;
      this.#run(tracked, [{ kind: 'tick' }], nowMs);
      void this.#adjustSampling(tracked, nowMs);
    }
  }

  /**
   * The stations the timer's tick goes through: the registry's list, read again every TICK_LIST_MS of real time rather
   * than at each tick (4 a second on a fast clock, each a query of every station). A station added meanwhile is ticked
   * within seconds; its readings are evaluated at once.
   */
  #tickListNow(): readonly string[] {
    const nowReal = this.#timers.now();
    if (this.#tickList === null || nowReal - this.#tickList.readAtMs >= TICK_LIST_MS)
      this.#tickList = { ids: this.#o.stations.list().map((station) => station.id), readAtMs: nowReal };
    return this.#tickList.ids;
  }

  /** Ticks once a simulated minute (at least every 250 ms of real time when the clock runs fast). */
  start(): void {
    if (this.#stopTimers) return;
    const stopFlush = this.#timers.every(STATE_FLUSH_MS, () => this.#startRound());
    const everyMs = Math.max(250, 60_000 / this.#o.clock.speed);
    const stopTick = this.#timers.every(everyMs, () => {
      try {
        this.tick(this.#tickListNow());
      } catch (err) {
        this.#o.logger.error({ err }, 'rule engine tick failed');
      }
    });
    this.#stopTimers = () => {
      stopFlush();
      stopTick();
    };
  }

  close(): Promise<void> {
    this.#stopTimers?.();
    this.#stopTimers = null;
    this.#flushSafely();
    return Promise.resolve();
  }

  /** Save, now, the state of every station evaluated since its last save (close, tests). */
  flush(): void {
    this.#round.push(...this.#dirty);
    this.#dirty.clear();
    while (this.#round.length > 0) this.#saveSlice(Infinity);
  }

  /**
   * Save stations of the round in one transaction until `budgetMs` has passed; on failure the whole rest of the round
   * goes back to be saved later. The state serialised as the budget runs out still goes in, so a slice saves one at least.
   */
  #saveSlice(budgetMs: number): void {
    if (this.#round.length === 0) return; // close() may have saved the round before this turn came
    const nowMs = this.#o.clock.now();
    const until = this.#timers.now() + budgetMs;
    let saved = 0;
    const stale: Tracked[] = [];
    try {
      this.#o.db.transaction(() => {
        // A statement saves up to SAVE_ROWS stations: one round trip, not one a station (a cluster worker's batch
        // touches hundreds, each a PostgreSQL round trip that holds its thread).
        while (saved < this.#round.length) {
          const chunk = this.#round.slice(saved, saved + SAVE_ROWS);
          stale.push(...this.#saveMany(chunk, nowMs));
          saved += chunk.length;
          if (this.#timers.now() >= until) break;
        }
        // A cluster's HTTP servers show these states live (registry/change-feed.ts); nothing on SQLite.
        announce(
          this.#o.db,
          this.#round.slice(0, saved).map((tracked) => ({ kind: 'station', id: tracked.station.id })),
        );
      })();
    } catch (err) {
      for (const tracked of this.#round.splice(0)) this.#dirty.add(tracked);
      throw err;
    }
    this.#round.splice(0, saved);
    for (const tracked of stale) this.#dropStale(tracked.station.id);
  }

  /**
   * Save these stations' states in one statement; returns those refused by the guard (a newer state is saved). A
   * station twice in `chunk` is saved once, as one statement may not update a row twice.
   */
  #saveMany(chunk: readonly Tracked[], nowMs: number): Tracked[] {
    // One per station: the one this engine tracks now (a station dropped and loaded again has two in a round), else the last.
    const byId = new Map<string, Tracked>();
    for (const tracked of chunk) byId.set(tracked.station.id, tracked);
    const unique = [...byId.values()].map((tracked) => this.#tracked.get(tracked.station.id) ?? tracked);
    let statement = this.#saveStates.get(unique.length);
    if (statement === undefined) {
      const rows = Array.from({ length: unique.length }, () => SAVE_STATE_ROW).join(', ');
      const prepared = this.#o.db.prepare<Array<string | number | null>, { station_id: string }>(
        SAVE_STATE_HEAD + rows + SAVE_STATE_GUARD + ' RETURNING station_id',
      );
      this.#saveStates.set(unique.length, prepared);
      statement = prepared;
    }
    const params = unique.flatMap((tracked) => [tracked.station.id, encodeState(tracked.state), nowMs, tracked.state.newestTs]);
    const written = new Set(statement.all(...params).map((row) => row.station_id));
    return chunk.filter((tracked) => !written.has(tracked.station.id));
  }

  /** Rows written: 0 when the saved state has seen a newer reading than `state` (the guard of #saveState). */
  #save(stationId: string, state: StationRuleState, nowMs: number): number {
    return this.#saveState.run(stationId, encodeState(state), nowMs, state.newestTs).changes;
  }

  #dropStale(stationId: string): void {
    this.#tracked.delete(stationId);
    this.#o.logger.warn({ stationId }, 'rule state: a newer state was saved elsewhere; reloaded');
  }

  /**
   * Save and let go of these stations (a cluster worker handing their partition on): their next reading or view
   * is read from the registry afresh, whoever decides for them then.
   */
  release(stationIds: Iterable<string>): void {
    const ids = new Set(stationIds);
    const leaving = [...this.#tracked.values()].filter((tracked) => ids.has(tracked.station.id));
    if (leaving.length === 0) return;
    const nowMs = this.#o.clock.now();
    this.#o.db.transaction(() => {
      for (const tracked of leaving)
        if (this.#dirty.has(tracked) || this.#round.includes(tracked)) this.#save(tracked.station.id, tracked.state, nowMs);
    })();
    for (const tracked of leaving) {
      this.#dirty.delete(tracked);
      this.#tracked.delete(tracked.station.id);
    }
    this.#round = this.#round.filter((tracked) => !ids.has(tracked.station.id));
  }

  /** A periodic flush: what is dirty now, a slice per turn of the event loop; what gets dirty meanwhile waits a round. */
  #startRound(): void {
    if (this.#round.length > 0 || this.#dirty.size === 0) return;
    this.#round = [...this.#dirty];
    this.#dirty.clear();
    const step = (): void => {
      try {
        this.#saveSlice(FLUSH_SLICE_MS);
      } catch (err) {
        this.#o.logger.error({ err }, 'saving rule engine state failed');
        return;
      }
      // The next slice waits for the event loop's turn, not for time: a yield, so not one of the injected timers.
      if (this.#round.length > 0) setImmediate(step);
    };
    step();
  }

  #flushSafely(): void {
    try {
      this.flush();
    } catch (err) {
      this.#o.logger.error({ err }, 'saving rule engine state failed');
    }
  }

  /** Re-read the station's registry entry and settings at its next event (e.g. a new fitted model). */
  forget(stationId: string): void {
    const tracked = this.#tracked.get(stationId);
    if (tracked) tracked.refreshAtMs = 0;
  }

  /**
   * A station this engine does not decide for changed elsewhere (a cluster worker committed it): tell this engine's
   * listeners, with the view read from its saved state.
   */
  changedElsewhere(stationId: string): void {
    if (this.#tracked.has(stationId) || this.#changed.size === 0) return;
    const row = this.#loadState.get(stationId);
    if (row) this.#emitChanged(stationId, decodeState(row.state));
  }

  /** Called after every committed evaluation of a station (readings or tick); returns an unsubscribe. */
  onStationChanged(listener: StationViewListener): () => void {
    this.#changed.add(listener);
    return () => this.#changed.delete(listener);
  }

  /** The engine's whole current state of a station (in-process callers: the worker thread, tests). */
  stateOf(stationId: string): StationRuleState | null {
    return this.#tracked.get(stationId)?.state ?? null;
  }

  viewOf(stationId: string): StationView | null {
    const state = this.stateOf(stationId);
    if (state !== null) return viewOf(state);
    // Another engine's station (a cluster): its last saved state, as it stands, without taking it on.
    if (this.#o.owns === undefined || this.#o.owns(stationId)) return null;
    const row = this.#loadState.get(stationId);
    return row ? viewOf(decodeState(row.state)) : null;
  }

  inspect(stationId: string): Promise<StationRuleState | null> {
    return Promise.resolve(this.stateOf(stationId));
  }

  check(): { ok: boolean; detail?: string } {
    return { ok: true, detail: `in-process, ${this.#tracked.size} stations` };
  }

  #run(tracked: Tracked, events: readonly EngineEvent[], nowMs: number): void {
    const { db, alerts, planner, logger } = this.#o;
    let state = tracked.state;
    const decisions: Decision[] = [];
    for (const event of events) {
      const out = evaluate(state, event, tracked.rules, nowMs);
      state = out.state;
      decisions.push(...out.decisions);
    }
    // A tick that changed nothing (most of them: evaluate hands back the same state) has nothing to save or show.
    if (decisions.length === 0 && state === tracked.state) return;
    if (decisions.length === 0) {
      // Write-behind: a reading that decides nothing is saved with the next flush (within STATE_FLUSH_MS), so
      // the hot path is one evaluation, not one SQLite commit. A decision is committed at once, with its state.
      tracked.state = state;
      this.#dirty.add(tracked);
    } else {
      try {
        db.transaction(() => {
          // The state first: if a newer one was saved elsewhere, these decisions come from an older view and roll back.
          if (this.#save(tracked.station.id, state, nowMs) === 0) throw new StaleStationState(tracked.station.id);
          announce(db, [{ kind: 'station', id: tracked.station.id }]);
          for (const decision of decisions) {
            const applied = alerts.apply(decision, nowMs);
            if (applied) planner.plan(applied, tracked.station);
          }
        })();
      } catch (error) {
        if (!(error instanceof StaleStationState)) throw error;
        this.#dropStale(tracked.station.id);
        return;
      }
      tracked.state = state; // only once committed: a failed commit must not swallow its decisions
      this.#dirty.delete(tracked);
    }
    if (decisions.length > 0) this.#o.onCommitted?.();
    this.#emitChanged(tracked.station.id, state);
    for (const d of decisions) {
      logger.info(
        { stationId: d.stationId, kind: d.kind, to: d.kind === 'frost' ? d.to : d.state, notify: d.notify, reason: d.reason },
        'alert decision',
      );
    }
  }

  #emitChanged(stationId: string, state: StationRuleState): void {
    if (this.#changed.size === 0) return;
    const view = viewOf(state);
    for (const listener of this.#changed) {
      // A listener (the dashboard) failing must never undo or stop the evaluation that already committed.
      try {
        listener(stationId, view);
      } catch (err) {
        this.#o.logger.error({ err, stationId }, 'station change listener failed');
      }
    }
  }

  #track(stationId: string): Tracked | null {
    const known = this.#tracked.get(stationId);
    // Real time (the timers'), not the clock's: at ×300 five simulated minutes are a second, and every tracked station
    // re-read its registry entry and settings once a second.
    if (known && this.#timers.now() < known.refreshAtMs) return known;
    const station = this.#o.stations.get(stationId);
    if (!station) return null;
    const ctx: StationContext = {
      stationId,
      lat: station.lat,
      lon: station.lon,
      elevationM: station.elevationM,
      crop: station.crop,
      timeZone: this.#o.timeZone,
    };
    const settings = this.#o.settings.get(stationId);
    const overrides = {
      ...settings.ruleOverrides,
      ...(settings.ffst ? { ffst: { a: settings.ffst.a, b: settings.ffst.b, c: settings.ffst.c } } : {}),
    };
    const rules = rulesFor(station.crop, overrides, station);
    // The registry is the truth about where a station is and what grows there; the saved state may predate an edit.
    const state = { ...(known?.state ?? this.#restore(ctx)), ctx };
    const tracked: Tracked = {
      station,
      ctx,
      rules,
      state,
      refreshAtMs: this.#timers.now() + REFRESH_MS,
      intervalS: known?.intervalS ?? null,
    };
    this.#tracked.set(stationId, tracked);
    return tracked;
  }

  #restore(ctx: StationContext): StationRuleState {
    const row = this.#loadState.get(ctx.stationId);
    return row ? decodeState(row.state) : initialState(ctx);
  }

  async #adjustSampling(tracked: Tracked, nowMs: number): Promise<void> {
    const { logger } = this.#o;
    const sampling = this.#sampling;
    if (!sampling) return;
    const want = wantsFastSampling(tracked.state, tracked.rules, nowMs) ? (this.#o.fastIntervalS ?? 60) : (this.#o.relaxedIntervalS ?? 300);
    if (tracked.intervalS === want) return;
    tracked.intervalS = want;
    try {
      await sampling.publish(tracked.station.id, { intervalS: want });
      logger.info({ stationId: tracked.station.id, intervalS: want }, 'station sampling changed');
    } catch (err) {
      tracked.intervalS = null; // try again next tick
      logger.warn({ err, stationId: tracked.station.id }, 'could not publish station config');
    }
  }
}
