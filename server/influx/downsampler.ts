import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemTimers } from '../../contracts/index.js';
import type { Timers } from '../../contracts/index.js';
import type { InfluxConnection } from './connect.js';
import { describeError } from './connect.js';
import {
  MEAN_WINDOW_MS,
  RESAMPLE_FOR_MS,
  alterRawRetention,
  backfillMeans,
  ensureContinuousQuery,
  ensureRetention,
  firstRawMs,
  floorWindow,
  lastMeanMs,
} from './retention.js';
import type { RetentionLayout, RetentionPlan } from './retention.js';

/** A pass every 5 minutes: late readings reach their means within ~5 min of arriving. */
export const DOWNSAMPLE_TICK_MS = 5 * 60_000;
/**
 * At start the last day is re-averaged even where means exist: late readings noted by a process that died before
 * its next pass are not lost for good. Older late readings missed that way stay raw-only (docs/operations.md).
 */
export const START_LOOKBACK_MS = 24 * 3_600_000;
/** A late reading is re-averaged once this old: the forwarder has written it by then (it writes within ~1 s). */
const SETTLE_MS = 30_000;
/** The spool's backlog gauge (ingest-service.ts): late readings still in the spool are not in InfluxDB yet. */
const BACKLOG_METRIC = 'frostwatch_spool_backlog_bytes';

export interface DownsamplerOptions {
  conn: InfluxConnection;
  rawDays: number;
  logger: Logger;
  /** Where the spool backlog gauge is registered; absent: late readings are re-averaged without waiting for it. */
  metrics?: Registry;
  timers?: Timers;
  /** InfluxDB's clock (a CQ's range is the server's now), not a simulated one; default Date.now. */
  wallNow?: () => number;
  /** The CQ's RESAMPLE EVERY; tests set `1s`. */
  cqEvery?: string;
  tickMs?: number;
}

export interface Downsampler {
  /** The RPs as frostwatch reads them; null until set up on 1.x, and always on 2.x/3.x. */
  readonly layout: RetentionLayout | null;
  /** Tell it of readings as they are received; those older than the CQ's reach are re-averaged on the next pass. */
  noteReadings(stationId: string, readings: readonly { ts: number }[]): void;
  /** One pass now: set-up (first time), the gap backfill (first time), the late readings. Resolves when done. */
  runOnce(): Promise<void>;
  close(): Promise<void>;
}

interface Dirty {
  fromMs: number;
  toMs: number;
  sinceMs: number;
}

/**
 * Keeps the raw/means layout in place and the 10-minute means complete: on the first successful pass it ensures
 * the RPs and the CQ, fills the means missing since the last one (a stopped frostwatch, an old database with none),
 * and only then shortens the raw RP; every pass after re-averages the windows of late readings (stations send
 * their buffer after an outage, up to 35 days old), which the CQ no longer revisits.
 */
