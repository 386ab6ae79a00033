import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { type Clock, type Reading, type StationConfig, isHeldClock } from '../../contracts/index.js';
import type { StationRuleState } from '../../frost/index.js';
import type { RegistryLocation } from '../registry/open.js';
import type { ClockLine, EngineWorkerData, FromWorker, SamplingIntervals, ToWorker } from './engine-protocol.js';
import type { ConfigPublisher } from './frost-engine.js';
import type { RuleEngine, StationView, StationViewListener } from './rule-engine.js';
import { decodeState } from './state-codec.js';

export interface ThreadedEngineOptions {
  registry: RegistryLocation;
  timeZone: string;
  smsCostUsdPerSegment: number;
  quietHours: string;
  stopHint: 'reply' | 'officer';
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  sampling?: ConfigPublisher | undefined;
  intervalsS: SamplingIntervals;
  /** After the worker committed decisions (outbox rows): wake the notifier. */
  onCommitted: () => void;
  /** Alerts the worker opened, moved or closed: re-announced on the main thread's AlertStore for the dashboard. */
  onAlertsChanged: (ids: readonly number[]) => void;
}

/** A worker that dies is started again after this long; the readings sent meanwhile are not evaluated (see below). */
const RESTART_AFTER_MS = 1_000;
/** How long close() waits for the worker to save its states before it is terminated. */
const CLOSE_TIMEOUT_MS = 10_000;
/** The engine is reported unhealthy when this many readings wait for it: it has fallen minutes behind. */
const BEHIND_READINGS = 100_000;

/**
 * The rule engine on a worker thread, so the ingest thread does only the ingest: receive, validate, spool, PUBACK
 * (BENCHMARKS.md: the engine was ~80 µs of the ~190 µs a reading cost on one thread). The ingest hands over readings
 * as they become durable — the same moment the in-process engine evaluates them — batched into one message per
 * turn of the event loop; the worker evaluates them and commits decisions, state and outbox rows in one SQLite
 * transaction on its own connection, exactly as FrostEngine does in-process.
 *
 * The main thread keeps a view of each station (level, inputs, tonight, newest sample) for the dashboard, updated by
 * the worker after every message. If the worker dies, it is logged, reported by check() and started again; the
 * readings it had not evaluated are stored (they were durable before it saw them) but miss the rules' window, as after
 * a process crash (docs/reliability.md).
 */
export class ThreadedEngine implements RuleEngine {
  readonly #o: ThreadedEngineOptions;
  readonly #views = new Map<string, StationView>();
  readonly #listeners = new Set<StationViewListener>();
  readonly #inspections = new Map<number, (state: StationRuleState | null) => void>();
  readonly #memoryRequests = new Map<number, (answer: FromWorker & { t: 'memory' }) => void>();
  readonly #queued: Gauge;
  #worker: Worker | null = null;
  #ready = false;
  #started = false;
  #closing: Promise<void> | null = null;
  /** Readings of this turn, sent together on the next one (setImmediate). */
  #batch: Array<[string, Reading[]]> = [];
  #flushScheduled = false;
  /** Readings sent to the worker and not yet evaluated. */
  #inFlight = 0;
  #nextRequest = 0;
  #deaths = 0;
  #lastError: string | null = null;

