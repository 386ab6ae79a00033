import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { maskPhone, type Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { createEscalation, type Escalation, type EscalationOptions } from './escalation.js';
import { OutboxRepository, type Channel, type OutboxInsert, type OutboxRow } from './outbox.js';
import { backoffMs, UnitRateLimiter, type BackoffOptions } from './pacing.js';
import { safely } from './safely.js';
import type { SendOutcome, TwilioSender } from './twilio-client.js';

export interface NotifierOptions {
  db: Db;
  /** null: dry run — rows are kept as `dry_run` with their composed text, nothing is sent. */
  twilio: TwilioSender | null;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
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
  onGaveUp?(row: OutboxRow): void;
  onAcknowledged?(row: OutboxRow): void;
  /** Voice escalation; omitted: unacknowledged calls are left as they are. */
  escalation?: EscalationOptions;
}

/** What a provider callback reports, already mapped to outbox statuses. */
export type ProviderStatus = 'sent' | 'delivered' | 'undelivered' | 'failed';

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
  /** Run one escalation scan now (the worker also runs one every `scanEveryMs`). */
  checkEscalations(): ReturnType<Escalation['check']>;
  start(): void;
  /** Stop taking rows, let the requests in flight finish and be recorded, then return. Idempotent. */
  close(): Promise<void>;
}

// 12 attempts with the 2 s → 2 min backoff span about 10 minutes: a provider outage of five minutes on the
// coldest night costs a delay, not a warning; after that the officers are told to phone.
const CHANNELS: readonly Channel[] = ['sms', 'voice'];

/** Real time between tries of an outbox write that failed (the database locked by another process). */
const STORE_RETRY_MS = 1_000;
/** Once closing, how long an answer from Twilio that could not be written yet is still held for the database. */
const CLOSE_RECORD_BUDGET_MS = 10_000;

const DEFAULTS = { rateLimitPerSec: 1, callsPerSec: 1, concurrency: 4, maxAttempts: 12, idlePollMs: 1_000 };

