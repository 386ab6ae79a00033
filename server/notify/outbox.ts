import type { Statement } from '../registry/sql.js';
import type { Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { PgDb } from '../registry/pg/pg-db.js';

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
  /**
   * PostgreSQL: the sender session that last moved the row to `sending` (`<backend pid>:<backend start, µs>`); kept
   * after the attempt, so a late answer of that attempt can tell whether the row is still its own. Null on SQLite.
   */
  claimedBy: string | null;
}

/**
 * PostgreSQL: the answer of an attempt arrived for a row that is no longer that attempt's claim — the sender's session
 * was lost meanwhile, and another sender recovered the row and claimed it again (or finished it). Not written.
 */
export class ClaimLost extends Error {
  readonly current: OutboxRow | undefined;
  constructor(id: number, current: OutboxRow | undefined) {
    super(
      `outbox row ${id} was claimed by another sender (${current?.claimedBy ?? 'gone'}, ${current?.status ?? 'deleted'}) since this attempt`,
    );
    this.name = 'ClaimLost';
    this.current = current;
  }
}

/** A row just moved to `sending` by this sender, and when its previous attempt started (the unsure lookup's start). */
export interface Claimed {
  row: OutboxRow;
  previousAttemptWall: number | null;
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
  claimed_by: string | null;
}

/** Twilio statuses that come back in callbacks, ranked so a late "sent" never undoes a "delivered". */
const STATUS_RANK: Partial<Record<OutboxStatus, number>> = { sending: 0, sent: 1, delivered: 2, undelivered: 2, failed: 2 };
/** STATUS_RANK in SQL (kept in step with it; tests/integration/notify*): NULL, never less, for statuses without a rank. */
const STATUS_RANK_SQL = `CASE status WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'undelivered' THEN 2 WHEN 'failed' THEN 2 END`;

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

/*
 * Dispatch: choosing the next due queue head and moving it to `sending`, in each dialect. The rules are the same —
 * QUEUE_HEAD_SQL (a later row for a phone and channel waits while an earlier one is pending or sending; held rows head
 * no queue), due by `next_attempt_at`, optionally one channel (the one whose pacing allows a send), oldest id first —
 * and the statements differ only in who else may be choosing at the same moment:
 *
 * - SQLite (`frostwatch up`, one district): one process sends. The worker reads the head (`#nextDue`/`#nextDueOn`
 *   below) and then writes `sending` (`markSending`), two statements on one connection with nothing in between: no
 *   other sender exists to take the same row, and SQLite serialises writers anyway. These are the statements as they
 *   were before PostgreSQL, unchanged.
 * - PostgreSQL (`DATABASE_URL`, a province): any number of senders share the table. Between a read and a later write
 *   another sender could read the same head, and both would send it; so choosing and claiming are one statement
 *   (PG_CLAIM_SQL). `FOR UPDATE SKIP LOCKED` locks the row it picks and passes over rows another sender is locking at
 *   that moment; when a row it waited for changed underneath (claimed and committed by another), PostgreSQL re-checks
 *   `status = 'pending'` on the new version and moves on to the next row. The queue-head test still holds across
 *   senders: a head another sender is claiming is locked but still `pending` in this statement's snapshot, or already
 *   `sending` once committed, and either way the rows behind it stay blocked. `claimed_by` records which session
 *   claimed the row (PG_IDENTITY_SQL), so recovery (PG_RECOVER_SQL) takes back only rows whose session is gone.
 */

/** This session as a sender: `<backend pid>:<backend start in µs>` (a pid alone is reused by later backends). */
const PG_IDENTITY_OF_A = `a.pid::text || ':' || floor(extract(epoch FROM a.backend_start) * 1000000)::bigint::text`;
const PG_IDENTITY_SQL = `SELECT ${PG_IDENTITY_OF_A} AS identity, a.pid FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()`;

