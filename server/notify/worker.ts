import type { Logger } from 'pino';
import { type Clock, type Timers, maskPhone } from '../../contracts/index.js';
import type { Channel, OutboxRepository, OutboxRow } from './outbox.js';
import { UnitRateLimiter } from './pacing.js';
import type { Recorder } from './recorder.js';
import type { SendOutcome, TwilioSender } from './twilio-client.js';

export interface WorkerOptions {
  outbox: OutboxRepository;
  /** null: dry run — each due row goes to the recorder as `dry_run`, nothing is sent. */
  twilio: TwilioSender | null;
  /** Where every answer goes; the worker only decides what to send and when. */
  recorder: Pick<Recorder, 'record' | 'dryRun'>;
  clock: Clock;
  /** Real time: idle polls, pacing (a provider's rate is per real second), the wait after a failed read. */
  timers: Timers;
  logger: Logger;
  /** SMS segments per second; default 1 (a long code). */
  rateLimitPerSec?: number;
  /** Calls placed per second; default 1 (Twilio's default CPS). */
  callsPerSec?: number;
  /** Requests in flight at once, each to a different (phone, channel); default 4. */
  concurrency?: number;
  /** Real time between looks at the table when nothing is due (other processes may enqueue); default 1 s. */
  idlePollMs?: number;
  /**
   * PostgreSQL (several senders): real time between recoveries of rows whose sender died while others keep running;
   * default 30 s. SQLite recovers only at start (one sender).
   */
  recoverEveryMs?: number;
  /**
   * PostgreSQL: how long after its attempt started a row of a vanished session may be recovered, in wall ms; default
   * 30 s, longer than a Twilio request may take (10 s), so a sender that lost only its connection records its own
   * answer first.
   */
  recoverGraceMs?: number;
}

/** The loop that takes due rows from the outbox and sends them, paced per channel, a few at a time. */
export interface Worker {
  /** Put rows the previous run left in `sending` back in line, and start the loop. Once only. */
  start(): void;
  /** Wake the loop now (rows were enqueued, a request ended). */
  kick(): void;
  /** Stop taking rows, wait for the requests in flight (their answers recorded), then return. Idempotent. */
  close(): Promise<void>;
}

const CHANNELS: readonly Channel[] = ['sms', 'voice'];
/** Real time before the loop looks again after the outbox could not be read or a row claimed. */
const READ_RETRY_MS = 1_000;
export const DEFAULT_RECOVER_EVERY_MS = 30_000;
export const DEFAULT_RECOVER_GRACE_MS = 30_000;