export function startDownsampler(opts: DownsamplerOptions): Downsampler {
  const logger = opts.logger.child({ component: 'downsampler' });
  const timers = opts.timers ?? systemTimers;
  const wallNow = opts.wallNow ?? Date.now;
  const dirty = new Map<string, Dirty>();
  let layout: RetentionLayout | null = null;
  let setUp = false;
  let closed = false;
  let running: Promise<void> | null = null;

  const mark = (stationId: string, d: Dirty): void => {
    const had = dirty.get(stationId);
    dirty.set(stationId, had ? { fromMs: Math.min(had.fromMs, d.fromMs), toMs: Math.max(had.toMs, d.toMs), sinceMs: d.sinceMs } : d);
  };

  const firstPass = async (): Promise<void> => {
    // Fails while InfluxDB is down: retried on the next pass.
    await opts.conn.ensureDatabase();
    if (opts.conn.major !== 1) {
      logger.info(
        { version: opts.conn.version, rawDays: opts.rawDays },
        'InfluxDB 2.x/3.x: RAW_RETENTION_DAYS is not applied by frostwatch; set the bucket retention (docs/operations.md, "Retention and downsampling")',
      );
      setUp = true;
      return;
    }
    const plan: RetentionPlan = await ensureRetention(opts.conn, { rawDays: opts.rawDays });
    // Until the CQ exists the newest mean is how far an interrupted backfill got (it goes oldest first), so a
    // restart part-way resumes there instead of skipping the history the CQ would otherwise seem to have covered.
    const last = await lastMeanMs(opts.conn, plan.layout);
    let from = last === null ? await firstRawMs(opts.conn, plan.layout) : Math.min(last, wallNow() - START_LOOKBACK_MS);
    // Charts may read the means from here on: what is missing below is being filled, oldest first.
    layout = plan.layout;
    const started = timers.now();
    let written = 0;
    // Twice when the first took long: the windows closed meanwhile are older than the CQ's first run will reach.
    for (let round = 0; from !== null && round < 2; round += 1) {
      const to = floorWindow(wallNow());
      if (to <= from) break;
      written += await backfillMeans(opts.conn, plan.layout, { fromMs: from, toMs: to }, () => closed);
      if (closed) return;
      from = to;
    }
    logger.info({ written, ms: Math.round(timers.now() - started) }, '10-minute means filled in');
    await ensureContinuousQuery(opts.conn, plan.layout, opts.cqEvery);
    if (plan.shrinkPending) {
      await alterRawRetention(opts.conn, plan.layout);
      logger.info({ rp: plan.layout.rawRp, days: opts.rawDays }, 'raw readings now kept RAW_RETENTION_DAYS');
    }
    setUp = true;
  };

  const backlogBytes = async (): Promise<number> => {
    const gauge = opts.metrics?.getSingleMetric(BACKLOG_METRIC);
    if (!gauge) return 0;
    const { values } = await gauge.get();
    return values[0]?.value ?? 0;
  };

  const lateReadings = async (): Promise<void> => {
    if (layout === null || dirty.size === 0) return;
    // In order, the spool delivers everything before them first; until then their windows would be averaged short.
    if ((await backlogBytes()) > 0) return;
    const settled = wallNow() - SETTLE_MS;
    for (const [stationId, d] of [...dirty]) {
      if (closed) return;
      if (d.sinceMs > settled) continue;
      dirty.delete(stationId);
      try {
        const written = await backfillMeans(opts.conn, layout, { stationId, fromMs: d.fromMs, toMs: d.toMs });
        logger.debug({ stationId, fromMs: d.fromMs, toMs: d.toMs, written }, 'late readings re-averaged');
      } catch (err) {
        mark(stationId, d);
        throw err;
      }
    }
  };

  const attempt = async (step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (err) {
      logger.warn({ err: describeError(err) }, 'downsampling pass failed; retried on the next one');
    }
  };

  const runOnce = (): Promise<void> => {
    running ??= (async () => {
      if (!setUp) await attempt(firstPass);
      if (setUp && !closed) await attempt(lateReadings);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  void runOnce();
  const stopTimer = timers.every(opts.tickMs ?? DOWNSAMPLE_TICK_MS, () => void runOnce());

  return {
    get layout() {
      return layout;
    },
    noteReadings(stationId, readings) {
      if (closed || readings.length === 0) return;
      const now = wallNow();
      // The next CQ run (at most one window away) still recomputes the last hour; older windows need a backfill.
      const reach = now - RESAMPLE_FOR_MS + MEAN_WINDOW_MS;
      let min = Infinity;
      let max = -Infinity;
      for (const { ts } of readings) {
        if (ts >= reach) continue;
        if (ts < min) min = ts;
        if (ts > max) max = ts;
      }
      if (min === Infinity) return;
      mark(stationId, { fromMs: floorWindow(min), toMs: floorWindow(max) + MEAN_WINDOW_MS, sinceMs: now });
    },
    runOnce,
    async close() {
      closed = true;
      stopTimer();
      await running;
    },
  };
}