/**
 * One due queue head, moved to `sending` (or straight to `dry_run`) by this session in one statement. $1 now (clock
 * ms, whole), $2 this session's pid (a guard: should the connection have been replaced since the identity was read,
 * nothing is claimed under a stale name), $3 the identity, $4 updated_at, $5 the attempt's wall-clock start;
 * `channelParam` adds the channel. `previous_wall` is the attempt before this one: where an unsure row's lookup starts.
 */
const PG_PICK = `SELECT o.id, o.attempted_at_wall AS previous_wall FROM outbox o
      WHERE ${QUEUE_HEAD_SQL} AND o.next_attempt_at <= $1 AND pg_backend_pid() = $2`;
const PG_PICKED = `ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED`;
const PG_SET_SENDING = `status = 'sending', attempts = outbox.attempts + 1, attempted_at_wall = $5, claimed_by = $3, updated_at = $4`;
const PG_SET_DRY_RUN = `status = 'dry_run', claimed_by = $3, updated_at = $4`;
const PG_RETURNING = `FROM picked WHERE outbox.id = picked.id RETURNING outbox.*, picked.previous_wall`;
// The four statements, written out: every piece a constant (no value is ever spliced into SQL, tests/integration/injection).
const PG_CLAIM = {
  sending: `WITH picked AS (${PG_PICK} ${PG_PICKED}) UPDATE outbox SET ${PG_SET_SENDING} ${PG_RETURNING}`,
  sendingOnChannel: `WITH picked AS (${PG_PICK} AND o.channel = $6 ${PG_PICKED}) UPDATE outbox SET ${PG_SET_SENDING} ${PG_RETURNING}`,
  dryRun: `WITH picked AS (${PG_PICK} ${PG_PICKED}) UPDATE outbox SET ${PG_SET_DRY_RUN} ${PG_RETURNING}`,
  dryRunOnChannel: `WITH picked AS (${PG_PICK} AND o.channel = $5 ${PG_PICKED}) UPDATE outbox SET ${PG_SET_DRY_RUN} ${PG_RETURNING}`,
};

function pgClaimSql(set: 'sending' | 'dry_run', channel: boolean): string {
  if (set === 'sending') return channel ? PG_CLAIM.sendingOnChannel : PG_CLAIM.sending;
  return channel ? PG_CLAIM.dryRunOnChannel : PG_CLAIM.dryRun;
}

/**
 * Rows in `sending` whose claiming session no longer exists (not in pg_stat_activity: its process died, or lost its
 * connection), whose attempt started more than the grace ago ($2, wall ms: a sender that lost only its connection
 * has had time to finish its request and record the answer), go back to pending, unsure. A session listed with its
 * start hidden (another database user, without pg_read_all_stats) counts as alive when its pid matches: never take a
 * row from a sender that may be live. `claimed_by` stays, so a late answer of the interrupted attempt still finds it.
 */
const PG_RECOVER_SQL = `UPDATE outbox o SET status = 'pending', unsure = 1, last_error = 'interrupted while sending', updated_at = $1
  WHERE o.status = 'sending' AND (o.attempted_at_wall IS NULL OR o.attempted_at_wall <= $2)
    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                     WHERE a.pid::text = split_part(o.claimed_by, ':', 1)
                       AND (a.backend_start IS NULL OR ${PG_IDENTITY_OF_A} = o.claimed_by))
  RETURNING o.id`;