export function createWorker(options: WorkerOptions): Worker {
  const { outbox, twilio, recorder, clock, timers, logger } = options;
  const concurrency = options.concurrency ?? 4;
  const idlePollMs = options.idlePollMs ?? 1_000;
  const limiters: Record<Channel, UnitRateLimiter> = {
    sms: new UnitRateLimiter(options.rateLimitPerSec ?? 1, () => timers.now()),
    voice: new UnitRateLimiter(options.callsPerSec ?? 1, () => timers.now()),
  };
  const inFlight = new Set<Promise<void>>();
  let wake: (() => void) | null = null;
  let running: Promise<void> | null = null;
  let closing = false;

  function kick(): void {
    wake?.();
  }

  /** Sleep until `ms` passed or someone kicks. */
  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = timers.after(ms, done);
      wake = done;
      function done(): void {
        cancel();
        wake = null;
        resolve();
      }
    });
  }

  /** Real milliseconds until the earliest pending row is due, bounded by the poll interval. */
  function untilNextDueMs(): number {
    const dueAt = outbox.nextDueAt();
    // A head already due but not taken is blocked behind a request in flight, whose end kicks us.
    if (dueAt === null || dueAt <= clock.now()) return idlePollMs;
    return Math.min(idlePollMs, Math.max(1, (dueAt - clock.now()) / clock.speed));
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
        await idle(READ_RETRY_MS);
      }
    }
  }

  /** One turn of the worker: wait for room, pacing or a due row, or start one request. */
  async function step(): Promise<void> {
    if (inFlight.size >= concurrency) {
      await Promise.race(inFlight);
      return;
    }
    // Only channels whose pacing allows a send now: an SMS never waits behind a call held by the call rate.
    const ready = twilio === null ? CHANNELS : CHANNELS.filter((c) => limiters[c].delayMs() === 0);
    const nowMs = clock.now();
    if (twilio === null) {
      const row = outbox.claimNextDryRun(nowMs);
      if (row === undefined) await idle(untilNextDueMs());
      else recorder.dryRun(row);
      return;
    }
    // Choosing the row and claiming it in `sending` is one step (OutboxRepository.claimNext): on PostgreSQL other
    // senders choose from the same table at the same moment.
    const claimed =
      ready.length === CHANNELS.length ? outbox.claimNext(nowMs) : ready[0] === undefined ? undefined : outbox.claimNext(nowMs, ready[0]);
    if (claimed === undefined) {
      // Kicks may cut the wait short; the loop then asks again.
      const blocked = ready.length < CHANNELS.length && outbox.nextDue(nowMs) !== undefined;
      await idle(blocked ? pacingDelayMs() : untilNextDueMs());
      return;
    }
    const { row: sending, previousAttemptWall } = claimed;
    limiters[sending.channel].take(sending.channel === 'sms' ? sending.segments : 1);
    const task = deliver(twilio, sending, previousAttemptWall).finally(() => {
      inFlight.delete(task);
      kick();
    });
    inFlight.add(task);
  }

  /**
   * One request for `row`, claimed in `sending`. An unsure row — its last attempt may have reached Twilio (a crash or
   * a timeout inside the request) — is first looked up in Twilio's list: found, it is recorded as sent and not sent
   * again; not found, it is sent as a first copy; when Twilio cannot be asked, it is sent anyway (a second SMS is
   * better than a missed warning).
   */
  async function deliver(provider: TwilioSender, claimed: OutboxRow, previousAttemptWall: number | null): Promise<void> {
    let row = claimed;
    let outcome: SendOutcome;
    try {
      const earlier = row.unsure ? await lookUp(provider, row, previousAttemptWall ?? row.createdAt) : undefined;
      if (earlier === null) row = { ...row, unsure: false };
      outcome =
        earlier !== undefined && earlier !== null
          ? { ok: true, ...earlier }
          : row.channel === 'sms'
            ? await provider.sendSms(row)
            : await provider.placeCall(row);
    } catch (error) {
      logger.error({ err: error, outboxId: row.id }, 'bug while sending; retried like a provider failure');
      outcome = { ok: false, retryable: true, error: 'internal error while sending', unsure: true };
    }
    await recorder.record(row, outcome);
  }

  /** Twilio's copy of an earlier attempt of `row`; null when it has none; undefined when it could not be asked. */
  async function lookUp(
    provider: TwilioSender,
    row: OutboxRow,
    sinceWallMs: number,
  ): Promise<{ sid: string; status: string } | null | undefined> {
    const log = { outboxId: row.id, channel: row.channel, phone: maskPhone(row.phone) };
    const answer = await provider.findSent(row, sinceWallMs);
    if (!answer.ok) {
      logger.warn({ ...log, error: answer.error }, 'could not ask Twilio whether an interrupted attempt went out: sending again');
      return undefined;
    }
    // A sid another row owns is that row's message (the same text twice to one phone, e.g. a repeated notice).
    const mine = answer.found.find((m) => outbox.byProviderSid(m.sid) === undefined);
    if (mine === undefined) {
      logger.info(log, 'Twilio has no copy of the interrupted attempt: sending it');
      return null;
    }
    logger.warn({ ...log, sid: mine.sid }, 'Twilio already had this message from an attempt whose answer was lost: not sent again');
    return mine;
  }

  const recoverGraceMs = options.recoverGraceMs ?? DEFAULT_RECOVER_GRACE_MS;
  let stopRecovery: (() => void) | null = null;

  /**
   * Rows left in `sending` by a sender that is gone go back in line, unsure (looked up at Twilio before they are sent
   * again). SQLite: at start, every such row (the previous run's). PostgreSQL: at start and then periodically, only
   * rows whose claiming session has vanished (OutboxRepository.recoverAbandoned) — one indexed UPDATE each time.
   */
  function recover(at: 'start' | 'periodic'): void {
    const ids = outbox.shared ? outbox.recoverAbandoned(Date.now(), recoverGraceMs) : outbox.recoverAbandoned();
    if (ids.length === 0) return;
    logger.warn(
      { rows: ids.length, outboxIds: ids },
      at === 'start' && !outbox.shared
        ? 'rows interrupted while sending by the previous run: retrying them'
        : 'rows left in sending by a sender that is gone: retrying them',
    );
    kick();
  }

  return {
    kick,
    start() {
      if (running !== null || closing) return;
      recover('start');
      if (outbox.shared) {
        logger.info({ sender: outbox.senderIdentity() }, 'outbox sender session (claimed_by)');
        stopRecovery = timers.every(options.recoverEveryMs ?? DEFAULT_RECOVER_EVERY_MS, () => {
          try {
            recover('periodic');
          } catch (error) {
            // The database unreachable: the next round finds the same rows.
            logger.warn({ err: error }, 'could not recover rows of vanished senders: trying again later');
          }
        });
      }
      running = run();
    },
    async close() {
      closing = true;
      stopRecovery?.();
      stopRecovery = null;
      kick();
      await running;
      await Promise.all([...inFlight]);
    },
  };
}
