import { randomBytes } from 'node:crypto';
import type { Statement } from '../registry/sql.js';
import type { Logger } from 'pino';
import type { Clock } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { sha256 } from './station-tokens.js';
import { type UserRecord, UserRepository } from './users.js';

/** Sliding: a session lives 12 h after its last use (one officer's night shift and then some). */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Writing last_seen on every request would turn each dashboard poll into a write; once a minute is precise enough. */
const TOUCH_EVERY_MS = 60_000;
/** OWASP-style lockout: 5 failed sign-ins for one username lock it for 15 minutes. */
export const MAX_FAILURES = 5;
export const LOCKOUT_MS = 15 * 60_000;

interface SessionRow {
  user_id: number;
  expires_at: number;
  last_seen_at: number;
}

/**
 * Sessions keyed by sha256 of a random 32-byte id: the cookie holds the id, the table only its digest,
 * so a leaked backup cannot be replayed as a cookie. SHA-256 is enough here (unlike passwords) because the id has 256 bits.
 */
export class SessionStore {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #insert: Statement<[Buffer, number, number, number, number]>;
  readonly #get: Statement<[Buffer], SessionRow>;
  readonly #touch: Statement<[number, number, Buffer]>;
  readonly #delete: Statement<[Buffer]>;
  readonly #deleteExpired: Statement<[number]>;

  constructor(db: Db, clock: Clock, ttlMs = SESSION_TTL_MS) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#insert = db.prepare('INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)');
    this.#get = db.prepare('SELECT user_id, expires_at, last_seen_at FROM sessions WHERE id_hash = ?');
    this.#touch = db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?');
    this.#delete = db.prepare('DELETE FROM sessions WHERE id_hash = ?');
    this.#deleteExpired = db.prepare('DELETE FROM sessions WHERE expires_at <= ?');
  }

  /** A new session for `userId`; the returned id goes into the cookie and is never stored. */
  create(userId: number): string {
    const id = randomBytes(32).toString('base64url');
    const now = Math.round(this.#clock.now());
    this.#deleteExpired.run(now);
    this.#insert.run(sha256(id), userId, now, now + this.#ttlMs, now);
    return id;
  }

  /** The user id of a live session, extending it; null when unknown or expired (an expired row is removed). */
  resolve(id: string): number | null {
    const key = sha256(id);
    const row = this.#get.get(key);
    if (!row) return null;
    const now = Math.round(this.#clock.now());
    if (row.expires_at <= now) {
      this.#delete.run(key);
      return null;
    }
    if (now - row.last_seen_at >= TOUCH_EVERY_MS) this.#touch.run(now, now + this.#ttlMs, key);
    return row.user_id;
  }

  revoke(id: string): void {
    this.#delete.run(sha256(id));
  }
}

export type LockState = { locked: false } | { locked: true; retryAfterS: number };

interface FailureRow {
  failures: number;
  first_failed_at: number;
  locked_until: number | null;
}

/** Failed sign-ins per username, in SQLite so a restart does not hand an attacker five fresh tries. */
export class LoginThrottle {
  readonly #clock: Clock;
  readonly #get: Statement<[string], FailureRow>;
  readonly #upsert: Statement<[string, number, number, number | null]>;
  readonly #clear: Statement<[string]>;
  readonly #prune: Statement<[number, number]>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    this.#get = db.prepare('SELECT failures, first_failed_at, locked_until FROM login_failures WHERE username = ?');
    this.#upsert = db.prepare(
      `INSERT INTO login_failures (username, failures, first_failed_at, locked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, first_failed_at = excluded.first_failed_at, locked_until = excluded.locked_until`,
    );
    this.#clear = db.prepare('DELETE FROM login_failures WHERE username = ?');
    // Unknown usernames add rows too; anything whose window and lock are over carries no information.
    this.#prune = db.prepare('DELETE FROM login_failures WHERE first_failed_at <= ? AND (locked_until IS NULL OR locked_until <= ?)');
  }

  check(username: string): LockState {
    const lockedUntil = this.#get.get(username)?.locked_until ?? null;
    const now = this.#clock.now();
    if (lockedUntil === null || lockedUntil <= now) return { locked: false };
    return { locked: true, retryAfterS: Math.ceil((lockedUntil - now) / 1_000) };
  }

  /** Count a failure; the MAX_FAILURES-th within LOCKOUT_MS locks the username for LOCKOUT_MS. */
  fail(username: string): LockState {
    const now = Math.round(this.#clock.now());
    this.#prune.run(now - LOCKOUT_MS, now);
    const row = this.#get.get(username);
    const fresh = !row || row.first_failed_at <= now - LOCKOUT_MS || (row.locked_until !== null && row.locked_until <= now);
    const failures = fresh ? 1 : row.failures + 1;
    const firstFailedAt = fresh ? now : row.first_failed_at;
    const lockedUntil = failures >= MAX_FAILURES ? now + LOCKOUT_MS : null;
    this.#upsert.run(username, failures, firstFailedAt, lockedUntil);
    return lockedUntil === null ? { locked: false } : { locked: true, retryAfterS: Math.ceil(LOCKOUT_MS / 1_000) };
  }

  succeed(username: string): void {
    this.#clear.run(username);
  }
}

export type LoginResult =
  | { ok: true; user: UserRecord; sessionId: string }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'locked'; retryAfterS: number };

/** Everything sign-in needs, built once from the registry database. */
export class UserAuth {
  readonly users: UserRepository;
  readonly sessions: SessionStore;
  readonly throttle: LoginThrottle;
  readonly #logger: Logger;

  constructor(options: { db: Db; clock: Clock; logger: Logger; sessionTtlMs?: number }) {
    this.users = new UserRepository(options.db, options.clock);
    this.sessions = new SessionStore(options.db, options.clock, options.sessionTtlMs);
    this.throttle = new LoginThrottle(options.db, options.clock);
    this.#logger = options.logger;
  }

  /** Usernames are lower-case (UserCreateSchema); what a person types is matched case-insensitively. */
  async login(usernameTyped: string, password: string): Promise<LoginResult> {
    const username = usernameTyped.trim().toLowerCase();
    const lock = this.throttle.check(username);
    if (lock.locked) {
      this.#logger.warn({ username }, 'sign-in refused: locked out');
      return { ok: false, reason: 'locked', retryAfterS: lock.retryAfterS };
    }
    const user = await this.users.verifyPassword(username, password);
    if (!user) {
      const after = this.throttle.fail(username);
      this.#logger.warn({ username, lockedOut: after.locked }, 'sign-in failed');
      return { ok: false, reason: 'bad_credentials' };
    }
    this.throttle.succeed(username);
    this.#logger.info({ username, role: user.role }, 'signed in');
    return { ok: true, user, sessionId: this.sessions.create(user.id) };
  }

  /** The enabled user behind a session cookie, or null. */
  userForSession(sessionId: string): UserRecord | null {
    const userId = this.sessions.resolve(sessionId);
    if (userId === null) return null;
    const user = this.users.byId(userId);
    return user && !user.disabled ? user : null;
  }
}