export function createNotifier(options: NotifierOptions): Notifier {
  const { clock, twilio } = options;
  const logger = options.logger.child({ module: 'notify' });
  const outbox = new OutboxRepository(options.db, clock);
  const config = { ...DEFAULTS, ...definedOnly(options) };
  const random = options.random ?? Math.random;
  const limiters: Record<Channel, UnitRateLimiter> = {
    sms: new UnitRateLimiter(config.rateLimitPerSec),
    voice: new UnitRateLimiter(config.callsPerSec),
  };
  const metrics = createMetrics(options.metrics, outbox);
  const escalation = options.escalation ? createEscalation({ outbox, clock, logger }, options.escalation) : null;
  const inFlight = new Set<Promise<void>>();
  let wake: (() => void) | null = null;
  let running: Promise<void> | null = null;
  let closing = false;
  let escalationTimer: NodeJS.Timeout | null = null;

  function kick(): void {
    wake?.();
  }

  /** Sleep until `ms` passed or someone kicks. */
  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      wake = done;
      function done(): void {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
    });
  }

  /** Real milliseconds until the earliest pending row is due, bounded by the poll interval. */
  function untilNextDueMs(): number {
    const dueAt = outbox.nextDueAt();
    // A head already due but not taken is blocked behind a request in flight, whose end kicks us.
    if (dueAt === null || dueAt <= clock.now()) return config.idlePollMs;
    return Math.min(config.idlePollMs, Math.max(1, (dueAt - clock.now()) / clock.speed));
  }

  /** Until the first paced channel may send again; 1 ms when its pause ran out since the loop looked (never Infinity). */
  function pacingDelayMs(): number {
    const delays = CHANNELS.map((c) => limiters[c].delayMs()).filter((ms) => ms > 0);
    return delays.length === 0 ? 1 : Math.min(...delays);
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!closing) {
      try {
        await step();
        failures = 0;
      } catch (error) {
        // The outbox could not be read or a row could not be claimed (another process holding the write lock past
        // busy_timeout): nothing was sent, so the row simply waits for the next look.
        failures += 1;
        if (failures === 1 || failures % 60 === 0) logger.warn({ err: error, failures }, 'outbox unavailable: trying again');
        await idle(STORE_RETRY_MS);
      }
    }
  }

  /** One turn of the worker: wait for room, pacing or a due row, or start one request. */
  async function step(): Promise<void> {
    if (inFlight.size >= config.concurrency) {
      await Promise.race(inFlight);
      return;
    }
    // Only channels whose pacing allows a send now: an SMS never waits behind a call held by the call rate.
    const ready = twilio === null ? CHANNELS : CHANNELS.filter((c) => limiters[c].delayMs() === 0);
    const nowMs = clock.now();
    const row =
      ready.length === CHANNELS.length ? outbox.nextDue(nowMs) : ready[0] === undefined ? undefined : outbox.nextDue(nowMs, ready[0]);
    if (row === undefined) {
      // Kicks may cut the wait short; the loop then asks again.
      const blocked = ready.length < CHANNELS.length && outbox.nextDue(nowMs) !== undefined;
      await idle(blocked ? pacingDelayMs() : untilNextDueMs());
      return;
    }
    if (twilio === null) {
      dryRun(row);
      return;
    }
    const sending = outbox.markSending(row);
    limiters[row.channel].take(row.channel === 'sms' ? row.segments : 1);
    const task = deliver(twilio, sending).finally(() => {
      inFlight.delete(task);
      kick();
    });
    inFlight.add(task);
  }

  function dryRun(row: OutboxRow): void {
    outbox.markFinal(row, 'dry_run', null);
    metrics.dryRun.inc({ channel: row.channel });
    logger.info(
      { outboxId: row.id, channel: row.channel, phone: maskPhone(row.phone), segments: row.segments, body: row.body },
      'dry run: not sent',
    );
  }

  async function deliver(provider: TwilioSender, row: OutboxRow): Promise<void> {
    let outcome: SendOutcome;
    try {
      outcome = row.channel === 'sms' ? await provider.sendSms(row) : await provider.placeCall(row);
    } catch (error) {
      logger.error({ err: error, outboxId: row.id }, 'bug while sending; retried like a provider failure');
      outcome = { ok: false, retryable: true, error: 'internal error while sending' };
    }
    await recordDurably(row, outcome);
  }

  /**
   * Twilio's answer exists only in memory until it is written. It is recorded in the same tick as it arrives — the
   * only window for a duplicate after a crash is between Twilio creating the message and that synchronous UPDATE —
   * and a write that fails (another process holding the SQLite write lock past busy_timeout) is tried again while
   * the row stays in `sending` at the head of its queue: nothing overtakes it, nothing sends it twice. Only a
   * process that dies, or closes for longer than CLOSE_RECORD_BUDGET_MS, before the write succeeds leaves the row
   * in `sending` for the next start to send again.
   */
  async function recordDurably(row: OutboxRow, outcome: SendOutcome): Promise<void> {
    let closingSince: number | null = null;
    for (let failures = 0; ;) {
      try {
        record(row, outcome);
        if (failures > 0) logger.info({ outboxId: row.id, failures }, "Twilio's answer recorded after the database was busy");
        return;
      } catch (error) {
        failures += 1;
        if (closing) closingSince ??= performance.now();
        if (closingSince !== null && performance.now() - closingSince > CLOSE_RECORD_BUDGET_MS) {
          logger.error(
            { err: error, outboxId: row.id },
            "could not record Twilio's answer before shutdown: the next start sends this row again",
          );
          return;
        }
        if (failures === 1 || failures % 60 === 0) {
          logger.warn({ err: error, outboxId: row.id, failures }, "could not record Twilio's answer: keeping it and trying again");
        }
        await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS));
      }
    }
  }

  function record(row: OutboxRow, outcome: SendOutcome): void {
    const log = { outboxId: row.id, channel: row.channel, phone: maskPhone(row.phone), attempt: row.attempts };
    if (outcome.ok) {
      outbox.markSent(row, outcome.sid);
      metrics.sent.inc({ channel: row.channel });
      logger.info({ ...log, sid: outcome.sid }, row.channel === 'sms' ? 'sms sent' : 'call placed');
    } else if (!outcome.retryable) {
      outbox.markFinal(row, 'failed', outcome.error);
      metrics.failed.inc({ channel: row.channel });
      logger.warn({ ...log, error: outcome.error }, 'provider refused: not retried');
    } else if (row.attempts >= config.maxAttempts) {
      const gaveUp = outbox.markFinal(row, 'gave_up', outcome.error);
      metrics.gaveUp.inc({ channel: row.channel });
      logger.error({ ...log, error: outcome.error }, 'gave up after the last attempt');
      safely(logger, 'onGaveUp', () => options.onGaveUp?.(gaveUp));
    } else {
      const delayMs = backoffMs(row.attempts, config.backoff ?? {}, random);
      outbox.scheduleRetry(row, clock.now() + delayMs * clock.speed, outcome.error);
      metrics.retries.inc({ channel: row.channel });
      logger.warn({ ...log, error: outcome.error, retryInMs: delayMs }, 'send failed: will retry');
    }
  }

  function checkEscalations(): ReturnType<Escalation['check']> {
    if (escalation === null) return { escalated: [], unreached: [] };
    const result = escalation.check();
    if (result.escalated.length > 0) kick();
    return result;
  }

  return {
    outbox,
    kick,
    checkEscalations,
    enqueue(rows) {
      const created = outbox.enqueue(rows);
      if (created.length > 0) kick();
      return created;
    },
    applyStatus(providerSid, status, error) {
      const result = outbox.applyProviderStatus(providerSid, status, error);
      if (result === undefined) logger.warn({ sid: providerSid, status }, 'status callback for an unknown sid');
      return result;
    },
    acknowledge(rowId) {
      const row = outbox.acknowledge(rowId);
      if (row === undefined) return false;
      logger.info({ outboxId: row.id, step: row.escalationStep, phone: maskPhone(row.phone) }, 'call acknowledged');
      safely(logger, 'onAcknowledged', () => options.onAcknowledged?.(row));
      return true;
    },
    start() {
      if (running !== null || closing) return;
      const recovered = outbox.recoverInFlight();
      if (recovered > 0) logger.warn({ rows: recovered }, 'rows interrupted while sending by the previous run: retrying them');
      running = run();
      if (escalation !== null) {
        escalationTimer = setInterval(() => safely(logger, 'escalation', () => checkEscalations()), escalation.scanEveryMs);
      }
    },
    async close() {
      closing = true;
      if (escalationTimer !== null) clearInterval(escalationTimer);
      escalationTimer = null;
      kick();
      await running;
      await Promise.all([...inFlight]);
    },
  };
}

