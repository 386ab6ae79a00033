import type { Statement } from '../registry/sql.js';
import type { AuditActorKind, AuditEntry, AuditOutcome, AuditPage, AuditQuery, Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';

/** What the audit hook records; `at` comes from the clock. */
export interface AuditRecord {
  actorKind: AuditActorKind;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  statusCode: number;
  remoteAddr: string | null;
  details: Record<string, unknown> | null;
}

interface PageParams {
  before: number;
  action: string | null;
  actionPrefix: string | null;
  actor: string | null;
  limit: number;
}

interface AuditRow {
  id: number;
  at: number;
  actor_kind: AuditActorKind;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  status_code: number;
  remote_addr: string | null;
  details: string | null;
}

/** `farmer.` matches every farmer action; LIKE wildcards typed by the caller are taken literally. */
function likePrefix(action: string): string {
  return `${action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The audit_log table (migration 7): append-only from the app; read newest first, paged by id. */
export class AuditLog {
  readonly #clock: Clock;
  readonly #insert: Statement<[number, AuditActorKind, string, string, string | null, AuditOutcome, number, string | null, string | null]>;
  readonly #page: Statement<[PageParams], AuditRow>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    this.#insert = db.prepare(
      `INSERT INTO audit_log (at, actor_kind, actor, action, target, outcome, status_code, remote_addr, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // One statement for every filter combination: a NULL parameter switches its condition off. (The CASTs tell
    // PostgreSQL the type of a parameter it otherwise meets only beside IS NULL.)
    this.#page = db.prepare(
      `SELECT * FROM audit_log
       WHERE id < @before
         AND (CAST(@action AS TEXT) IS NULL OR action = @action OR action LIKE @actionPrefix ESCAPE '\\')
         AND (CAST(@actor AS TEXT) IS NULL OR actor = @actor)
       ORDER BY id DESC LIMIT @limit`,
    );
  }

  record(entry: AuditRecord): number {
    const details = entry.details === null ? null : JSON.stringify(entry.details);
    const at = Math.round(this.#clock.now());
    const { actorKind, actor, action, target, outcome, statusCode, remoteAddr } = entry;
    return Number(this.#insert.run(at, actorKind, actor, action, target, outcome, statusCode, remoteAddr, details).lastInsertRowid);
  }

  page(query: AuditQuery): AuditPage {
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const action = query.action ?? null;
    const actor = query.actor ?? null;
    // One row more than asked tells whether an older page exists.
    const rows = this.#page.all({
      before,
      action,
      actionPrefix: action === null ? null : likePrefix(action),
      actor,
      limit: query.limit + 1,
    });
    const entries = rows.slice(0, query.limit).map(toEntry);
    const last = entries.at(-1);
    return { entries, nextBefore: rows.length > query.limit && last ? last.id : null };
  }
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: new Date(row.at).toISOString(),
    actorKind: row.actor_kind,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    statusCode: row.status_code,
    remoteAddr: row.remote_addr,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  };
}