  constructor(options: ThreadedEngineOptions) {
    this.#o = options;
    this.#queued = new Gauge({
      name: 'frostwatch_rule_engine_queued_readings',
      help: 'Readings handed to the rule engine thread and not yet evaluated',
      registers: [options.metrics],
    });
    // The worker's own V8 heap: the process's default metrics see only this thread's.
    const memory = (): Promise<FromWorker & { t: 'memory' }> | null => {
      const id = (this.#nextRequest += 1);
      const answer = new Promise<FromWorker & { t: 'memory' }>((resolve) => this.#memoryRequests.set(id, resolve));
      return this.#post({ t: 'memory', id }) ? answer : (this.#memoryRequests.delete(id), null);
    };
    new Gauge({
      name: 'frostwatch_rule_engine_heap_bytes',
      help: 'V8 heap of the rule engine thread, by kind: used, total (reserved), external, array buffers (the rule windows)',
      labelNames: ['kind'],
      registers: [options.metrics],
      async collect() {
        const asked = memory();
        const m = asked && (await Promise.race([asked, new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_000))]));
        if (!m) return;
        this.set({ kind: 'used' }, m.heapUsed);
        this.set({ kind: 'total' }, m.heapTotal);
        this.set({ kind: 'external' }, m.external);
        this.set({ kind: 'array_buffers' }, m.arrayBuffers);
      },
    });
    this.#spawn();
  }

  onReadings(stationId: string, readings: readonly Reading[]): void {
    if (this.#closing !== null || readings.length === 0) return;
    this.#batch.push([stationId, readings as Reading[]]);
    this.#inFlight += readings.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  start(): void {
    this.#started = true;
    this.#post({ t: 'start' });
  }

  forget(stationId: string): void {
    this.#post({ t: 'forget', stationId });
  }

  onStationChanged(listener: StationViewListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  viewOf(stationId: string): StationView | null {
    return this.#views.get(stationId) ?? null;
  }

  inspect(stationId: string): Promise<StationRuleState | null> {
    this.#flush(); // what was handed over before this call is evaluated before it is answered
    return new Promise((resolve) => {
      const id = (this.#nextRequest += 1);
      this.#inspections.set(id, resolve);
      if (!this.#post({ t: 'inspect', id, stationId })) {
        this.#inspections.delete(id);
        resolve(null);
      }
    });
  }

  check(): { ok: boolean; detail?: string } {
    const queued = `${this.#inFlight} readings queued`;
    if (!this.#ready) return { ok: false, detail: `rule engine thread not running${this.#lastError ? `: ${this.#lastError}` : ''}` };
    if (this.#inFlight > BEHIND_READINGS) return { ok: false, detail: `rule engine behind: ${queued}` };
    return { ok: true, detail: `worker thread, ${queued}${this.#deaths > 0 ? `, restarted ${this.#deaths}×` : ''}` };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#flush();
    const worker = this.#worker;
    if (!worker) return;
    const closed = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#o.logger.error('rule engine thread did not save its states in time; stopping it');
        resolve();
      }, CLOSE_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    worker.postMessage({ t: 'close' } satisfies ToWorker);
    await closed;
    this.#worker = null;
    await worker.terminate();
    for (const resolve of this.#inspections.values()) resolve(null);
    this.#inspections.clear();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    if (!this.#post({ t: 'readings', batch })) this.#inFlight -= batch.reduce((n, [, r]) => n + r.length, 0);
  }

  #post(message: ToWorker): boolean {
    if (!this.#worker) return false;
    this.#worker.postMessage(message);
    return true;
  }

  /** The server's clock as a line for the thread; a held clock (`up --start`) is sent again once it runs. */
  #clockLine(): ClockLine {
    const o = this.#o;
    const realMs = Date.now();
    const simMs = o.clock.now();
    // The system clock reads the same as Date.now() a moment later: no offset, rather than the microseconds between.
    const sim = o.clock.speed === 1 && Math.abs(simMs - realMs) <= 2 ? realMs : simMs;
    return { simMs: sim, realMs, speed: o.clock.speed, held: isHeldClock(o.clock) && o.clock.isHeld() };
  }

  #spawn(): void {
    const o = this.#o;
    const clock = this.#clockLine();
    const data: EngineWorkerData = {
      registry: o.registry,
      timeZone: o.timeZone,
      smsCostUsdPerSegment: o.smsCostUsdPerSegment,
      quietHours: o.quietHours,
      stopHint: o.stopHint,
      clock,
      logLevel: o.logger.level as EngineWorkerData['logLevel'],
      sampling: o.sampling !== undefined,
      intervalsS: o.intervalsS,
    };
    const worker = new Worker(workerUrl(), { workerData: data });
    this.#worker = worker;
    if (clock.held && isHeldClock(o.clock)) {
      // Started before `up` released its clock: the thread's copy runs from the release, like the main thread's.
      void o.clock.released.then(() => {
        if (this.#worker === worker) this.#post({ t: 'clock', clock: this.#clockLine() });
      });
    }
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (err) => {
      this.#lastError = err.message;
      o.logger.error({ err }, 'rule engine thread failed');
    });
    worker.on('exit', (code) => {
      if (this.#worker !== worker || this.#closing !== null) return; // closed on purpose
      this.#ready = false;
      this.#worker = null;
      this.#deaths += 1;
      this.#inFlight = 0;
      o.logger.error({ code }, `rule engine thread stopped; starting it again in ${RESTART_AFTER_MS} ms`);
      setTimeout(() => {
        if (this.#closing !== null) return;
        this.#spawn();
        if (this.#started) this.start();
      }, RESTART_AFTER_MS).unref();
    });
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case 'ready':
        this.#ready = true;
        this.#lastError = null;
        return;
      case 'evaluated':
        this.#inFlight = Math.max(0, this.#inFlight - message.readings);
        this.#queued.set(this.#inFlight);
        for (const [stationId, view] of message.views) {
          this.#views.set(stationId, view);
          for (const listener of this.#listeners) {
            try {
              listener(stationId, view);
            } catch (err) {
              this.#o.logger.error({ err, stationId }, 'station change listener failed');
            }
          }
        }
        return;
      case 'committed':
        this.#o.onCommitted();
        return;
      case 'alerts':
        this.#o.onAlertsChanged(message.ids);
        return;
      case 'log':
        relog(this.#o.logger, message.line);
        return;
      case 'publish':
        void this.#publish(message.id, message.stationId, message.config);
        return;
      case 'inspected': {
        const resolve = this.#inspections.get(message.id);
        this.#inspections.delete(message.id);
        resolve?.(message.state === null ? null : decodeState(message.state));
        return;
      }
      case 'memory':
        this.#memoryRequests.get(message.id)?.(message);
        this.#memoryRequests.delete(message.id);
        return;
      case 'closed':
        return;
    }
  }

  async #publish(id: number, stationId: string, config: StationConfig): Promise<void> {
    let error: string | null = null;
    try {
      if (!this.#o.sampling) throw new Error('no broker edge to publish station configs');
      await this.#o.sampling.publish(stationId as Parameters<ConfigPublisher['publish']>[0], config);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.#post({ t: 'published', id, error });
  }
}

/**
 * The worker's script: the compiled engine-worker.js beside this file. Tests run this module from its TypeScript
 * source, where Node cannot start a .ts worker; they get the compiled one from dist/ (the test setup builds it).
 */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.js')) return new URL('./engine-worker.js', here);
  return new URL('../../dist/server/warnings/engine-worker.js', here);
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** Write a worker's log line through this thread's logger: its destination, its redaction, its bindings. */
function relog(logger: Logger, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    logger.warn({ line: line.slice(0, 200) }, 'unparseable log line from the rule engine thread');
    return;
  }
  const { level, msg, ...fields } = entry;
  // This thread's logger stamps its own time and pid.
  delete fields['time'];
  delete fields['pid'];
  delete fields['hostname'];
  const name = typeof level === 'number' ? logger.levels.labels[level] : undefined;
  const method = name !== undefined && LEVELS.has(name) ? (name as 'info') : 'info';
  logger[method](fields, typeof msg === 'string' ? msg : '');
}
