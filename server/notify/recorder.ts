import type { Logger } from 'pino';
import { maskPhone, type Clock, type Timers } from '../../contracts/index.js';
import type { NotifyMetrics } from './metrics.js';
import { ClaimLost, type OutboxRepository, type OutboxRow } from './outbox.js';
import { backoffMs, type BackoffOptions } from './pacing.js';
import { safely } from './safely.js';
import type { SendOutcome } from './twilio-client.js';

/** What a provider callback reports, already mapped to outbox statuses. */
export type ProviderStatus = 'sent' | 'delivered' | 'undelivered' | 'failed';

/** Twilio error 21610: "Attempt to send to unsubscribed recipient" — the phone replied STOP to Twilio's own opt-out. */
const UNSUBSCRIBED_RECIPIENT = 21610;

export interface RecorderOptions {
  outbox: OutboxRepository;
  clock: Clock;
  /** Real time: the wait between tries of a write that failed, and the close budget. */
  timers: Timers;
  logger: Logger;
  metrics: NotifyMetrics;
  /** Attempts before a row is given up; default 12 (about 10 minutes of backoff). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  onGaveUp?(row: OutboxRow): void;
  /** Twilio refused an SMS because the recipient opted out with Twilio itself (error 21610). */
  onUnsubscribed?(row: OutboxRow): void;
  onAcknowledged?(row: OutboxRow): void;
}

/** Everything that writes what the provider said into the outbox: request answers, status callbacks, keypresses. */
export interface Recorder {
  /**
   * Twilio's answer to a request for `row` (in `sending`), or the failure of that request. Resolves once written —
   * however long another process holds the database — or, once closing, when the close budget is spent.
   */
  record(row: OutboxRow, outcome: SendOutcome): Promise<void>;
  /** No Twilio credentials: keep `row` as `dry_run` with its text. Throws when the database cannot be written. */
  dryRun(row: OutboxRow): void;
  /** Status callback: update the row Twilio knows as `providerSid`. Undefined when the sid is unknown. */
  applyStatus(providerSid: string, status: ProviderStatus, error: string | null): OutboxRow | 'unchanged' | undefined;
  /** Keypress 1 on call `rowId`: true when this acknowledged it (false: unknown row, or already acknowledged). */
  acknowledge(rowId: number): boolean;
  /** The notifier is closing: an answer that still cannot be written is given up after the close budget. */
  closing(): void;
}

// 12 attempts with the 2 s → 2 min backoff span about 10 minutes: a provider outage of five minutes on the
// coldest night costs a delay, not a warning; after that the officers are told to phone.
const DEFAULT_MAX_ATTEMPTS = 12;
/** Real time between tries of an outbox write that failed (the database locked by another process). */
const STORE_RETRY_MS = 1_000;
/** Once closing, how long an answer from Twilio that could not be written yet is still held for the database. */
export const CLOSE_RECORD_BUDGET_MS = 10_000;

export function createRecorder(options: RecorderOptions): Recorder {
  const { outbox, clock, timers, logger, metrics } = options;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const random = options.random ?? Math.random;
  let closing = false;

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
        write(row, outcome);
        if (failures > 0) logger.info({ outboxId: row.id, failures }, "Twilio's answer recorded after the database was busy");
        return;
      } catch (error) {
        if (error instanceof ClaimLost) {
          // PostgreSQL only: this sender lost its session mid-request and another took the row over; its own attempt
          // decides the row now (it looked the message up at Twilio before sending it again).
          logger.warn(
            { outboxId: row.id, outcome: outcome.ok ? `sent ${outcome.sid}` : outcome.error, now: error.current?.status },
            "Twilio's answer came for a row another sender has taken over: not recorded",
          );
          return;
        }
        failures += 1;
        if (closing) closingSince ??= timers.now();
        if (closingSince !== null && timers.now() - closingSince > CLOSE_RECORD_BUDGET_MS) {
          logger.error(
            { err: error, outboxId: row.id },
            "could not record Twilio's answer before shutdown: the next start sends this row again",
          );
          return;
        }
        if (failures === 1 || failures % 60 === 0) {
          logger.warn({ err: error, outboxId: row.id, failures }, "could not record Twilio's answer: keeping it and trying again");
        }
        await new Promise<void>((resolve) => timers.after(STORE_RETRY_MS, resolve));
      }
    }
  }

  /** One try: the outcome decides the row's next state (sent, failed for good, given up, or retried after backoff). */
  function write(row: OutboxRow, outcome: SendOutcome): void {
    const log = { outboxId: row.id, channel: row.channel, phone: maskPhone(row.phone), attempt: row.attempts };
    if (outcome.ok) {
      outbox.markSent(row, outcome.sid);
      metrics.sent.inc({ channel: row.channel });
      logger.info({ ...log, sid: outcome.sid }, row.channel === 'sms' ? 'sms sent' : 'call placed');
    } else if (!outcome.retryable) {
      const failed = outbox.markFinal(row, 'failed', outcome.error);
      metrics.failed.inc({ channel: row.channel });
      logger.warn({ ...log, error: outcome.error }, 'provider refused: not retried');
      if (outcome.twilioCode === UNSUBSCRIBED_RECIPIENT) safely(logger, 'onUnsubscribed', () => options.onUnsubscribed?.(failed));
    } else if (row.attempts >= maxAttempts) {
      const gaveUp = outbox.markFinal(row, 'gave_up', outcome.error);
      metrics.gaveUp.inc({ channel: row.channel });
      logger.error({ ...log, error: outcome.error }, 'gave up after the last attempt');
      safely(logger, 'onGaveUp', () => options.onGaveUp?.(gaveUp));
    } else {
      const delayMs = backoffMs(row.attempts, options.backoff ?? {}, random);
      outbox.scheduleRetry(row, clock.now() + delayMs * clock.speed, outcome.error, outcome.unsure === true);
      metrics.retries.inc({ channel: row.channel });
      logger.warn({ ...log, error: outcome.error, retryInMs: delayMs }, 'send failed: will retry');
    }
  }

  return {
    record: recordDurably,
    dryRun(row) {
      outbox.markFinal(row, 'dry_run', null);
      metrics.dryRun.inc({ channel: row.channel });
      logger.info(
        { outboxId: row.id, channel: row.channel, phone: maskPhone(row.phone), segments: row.segments, body: row.body },
        'dry run: not sent',
      );
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
    closing() {
      closing = true;
    },
  };
}
