/**
 * The rule engine's worker thread (engine-thread.ts starts it). It runs the same FrostEngine the in-process server
 * runs, on its own connection to the registry (SQLite in WAL mode lets the two threads share the file): readings come
 * in as messages, and every decision commits here with its state and its outbox rows, in one transaction, as before.
 * What the main thread needs back goes as messages: changed views, "committed" (wake the notifier), alert ids (the
 * dashboard's events), log lines, station configs to publish and inspected states.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { type Clock, type StationConfig, nonDecreasing } from '../../contracts/index.js';
import { OutboxRepository } from '../notify/outbox.js';
import { parseQuietHours } from '../notify/quiet-hours.js';
import { openRegistry } from '../registry/open.js';
import { PeopleRepository } from '../registry/people.js';
import { StationRepository } from '../registry/stations.js';
import { AlertStore } from './alert-store.js';
import type { ClockLine, EngineWorkerData, FromWorker, ToWorker } from './engine-protocol.js';
import { FrostEngine } from './frost-engine.js';
import { OutboxPlanner } from './planner.js';
import { type StationView, viewChanged } from './rule-engine.js';
import { StationSettingsStore } from './station-settings.js';
import { encodeState } from './state-codec.js';

const port = parentPort;
if (!port) throw new Error('engine-worker.ts runs as a worker thread (engine-thread.ts starts it)');
const data = workerData as EngineWorkerData;
const send = (message: FromWorker): void => port.postMessage(message);

// Log lines go to the main thread, which writes them through its own logger (one destination, one redaction).
const logger = pino(
  { level: data.logLevel, base: { thread: 'rule-engine' } },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      send({ t: 'log', line: chunk.toString() });
      done();
    },
  }),
);

// Never back, like the main thread's (contracts/clock.ts): a wall clock stepping back makes nothing due twice.
let line = data.clock;
const clock: Clock = nonDecreasing(lineClock(() => line));
// Migrations were applied by the main thread; opening runs none. An empty list keeps this thread from ever trying.
const db = openRegistry(data.registry, logger, { migrations: [], applicationName: 'frostwatch rule engine' });
const stations = new StationRepository(db, clock);
const alerts = new AlertStore(db);
const outbox = new OutboxRepository(db, clock);
const messages = { timeZone: data.timeZone, smsCostUsdPerSegment: data.smsCostUsdPerSegment, stopHint: data.stopHint };
const planner = new OutboxPlanner(new PeopleRepository(db, clock), outbox, messages, {
  hours: parseQuietHours(data.quietHours, data.timeZone),
  now: () => clock.now(),
});

const pendingPublishes = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
let nextPublishId = 0;
const sampling = data.sampling
  ? {
      publish: (stationId: string, config: StationConfig): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          const id = (nextPublishId += 1);
          pendingPublishes.set(id, { resolve, reject });
          send({ t: 'publish', id, stationId, config });
        }),
    }
  : undefined;

const engine = new FrostEngine({
  db,
  stations,
  settings: new StationSettingsStore(db),
  alerts,
  planner,
  clock,
  logger,
  timeZone: data.timeZone,
  sampling,
  fastIntervalS: data.intervalsS.fastS,
  relaxedIntervalS: data.intervalsS.relaxedS,
  onCommitted: () => send({ t: 'committed' }),
});

// What goes back after each message: the views that changed (the newest per station) and the alerts touched.
const sentViews = new Map<string, StationView>();
const changedViews = new Map<string, StationView>();
const changedAlerts = new Set<number>();
engine.onStationChanged((stationId, view) => {
  if (viewChanged(sentViews.get(stationId), view)) changedViews.set(stationId, view);
});
alerts.onChange((alertId) => changedAlerts.add(alertId));

/** Send what the last evaluations changed; alert ids after a microtask, as the store queues its listeners. */
function report(readings: number): void {
  const views = [...changedViews];
  changedViews.clear();
  for (const [stationId, view] of views) sentViews.set(stationId, view);
  if (views.length > 0 || readings > 0) send({ t: 'evaluated', views, readings });
  queueMicrotask(() => {
    if (changedAlerts.size === 0) return;
    send({ t: 'alerts', ids: [...changedAlerts] });
    changedAlerts.clear();
  });
}

// Ticks are evaluated on this thread's own timers: their changes go out on the next turn.
let tickReport: NodeJS.Immediate | null = null;
engine.onStationChanged(() => {
  tickReport ??= setImmediate(() => {
    tickReport = null;
    report(0);
  });
});

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'readings': {
      let count = 0;
      for (const [stationId, readings] of message.batch) {
        count += readings.length;
        try {
          engine.onReadings(stationId, readings);
        } catch (err) {
          // SQLite locked past its busy timeout: the readings are durable; the state stays, the next reading decides again.
          logger.error({ err, stationId }, 'rule engine evaluation failed');
        }
      }
      report(count);
      return;
    }
    case 'clock':
      line = message.clock;
      break;
    case 'start':
      engine.start();
      return;
    case 'forget':
      engine.forget(message.stationId);
      return;
    case 'inspect': {
      const state = engine.stateOf(message.stationId);
      send({ t: 'inspected', id: message.id, state: state === null ? null : encodeState(state) });
      return;
    }
    case 'memory': {
      const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      send({ t: 'memory', id: message.id, heapUsed, heapTotal, external, arrayBuffers });
      return;
    }
    case 'published': {
      const pending = pendingPublishes.get(message.id);
      pendingPublishes.delete(message.id);
      if (message.error === null) pending?.resolve();
      else pending?.reject(new Error(message.error));
      return;
    }
    case 'close':
      void engine.close().finally(() => {
        db.close();
        for (const pending of pendingPublishes.values()) pending.reject(new Error('rule engine closed'));
        send({ t: 'closed' });
        port.close();
      });
      return;
  }
});

send({ t: 'ready' });

/** The main thread's clock rebuilt here: the same line through (realMs, simMs) with the same speed. */
/** The main thread's clock, copied as a line; a held line stands at its start until a `clock` message replaces it. */
function lineClock(current: () => ClockLine): Clock {
  return {
    now() {
      const l = current();
      return l.held ? l.simMs : l.simMs + (Date.now() - l.realMs) * l.speed;
    },
    speed: data.clock.speed,
  };
}
