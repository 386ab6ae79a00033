/**
 * The messages between the server's main thread and the rule engine's worker thread (engine-thread.ts,
 * engine-worker.ts). Everything here is structured-clone data: no functions, no class instances (a rule state
 * crosses encoded, as state-codec.ts stores it).
 */
import type { LogLevelSchema, Reading, StationConfig } from '../../contracts/index.js';
import type { z } from 'zod';
import type { RegistryLocation } from '../registry/open.js';
import type { StationView } from './rule-engine.js';

/** What the worker needs to build the engine on its own connection to the registry. */
export interface EngineWorkerData {
  /** The registry (SQLite file or PostgreSQL); migrated by the main thread before the worker starts. */
  registry: RegistryLocation;
  timeZone: string;
  smsCostUsdPerSegment: number;
  /** QUIET_HOURS, as the env gives it. */
  quietHours: string;
  stopHint: 'reply' | 'officer';
  clock: ClockLine;
  logLevel: z.infer<typeof LogLevelSchema>;
  /** Whether a broker edge takes station configs (adaptive sampling); without one nothing is published. */
  sampling: boolean;
  /** SAMPLING_FAST_S and SAMPLING_RELAXED_S. */
  intervalsS: SamplingIntervals;
}

/** The intervals the engine asks of stations: fast while frost may form, relaxed otherwise (seconds). */
export interface SamplingIntervals {
  fastS: number;
  relaxedS: number;
}

/**
 * The server's clock as a line through one point: sim time `simMs` at wall time `realMs`, running `speed` times real
 * time; `held`: standing at `simMs` until a `clock` message brings the running line (`frostwatch up --start`).
 */
export interface ClockLine {
  simMs: number;
  realMs: number;
  speed: number;
  held: boolean;
}

export type ToWorker =
  /** The server's clock started running (a held clock was released): the thread's copy follows. */
  | { t: 'clock'; clock: ClockLine }
  /** Readings as they became durable, in arrival order; one message per turn of the main thread's event loop. */
  | { t: 'readings'; batch: Array<[stationId: string, readings: Reading[]]> }
  | { t: 'start' }
  | { t: 'forget'; stationId: string }
  | { t: 'inspect'; id: number; stationId: string }
  /** How much memory the worker's V8 heap holds (for /metrics). */
  | { t: 'memory'; id: number }
  /** The answer to a `publish`: whether the station config went out. */
  | { t: 'published'; id: number; error: string | null }
  | { t: 'close' };

export type FromWorker =
  | { t: 'ready' }
  /** Views that changed since the last message (one per station, the newest), and how many readings were evaluated. */
  | { t: 'evaluated'; views: Array<[stationId: string, view: StationView]>; readings: number }
  /** A transaction committed decisions (and so possibly outbox rows): wake the notifier. */
  | { t: 'committed' }
  /** Alerts opened, moved or closed by the engine: the dashboard's alert events. */
  | { t: 'alerts'; ids: number[] }
  /** A pino log line of the worker's logger, to go out through the main thread's logger. */
  | { t: 'log'; line: string }
  /** Publish a station config through the main thread's broker edge; answered with `published`. */
  | { t: 'publish'; id: number; stationId: string; config: StationConfig }
  | { t: 'inspected'; id: number; state: string | null }
  | { t: 'memory'; id: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
  | { t: 'closed' };