export class OutboxRepository {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #insert: Statement<[Record<string, unknown>]>;
  readonly #get: Statement<[number], SqlRow>;
  readonly #bySid: Statement<[string], SqlRow>;
  readonly #nextDueOn: Statement<[number, Channel], SqlRow>;
  readonly #nextDue: Statement<[number], SqlRow>;
  readonly #update: Statement<[Record<string, unknown>]>;
  /** PostgreSQL only: the same update, applied only while the row is still the claim the caller holds. */
  readonly #updateClaimed: Statement<[Record<string, unknown>]> | null;
  /** The registry on PostgreSQL, where any number of senders share the table; null on SQLite (one sender). */
  readonly #pg: PgDb | null;
  /** This sender's session identity, and the session (`PgDb.session`) it was read on. */
  #identity: { session: number; identity: string; pid: number } | null = null;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#pg = db instanceof PgDb ? db : null;
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
    // The answer of an attempt is written only to a row that is still that attempt's: in `sending` under the same
    // claim, or put back to pending by recovery and not claimed since (the answer then stops a needless resend).
    this.#updateClaimed =
      this.#pg === null
        ? null
        : db.prepare(`
      UPDATE outbox SET status = @status, attempts = @attempts, next_attempt_at = @nextAttemptAt,
                        provider_sid = @providerSid, last_error = @lastError, acked_at = @ackedAt, updated_at = @now,
                        attempted_at_wall = @attemptedAtWall, unsure = @unsure
      WHERE id = @id AND status IN ('pending', 'sending') AND claimed_by = @claimedBy`);
  }

  /** Whether several senders may share this outbox (PostgreSQL): recovery then runs while others keep sending. */
  get shared(): boolean {
    return this.#pg !== null;
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

  /**
   * The oldest row due now that heads its (phone, channel) queue; only on `channel` when given. A look, not a claim:
   * to send a row, `claimNext` it.
   */
  nextDue(nowMs: number, channel?: Channel): OutboxRow | undefined {
    const row = channel === undefined ? this.#nextDue.get(nowMs) : this.#nextDueOn.get(nowMs, channel);
    return row === undefined ? undefined : fromSql(row);
  }

  /**
   * The oldest due queue head (on `channel` when given), moved to `sending` for this sender with its attempt counted
   * and its wall-clock start; undefined when nothing is due. Never the same row to two senders (see the comment on
   * the dialects above PG_CLAIM_SQL).
   */
  claimNext(nowMs: number, channel?: Channel, wallNow: number = Date.now()): Claimed | undefined {
    if (this.#pg === null) {
      const due = this.nextDue(nowMs, channel);
      return due === undefined ? undefined : { row: this.markSending(due, wallNow), previousAttemptWall: due.attemptedAtWall };
    }
    const row = this.#claimPg('sending', nowMs, channel, wallNow);
    return row === undefined ? undefined : { row: fromSql(row), previousAttemptWall: row.previous_wall };
  }

  /**
   * Dry run (no Twilio credentials): the next due queue head, for the recorder to keep as `dry_run`. On PostgreSQL it
   * is already `dry_run` when returned, so no other sender takes it too.
   */
  claimNextDryRun(nowMs: number): OutboxRow | undefined {
    if (this.#pg === null) return this.nextDue(nowMs);
    const row = this.#claimPg('dry_run', nowMs, undefined, Date.now());
    return row === undefined ? undefined : fromSql(row);
  }

  /**
   * PostgreSQL: who this sender is (`claimed_by`), read once per session. Null on SQLite. The identity read may itself
   * open a new session (the previous one lost), so the session is taken after the read.
   */
  senderIdentity(): string | null {
    return this.#pg === null ? null : this.#currentIdentity(this.#pg).identity;
  }

  #currentIdentity(pg: PgDb): { identity: string; pid: number } {
    if (this.#identity !== null && this.#identity.session === pg.session) return this.#identity;
    const [row] = pg.query<{ identity: string; pid: number }>(PG_IDENTITY_SQL);
    if (row === undefined) throw new Error('pg_stat_activity does not list this session');
    this.#identity = { session: pg.session, identity: row.identity, pid: row.pid };
    return this.#identity;
  }

  #claimPg(
    set: 'sending' | 'dry_run',
    nowMs: number,
    channel: Channel | undefined,
    wallNow: number,
  ): (SqlRow & { previous_wall: number | null }) | undefined {
    const pg = this.#pg;
    if (pg === null) throw new Error('not on PostgreSQL');
    // Twice at most: when the session was replaced since the identity was read, the pid guard claims nothing, and the
    // second round claims under the new session's name.
    for (let round = 0; round < 2; round++) {
      const me = this.#currentIdentity(pg);
      const params: unknown[] = [Math.floor(nowMs), me.pid, me.identity, Math.round(this.#clock.now())];
      if (set === 'sending') params.push(Math.round(wallNow));
      if (channel !== undefined) params.push(channel);
      const [row] = pg.query<SqlRow & { previous_wall: number | null }>(pgClaimSql(set, channel !== undefined), params);
      if (row !== undefined || this.#identity?.session === pg.session) return row;
    }
    return undefined;
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
    return this.recoverAbandoned().length;
  }

  /**
   * The rows `recoverInFlight` puts back, by id. SQLite: every row in `sending` (one process sends, and this runs
   * as it starts). PostgreSQL: only rows whose claiming session is gone and whose attempt started at least
   * `graceMs` of wall time before `wallNow` (PG_RECOVER_SQL); never a row a live sender holds.
   */
  recoverAbandoned(wallNow: number = Date.now(), graceMs = 0): number[] {
    if (this.#pg === null) {
      return this.#db
        .prepare<[number], { id: number }>(
          "UPDATE outbox SET status = 'pending', unsure = 1, last_error = 'interrupted while sending', updated_at = ? WHERE status = 'sending' RETURNING id",
        )
        .all(this.#clock.now())
        .map((row) => row.id);
    }
    return this.#pg
      .query<{ id: number }>(PG_RECOVER_SQL, [Math.round(this.#clock.now()), Math.round(wallNow - graceMs)])
      .map((row) => row.id)
      .sort((a, b) => a - b);
  }

  /**
   * Committed before the HTTP request, so a crash leaves evidence of the attempt, with its wall-clock start. The worker
   * passes the row with `unsure` cleared when Twilio's list showed the earlier attempt never arrived.
   */
  markSending(row: OutboxRow, wallNow: number = Date.now()): OutboxRow {
    const sending = this.#set(row, { status: 'sending', attempts: row.attempts + 1, attemptedAtWall: wallNow });
    if (this.#pg === null) return sending;
    // PostgreSQL: a row taken this way (tests, tools) is claimed by this session like one from claimNext.
    const claimedBy = this.#currentIdentity(this.#pg).identity;
    this.#db.prepare('UPDATE outbox SET claimed_by = ? WHERE id = ?').run(claimedBy, row.id);
    return { ...sending, claimedBy };
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
    // Conditional on the rank in the statement too: two servers may take two callbacks of one message at once, and a
    // late "sent" must not undo a "delivered" the other just wrote.
    const lastError = error ?? row.lastError;
    const now = this.#clock.now();
    const changed = this.#db
      .prepare(`UPDATE outbox SET status = ?, last_error = ?, updated_at = ? WHERE id = ? AND ${STATUS_RANK_SQL} < ?`)
      .run(status, lastError, now, row.id, next).changes;
    return changed === 1 ? { ...row, status, lastError, updatedAt: now } : 'unchanged';
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
    // Conditional in the statement: two keypress callbacks taken by two servers at once acknowledge once.
    const now = this.#clock.now();
    const changed = this.#db
      .prepare('UPDATE outbox SET acked_at = ?, updated_at = ? WHERE id = ? AND acked_at IS NULL')
      .run(now, now, id).changes;
    return changed === 1 ? { ...row, ackedAt: now, updatedAt: now } : undefined;
  }

  #set(
    row: OutboxRow,
    changes: Partial<
      Pick<OutboxRow, 'status' | 'attempts' | 'nextAttemptAt' | 'providerSid' | 'lastError' | 'ackedAt' | 'attemptedAtWall' | 'unsure'>
    >,
  ): OutboxRow {
    const next = { ...row, ...changes, updatedAt: this.#clock.now() };
    const values = {
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
    };
    // PostgreSQL, the outcome of a claimed attempt: written only while the row is still that claim (#updateClaimed).
    // When it is not — the sender's session was lost, another sender recovered the row and claimed it again — nothing
    // is written and ClaimLost says so.
    if (this.#updateClaimed !== null && row.status === 'sending' && row.claimedBy !== null) {
      if (this.#updateClaimed.run({ ...values, claimedBy: row.claimedBy }).changes === 1) return next;
      throw new ClaimLost(row.id, this.get(row.id));
    }
    this.#update.run(values);
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
    claimedBy: row.claimed_by,
  };
}
