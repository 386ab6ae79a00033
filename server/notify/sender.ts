import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemTimers, type Clock, type Timers } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { createEscalation, type EscalationOptions } from './escalation.js';
import { createEscalationScheduler, type EscalationResult } from './escalation-scheduler.js';
import { createNotifyMetrics } from './metrics.js';
import { OutboxRepository, type OutboxInsert, type OutboxRow } from './outbox.js';
import type { BackoffOptions } from './pacing.js';
import { createRecorder, type ProviderStatus } from './recorder.js';
import type { TwilioSender } from './twilio-client.js';
import { createWorker } from './worker.js';

export type { ProviderStatus } from './recorder.js';

export interface NotifierOptions {
  db: Db;
  /** null: dry run — rows are kept as `dry_run` with their composed text, nothing is sent. */
  twilio: TwilioSender | null;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
  /** The outbox it sends from; default one of its own on `db`. The warning pipeline shares one with its planner. */
  outbox?: OutboxRepository;
  /** Real-time waits (idle poll, retries, pacing, the escalation scan); default Node's timers. Tests pass fake ones. */
  timers?: Timers;
  /** SMS segments per second; default 1 (a long code). */
  rateLimitPerSec?: number;
  /** Calls placed per second; default 1 (Twilio's default CPS). */
  callsPerSec?: number;
  /** Requests in flight at once, each to a different (phone, channel); default 4. */
  concurrency?: number;
  /** Attempts before a row is given up; default 12 (about 10 minutes of backoff). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Real time between looks at the table when nothing is due (other processes may enqueue); default 1 s. */
  idlePollMs?: number;
  /** PostgreSQL: real time between recoveries of rows whose sender is gone; default 30 s (worker.ts). */
  recoverEveryMs?: number;
  /** PostgreSQL: wall time after its attempt started before such a row is recovered; default 30 s (worker.ts). */
  recoverGraceMs?: number;
  onGaveUp?(row: OutboxRow): void;
  onAcknowledged?(row: OutboxRow): void;
  /** Twilio refused an SMS with error 21610: the recipient opted out with Twilio itself. */
  onUnsubscribed?(row: OutboxRow): void;
  /** Voice escalation; omitted: unacknowledged calls are left as they are. */
  escalation?: EscalationOptions;
}

export interface Notifier {
  readonly outbox: OutboxRepository;
  /** Enqueue (idempotent by dedupe key) and wake the worker; returns the rows that were new. */
  enqueue(rows: readonly OutboxInsert[]): OutboxRow[];
  /** Wake the worker now (after rows were enqueued through the repository directly). */
  kick(): void;
  /** Status callback: update the row Twilio knows as `providerSid`. Undefined when the sid is unknown. */
  applyStatus(providerSid: string, status: ProviderStatus, error: string | null): OutboxRow | 'unchanged' | undefined;
  /** Keypress 1 on call `rowId`: true when this acknowledged it (false: unknown row, or already acknowledged). */
  acknowledge(rowId: number): boolean;
  /** Run one escalation scan now (the notifier also runs one every `scanEveryMs`). */
  checkEscalations(): EscalationResult;
  start(): void;
  /** Stop taking rows, let the requests in flight finish and be recorded, then return. Idempotent. */
  close(): Promise<void>;
}

/**
 * The notifier is three parts over one outbox table: the worker (worker.ts) decides what to send and when and talks
 * to Twilio; the recorder (recorder.ts) writes every answer durably, holding it while the database is locked; the
 * escalation scheduler (escalation-scheduler.ts) runs the scan of escalation.ts. This only wires them together.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { clock } = options;
  const timers = options.timers ?? systemTimers;
  const logger = options.logger.child({ module: 'notify' });
  const outbox = options.outbox ?? new OutboxRepository(options.db, clock);
  const recorder = createRecorder({ ...options, outbox, timers, logger, metrics: createNotifyMetrics(options.metrics, outbox) });
  const worker = createWorker({ ...options, outbox, recorder, timers, logger });
  const escalation =
    options.escalation === undefined
      ? null
      : createEscalationScheduler({
          escalation: createEscalation({ outbox, clock, logger }, options.escalation),
          timers,
          logger,
          onEscalated: () => worker.kick(),
        });
  let state: 'new' | 'running' | 'closed' = 'new';

  return {
    outbox,
    kick: () => worker.kick(),
    checkEscalations: () => escalation?.check() ?? { escalated: [], unreached: [] },
    enqueue(rows) {
      const created = outbox.enqueue(rows);
      if (created.length > 0) worker.kick();
      return created;
    },
    applyStatus: (providerSid, status, error) => recorder.applyStatus(providerSid, status, error),
    acknowledge: (rowId) => recorder.acknowledge(rowId),
    start() {
      if (state !== 'new') return;
      state = 'running';
      worker.start();
      escalation?.start();
    },
    async close() {
      state = 'closed';
      escalation?.stop();
      recorder.closing();
      await worker.close();
    },
  };
}
