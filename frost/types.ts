import type { Crop, DecisionInputs, FrostLevel, Reading } from '../contracts/index.js';
import type { SampleWindow } from './sample-window.js';

/** What the engine needs to know about a station; the shell builds it from the registry. */
export interface StationContext {
  stationId: string;
  lat: number;
  lon: number;
  elevationM: number;
  crop: Crop;
  /** IANA zone of the farm (TZ_NAME): the Watch window 15:00–19:00 is local time. */
  timeZone: string;
}

export type EngineEvent = { kind: 'reading'; reading: Reading; receivedAtMs: number } | { kind: 'tick' };

/** Minimum forecast Tp = a·T₂ + b·Td₂ + c (FAO FFST, Snyder & de Melo-Abreu 2005 ch. 5). */
export interface FfstModel {
  a: number;
  b: number;
  c: number;
}

/** FFST without a humidity sensor: Tp = a·T₂ + c (the spreadsheet's temperature-only option). */
export interface FfstAirOnlyModel {
  a: number;
  c: number;
}

/** One night of a station, as the FFST regression needs it. */
export interface NightFeatures {
  sunsetMs: number;
  sunriseMs: number;
  /** Air temperature 2 h after sunset. */
  t2C: number;
  /** Dew point 2 h after sunset; null without humidity. */
  td2C: number | null;
  /** Lowest air temperature between sunset and one hour after sunrise. */
  minC: number;
  minAtMs: number;
  /** Mean wind < 2 m/s over the night; null when the station has no wind sensor. */
  radiative: boolean | null;
}

export type QcFlag = 'ok' | 'range' | 'step' | 'stuck';

/** A reading as the engine keeps it: units in names, nulls instead of absent fields (JSON-safe). The window stores
 * samples by column (SampleWindow); a Sample is one of them materialised. */
export interface Sample {
  ts: number;
  airC: number;
  rhPct: number | null;
  windMs: number | null;
  leafC: number | null;
  batteryV: number | null;
  qc: QcFlag;
  /** False when the humidity implies a dew point above the air temperature (WMO-No. 305). */
  humidityOk: boolean;
}

export type LadderLevel = Exclude<FrostLevel, 'none'>;

export interface OfficerState {
  offline: boolean;
  sensorFault: boolean;
  /** ts of the last reading that failed QC; the fault clears after `qc.faultClearMs` without one. */
  lastFailMs: number | null;
  lowBattery: boolean;
}

export interface NightState {
  sunsetMs: number;
  sunriseMs: number;
  /** Air and dew point 2 h after sunset, once seen. */
  t2C: number | null;
  td2C: number | null;
  t2Captured: boolean;
  /** Set by a night-time all-clear: the night stopped being radiative, so the FFST forecast is dropped. */
  ffstVoid: boolean;
  /** Levels (and all-clears) already sent to farmers this night: each at most once a night. */
  notified: (LadderLevel | 'all_clear')[];
  /** The minimum model's first (uncorrected) forecast in each hour after sunset: what the night teaches the station. */
  forecastByHourC: (number | null)[];
  /** The lowest 5-minute air median from sunset to sunrise + 3 h, so far. */
  minAirC: number | null;
}

/** What a station has learnt of the minimum model's error on its own nights, per hour after sunset (calibration.ts). */
export interface StationCalibration {
  /** Exponentially weighted mean of forecast − measured minimum, °C. */
  biasC: number[];
  /** Nights each hour's mean rests on. */
  nights: number[];
}

/**
 * Everything the engine remembers about one station, persisted after each evaluation (server/warnings/state-codec.ts).
 * Plain data but for the window, an immutable columnar view (frost/sample-window.ts): never changed in place, so an
 * older state stays valid to evaluate from again (the shell's rollback when a commit fails).
 */
export interface StationRuleState {
  version: 2;
  ctx: StationContext;
  /** Readings of the last few hours, sorted by ts, no duplicate ts. `window.toArray()` gives them as Samples. */
  window: SampleWindow;
  firstSeenMs: number | null;
  newestTs: number | null;
  /** Value a stuck sensor is stuck at; readings within `stuckDeltaC` of it keep failing. */
  stuckValueC: number | null;
  night: NightState | null;
  level: FrostLevel;
  /** The level farmers last heard of ('none' after an all-clear or before any warning). */
  notifiedLevel: FrostLevel;
  /** The current level was reached on late (backfilled) data and not sent: send it when live data confirm it. */
  pendingBackfill: boolean;
  /**
   * For each level, since when the data have supported it without a break (the time of the reading before the first
   * supporting one: a reading stands for the interval it ends); null while they do not. Holds are time, not readings,
   * so a level holds as long at one reading an hour as at one a minute.
   */
  heldSinceMs: Record<LadderLevel, number | null>;
  /** When each level (or the all-clear) was last notified: repeat suppression. */
  lastNotifiedMs: Partial<Record<LadderLevel | 'all_clear', number>>;
  /** Since when the cooling has stopped (wind or cloud) at night; null while it cools. */
  coolingStoppedSinceMs: number | null;
  officer: OfficerState;
  lastInputs: DecisionInputs | null;
  calibration: StationCalibration;
}
