import type { Statement } from '../registry/sql.js';
import type { Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';

export type OutboxStatus =
  | 'pending'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'gave_up'
  | 'dry_run'
  /** Never sent, on purpose: the farmer opted out, or a newer warning replaced a row held for quiet hours. */
  | 'suppressed';
/**
 * What a row is for (migration 9): `warning` the night ladder, `all_clear` its end, `prealert` the afternoon forecast
 * SMS, `notice` to officers, `reply` a confirmation of a farmer's own choice, `survey` the morning damage call.
 */
export type Purpose = 'warning' | 'all_clear' | 'prealert' | 'notice' | 'reply' | 'survey';
export type RecipientKind = 'farmer' | 'contact' | 'officer';
export type Channel = 'sms' | 'voice';
export type Language = 'vi' | 'en';

/** What a producer (rule engine shell, escalation, officer notices) puts in the outbox. */
export interface OutboxInsert {
  /** One per (alert transition or notice, recipient, channel): enqueueing the same key again is a no-op. */
  dedupeKey: string;
  eventId: number | null;
  recipientKind: RecipientKind;
  recipientId: number;
  channel: Channel;
  /** E.164. */
  phone: string;
  language: Language;
  /** SMS text, or what the voice call says. */
  body: string;
  encoding: string;
  segments: number;
  costUsd: number;
  escalationStep?: number;
  /** Clock time before which it is not sent; default now. */
  notBeforeMs?: number;
  /** Default `notice` for officers, `warning` for anyone else. */
  purpose?: Purpose;
  /** Held for quiet hours until `notBeforeMs`: it heads no queue meanwhile, so nothing waits behind it. */
  heldQuiet?: boolean;
}

/** A stored row: what was enqueued, plus where it stands. */
export interface OutboxRow extends Omit<OutboxInsert, 'escalationStep' | 'notBeforeMs' | 'purpose' | 'heldQuiet'> {
  id: number;
  purpose: Purpose;
  heldQuiet: boolean;
  /** Survey calls: the damage the farmer keyed in. */
  answer: string | null;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: number;
  providerSid: string | null;
  lastError: string | null;
  escalationStep: number;
  ackedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Wall-clock start of the latest attempt (Date.now(), not the Clock): what Twilio's DateSent is compared with. */
  attemptedAtWall: number | null;
  /** The latest attempt may have reached Twilio without its answer reaching us: look before sending again. */
  unsure: boolean;
}

/** A recipient of an alert event that nothing has reached yet: no delivered SMS, no acknowledged call. */
export interface UnreachedRecipient {
  eventId: number;
  recipientKind: RecipientKind;
  recipientId: number;
  phone: string;
  /** Status of each of their rows for the event, e.g. ["sms:undelivered", "voice:sent"]. */
  statuses: string[];
  lastUpdatedAt: number;
}

interface SqlRow {
  id: number;
  dedupe_key: string;
  event_id: number | null;
  recipient_kind: RecipientKind;
  recipient_id: number;
  channel: Channel;
  phone: string;
  language: Language;
  body: string;
  encoding: string;
  segments: number;
  cost_usd: number;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  provider_sid: string | null;
  last_error: string | null;
  escalation_step: number;
  acked_at: number | null;
  created_at: number;
  updated_at: number;
  purpose: Purpose;
  held_quiet: 0 | 1;
  answer: string | null;
  attempted_at_wall: number | null;
  unsure: 0 | 1;
}

/** Twilio statuses that come back in callbacks, ranked so a late "sent" never undoes a "delivered". */
const STATUS_RANK: Partial<Record<OutboxStatus, number>> = { sending: 0, sent: 1, delivered: 2, undelivered: 2, failed: 2 };

const ESCALATION_SUFFIX = '#esc';

/** The dedupe key of escalation step `step` of a chain whose first call had `rootKey`. */
export function escalationKey(rootKey: string, step: number): string {
  return step === 0 ? rootKey : `${rootKey}${ESCALATION_SUFFIX}${step}`;
}

/** The first call's key, recovered from any step's key (inverse of `escalationKey`). */
export function escalationRootKey(row: Pick<OutboxRow, 'dedupeKey' | 'escalationStep'>): string {
  return row.escalationStep === 0 ? row.dedupeKey : row.dedupeKey.slice(0, -`${ESCALATION_SUFFIX}${row.escalationStep}`.length);
}

/** `escalationKey(escalationRootKey(o), o.escalation_step + 1)` in SQL, for row alias `o`. */
const NEXT_STEP_KEY_SQL = `(CASE WHEN o.escalation_step = 0 THEN o.dedupe_key
  ELSE substr(o.dedupe_key, 1, length(o.dedupe_key) - length('${ESCALATION_SUFFIX}' || o.escalation_step)) END)
  || '${ESCALATION_SUFFIX}' || (o.escalation_step + 1)`;

/**
 * Pending rows that head their (phone, channel) queue, for alias `o`. Only heads are sent: a phone never
 * gets Warning before Watch, even while Watch waits in backoff. A row in `sending` heads its queue too,
 * so nothing overtakes a request in flight.
 */
const QUEUE_HEAD_SQL = `o.status = 'pending' AND NOT EXISTS (
  SELECT 1 FROM outbox p WHERE p.phone = o.phone AND p.channel = o.channel AND p.id < o.id AND p.status IN ('pending', 'sending')
    AND p.held_quiet = 0)`;

export class OutboxRepository {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #insert: Statement<[Record<string, unknown>]>;
  readonly #get: Statement<[number], SqlRow>;
  readonly #bySid: Statement<[string], SqlRow>;
  readonly #nextDueOn: Statement<[number, Channel], SqlRow>;
  readonly #nextDue: Statement<[number], SqlRow>;
  readonly #update: Statement<[Record<string, unknown>]>;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#insert = db.prepare(`
      INSERT INTO outbox (dedupe_key, event_id, recipient_kind, recipient_id, channel, phone, language, body, encoding,
                          segments, cost_usd, status, attempts, next_attempt_at, escalation_step, created_at, updated_at,
                          purpose, held_quiet)
      VALUES (@dedupeKey, @eventId, @recipientKind, @recipientId, @channel, @phone, @language, @body, @encoding,
              @segments, @costUsd, 'pending', 0, @notBeforeMs, @escalationStep, @now, @now, @purpose, @heldQuiet)
      ON CONFLICT (dedupe_key) DO NOTHING`);
    this.#get = db.prepare('SELECT * FROM outbox WHERE id = ?');
    this.#bySid = db.prepare('SELECT * FROM outbox WHERE provider_sid = ?');
    this.#nextDue = db.prepare(`SELECT * FROM outbox o WHERE ${QUEUE_HEAD_SQL} AND o.next_attempt_at <= ? ORDER BY o.id LIMIT 1`);
    this.#nextDueOn = db.prepare(
      `SELECT * FROM outbox o WHERE ${QUEUE_HEAD_SQL} AND o.next_attempt_at <= ? AND o.channel = ? ORDER BY o.id LIMIT 1`,
    );
    this.#update = db.prepare(`
      UPDATE outbox SET status = @status, attempts = @attempts, next_attempt_at = @nextAttemptAt,
                        provider_sid = @providerSid, last_error = @lastError, acked_at = @ackedAt, updated_at = @now,
                        attempted_at_wall = @attemptedAtWall, unsure = @unsure
      WHERE id = @id`);
  }

  /** Insert the rows whose dedupe key is new, in one transaction; returns those rows, in input order. */
  enqueue(rows: readonly OutboxInsert[]): OutboxRow[] {
    const now = this.#clock.now();
    return this.#db.transaction(() => {
      const created: OutboxRow[] = [];
      for (const row of rows) {
        const result = this.#insert.run({
          ...row,
          escalationStep: row.escalationStep ?? 0,
          notBeforeMs: row.notBeforeMs ?? now,
          purpose: row.purpose ?? (row.recipientKind === 'officer' ? 'notice' : 'warning'),
          heldQuiet: row.heldQuiet === true ? 1 : 0,
          now,
        });
        if (result.changes === 1) created.push(this.#mustGet(Number(result.lastInsertRowid)));
      }
      return created;
    })();
  }

  get(id: number): OutboxRow | undefined {
    const row = this.#get.get(id);
    return row === undefined ? undefined : fromSql(row);
  }

  byProviderSid(sid: string): OutboxRow | undefined {
    const row = this.#bySid.get(sid);
    return row === undefined ? undefined : fromSql(row);
  }

  forEvent(eventId: number): OutboxRow[] {
    return this.#all('SELECT * FROM outbox WHERE event_id = ? ORDER BY id', eventId);
  }

  recent(limit: number): OutboxRow[] {
    return this.#all('SELECT * FROM outbox ORDER BY id DESC LIMIT ?', limit);
  }

  /** Recipients of alert events created since `sinceMs` with no delivered SMS and no acknowledged call. */
  unreached(sinceMs: number): UnreachedRecipient[] {
    const rows = this.#db
      .prepare<
        [number],
        { event_id: number; recipient_kind: RecipientKind; recipient_id: number; phone: string; statuses: string; last: number }
      >(
        `
        SELECT event_id, recipient_kind, recipient_id, MIN(phone) AS phone,
               group_concat(channel || ':' || status, ',') AS statuses, MAX(updated_at) AS last
        FROM outbox
        WHERE event_id IS NOT NULL AND created_at >= ?
        GROUP BY event_id, recipient_kind, recipient_id
        HAVING SUM(CASE WHEN channel = 'sms' AND status = 'delivered' THEN 1 ELSE 0 END) = 0
           AND SUM(CASE WHEN acked_at IS NOT NULL THEN 1 ELSE 0 END) = 0
        ORDER BY event_id, recipient_kind, recipient_id`,
      )
      .all(sinceMs);
    return rows.map((row) => ({
      eventId: row.event_id,
      recipientKind: row.recipient_kind,
      recipientId: row.recipient_id,
      phone: row.phone,
      statuses: row.statuses.split(','),
      lastUpdatedAt: row.last,
    }));
  }

  /** Rows waiting or in flight: the queue depth metric. */
  depth(): number {
    const row = this.#db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('pending', 'sending')").get();
    return row?.n ?? 0;
  }

  /** Clock time at which the earliest queue head is due, or null when nothing waits. */
  nextDueAt(): number | null {
    const row = this.#db
      .prepare<[], { t: number | null }>(`SELECT MIN(o.next_attempt_at) AS t FROM outbox o WHERE ${QUEUE_HEAD_SQL}`)
      .get();
    return row?.t ?? null;
  }

  /** The oldest pending row that is due and heads its (phone, channel) queue. */
  /** The oldest row due now that heads its (phone, channel) queue; only on `channel` when given. */
  nextDue(nowMs: number, channel?: Channel): OutboxRow | undefined {
    const row = channel === undefined ? this.#nextDue.get(nowMs) : this.#nextDueOn.get(nowMs, channel);
    return row === undefined ? undefined : fromSql(row);
  }

  /**
   * Voice rows whose call ended (answered, not answered, failed, given up) at least `ackTimeoutMs` ago
   * without a keypress, or whose end was never reported within `lostCallbackMs`, and whose next
   * escalation step does not exist yet. Only rows touched within `lookbackMs` are looked at.
   */
  escalationCandidates(nowMs: number, o: { ackTimeoutMs: number; lostCallbackMs: number; lookbackMs: number }): OutboxRow[] {
    return this.#db
      .prepare<Record<string, number>, SqlRow>(
        `
        SELECT * FROM outbox o
        WHERE o.channel = 'voice' AND o.purpose = 'warning' AND o.acked_at IS NULL AND o.updated_at >= @since
          AND ((o.status IN ('delivered', 'undelivered', 'failed', 'gave_up') AND o.updated_at <= @ended)
               OR (o.status = 'sent' AND o.updated_at <= @lost))
          AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.dedupe_key = ${NEXT_STEP_KEY_SQL})
        ORDER BY o.id`,
      )
      .all({ since: nowMs - o.lookbackMs, ended: nowMs - o.ackTimeoutMs, lost: nowMs - o.lostCallbackMs })
      .map(fromSql);
  }

  /**
   * Rows a previous process left in `sending` (it died around the HTTP request) go back to pending, keeping their
   * attempt count, and unsure: Twilio may have taken the message before the process died. Returns how many.
   */
  recoverInFlight(): number {
    return this.#db
      .prepare(
        "UPDATE outbox SET status = 'pending', unsure = 1, last_error = 'interrupted while sending', updated_at = ? WHERE status = 'sending'",
      )
      .run(this.#clock.now()).changes;
  }

  /**
   * Committed before the HTTP request, so a crash leaves evidence of the attempt, with its wall-clock start. The worker
   * passes the row with `unsure` cleared when Twilio's list showed the earlier attempt never arrived.
   */
  markSending(row: OutboxRow, wallNow: number = Date.now()): OutboxRow {
    return this.#set(row, { status: 'sending', attempts: row.attempts + 1, attemptedAtWall: wallNow });
  }

  markSent(row: OutboxRow, providerSid: string): OutboxRow {
    return this.#set(row, { status: 'sent', providerSid, lastError: null, unsure: false });
  }

  /** `unsure`: the attempt may have reached Twilio (a timeout or a dropped connection after the request went out). */
  scheduleRetry(row: OutboxRow, nextAttemptAt: number, error: string, unsure = false): OutboxRow {
    return this.#set(row, { status: 'pending', nextAttemptAt, lastError: error, unsure: row.unsure || unsure });
  }

  markFinal(row: OutboxRow, status: 'failed' | 'gave_up' | 'dry_run', error: string | null): OutboxRow {
    return this.#set(row, { status, lastError: error });
  }

  /**
   * Apply a provider status callback. Returns the updated row, `unchanged` when the callback is
   * stale (a late "sent" after "delivered"), or undefined for an unknown sid.
   */
  applyProviderStatus(
    providerSid: string,
    status: 'sent' | 'delivered' | 'undelivered' | 'failed',
    error: string | null,
  ): OutboxRow | 'unchanged' | undefined {
    const row = this.byProviderSid(providerSid);
    if (row === undefined) return undefined;
    const current = STATUS_RANK[row.status];
    const next = STATUS_RANK[status] ?? 0;
    if (current === undefined || current >= next) return 'unchanged';
    return this.#set(row, { status, lastError: error ?? row.lastError });
  }

  /**
   * Rows of a farmer (and of their escalation chain) not sent yet, except `keep` purposes, become `suppressed`:
   * what an opt-out does to messages already queued. Returns how many.
   */
  suppressPendingOf(farmerId: number, reason: string, keep: readonly Purpose[] = ['reply']): number {
    const placeholders = keep.map(() => '?').join(', ');
    return this.#db
      .prepare(
        `UPDATE outbox SET status = 'suppressed', last_error = ?, updated_at = ?
         WHERE status = 'pending' AND recipient_kind IN ('farmer', 'contact') AND recipient_id = ?
           ${keep.length > 0 ? `AND purpose NOT IN (${placeholders})` : ''}`,
      )
      .run(reason, this.#clock.now(), farmerId, ...keep).changes;
  }

  /** Every row of `purpose` not sent yet becomes `suppressed`: a pre-alert still queued at 17:00 is too late. */
  suppressPendingPurpose(purpose: Purpose, reason: string): number {
    return this.#db
      .prepare(`UPDATE outbox SET status = 'suppressed', last_error = ?, updated_at = ? WHERE status = 'pending' AND purpose = ?`)
      .run(reason, this.#clock.now(), purpose).changes;
  }

  /** A newer warning for a farmer replaces their messages still held for quiet hours (an all-clear that no longer holds). */
  supersedeHeld(farmerId: number): number {
    return this.#db
      .prepare(
        `UPDATE outbox SET status = 'suppressed', last_error = 'superseded by a newer warning', updated_at = ?
         WHERE status = 'pending' AND held_quiet = 1 AND recipient_kind = 'farmer' AND recipient_id = ?`,
      )
      .run(this.#clock.now(), farmerId).changes;
  }

  /** The keypress of a survey call; first answer wins. */
  recordAnswer(id: number, answer: string): OutboxRow | undefined {
    const changed = this.#db
      .prepare(`UPDATE outbox SET answer = ?, updated_at = ? WHERE id = ? AND answer IS NULL`)
      .run(answer, this.#clock.now(), id).changes;
    return changed === 1 ? this.get(id) : undefined;
  }

  /** First keypress wins; returns the row only when this call acknowledged it. */
  acknowledge(id: number): OutboxRow | undefined {
    const row = this.get(id);
    if (row === undefined || row.channel !== 'voice' || row.ackedAt !== null) return undefined;
    return this.#set(row, { ackedAt: this.#clock.now() });
  }

  #set(
    row: OutboxRow,
    changes: Partial<
      Pick<OutboxRow, 'status' | 'attempts' | 'nextAttemptAt' | 'providerSid' | 'lastError' | 'ackedAt' | 'attemptedAtWall' | 'unsure'>
    >,
  ): OutboxRow {
    const next = { ...row, ...changes, updatedAt: this.#clock.now() };
    this.#update.run({
      id: next.id,
      status: next.status,
      attempts: next.attempts,
      nextAttemptAt: next.nextAttemptAt,
      providerSid: next.providerSid,
      lastError: next.lastError,
      ackedAt: next.ackedAt,
      now: next.updatedAt,
      attemptedAtWall: next.attemptedAtWall,
      unsure: next.unsure ? 1 : 0,
    });
    return next;
  }

  #all(sql: string, param: number): OutboxRow[] {
    return this.#db.prepare<[number], SqlRow>(sql).all(param).map(fromSql);
  }

  #mustGet(id: number): OutboxRow {
    const row = this.get(id);
    if (row === undefined) throw new Error(`outbox row ${id} vanished inside its own transaction`);
    return row;
  }
}

function fromSql(row: SqlRow): OutboxRow {
  return {
    id: row.id,
    dedupeKey: row.dedupe_key,
    eventId: row.event_id,
    recipientKind: row.recipient_kind,
    recipientId: row.recipient_id,
    channel: row.channel,
    phone: row.phone,
    language: row.language,
    body: row.body,
    encoding: row.encoding,
    segments: row.segments,
    costUsd: row.cost_usd,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    providerSid: row.provider_sid,
    lastError: row.last_error,
    escalationStep: row.escalation_step,
    ackedAt: row.acked_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    purpose: row.purpose,
    heldQuiet: row.held_quiet === 1,
    answer: row.answer,
    attemptedAtWall: row.attempted_at_wall,
    unsure: row.unsure === 1,
  };
}