function definedOnly(options: NotifierOptions): Partial<typeof DEFAULTS> & { backoff?: BackoffOptions } {
  const picked: Partial<typeof DEFAULTS> & { backoff?: BackoffOptions } = {};
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[key];
    if (value !== undefined) picked[key] = value;
  }
  if (options.backoff !== undefined) picked.backoff = options.backoff;
  return picked;
}

function createMetrics(registry: Registry, outbox: OutboxRepository) {
  const registers = [registry];
  const labelNames = ['channel'] as const;
  new Gauge({
    name: 'frostwatch_notify_queue_depth',
    help: 'Outbox rows waiting or in flight',
    registers,
    collect() {
      this.set(outbox.depth());
    },
  });
  return {
    sent: new Counter({ name: 'frostwatch_notify_sent_total', help: 'Messages and calls Twilio accepted', labelNames, registers }),
    failed: new Counter({ name: 'frostwatch_notify_failed_total', help: 'Rows Twilio refused for good (4xx)', labelNames, registers }),
    retries: new Counter({
      name: 'frostwatch_notify_retries_total',
      help: 'Failed attempts scheduled again (429, 5xx, timeouts)',
      labelNames,
      registers,
    }),
    gaveUp: new Counter({ name: 'frostwatch_notify_gave_up_total', help: 'Rows abandoned after the last attempt', labelNames, registers }),
    dryRun: new Counter({
      name: 'frostwatch_notify_dry_run_total',
      help: 'Rows composed but not sent (no Twilio credentials)',
      labelNames,
      registers,
    }),
  };
}
