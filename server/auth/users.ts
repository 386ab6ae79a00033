import { type Statement, uniqueViolation } from '../registry/sql.js';
import { type Clock, DEFAULT_DISTRICT_ID, type Role, type UserCreate } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { generateToken, hashToken, verifyToken } from './station-tokens.js';

/** The subject the bootstrap ADMIN_TOKEN acts as; no user may take the name, so logs and acknowledgements stay unambiguous. */
export const ADMIN_TOKEN_SUBJECT = 'admin-token';

/** A person who signs in to the dashboard. The password hash never leaves this module. */
export interface UserRecord {
  id: number;
  username: string;
  name: string;
  role: Role;
  createdAt: number;
  disabled: boolean;
  /** The one district the user sees and acts in; null: province-wide (always for an admin). */
  districtId: string | null;
}

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; reason: 'exists' | 'reserved' | 'invalid'; message: string };

interface UserRow {
  id: number;
  username: string;
  name: string;
  role: Role;
  created_at: number;
  disabled: 0 | 1;
  district_id: string | null;
}

const COLUMNS = 'id, username, name, role, created_at, disabled, district_id';

/** Users and their scrypt password hashes (`scrypt$N$r$p$salt$hash`, station-tokens.ts): people choose guessable passwords. */
export class UserRepository {
  readonly #clock: Clock;
  readonly #insert: Statement<
    [{ username: string; name: string; role: Role; password_hash: string; created_at: number; district_id: string | null }],
    void
  >;
  readonly #districtExists: Statement<[string], { one: number }>;
  readonly #districtName: Statement<[string], { name: string }>;
  readonly #list: Statement<[], UserRow>;
  readonly #byName: Statement<[string], UserRow & { password_hash: string }>;
  readonly #byId: Statement<[number], UserRow>;
  readonly #setDisabled: Statement<[number, string]>;
  /** Compared against when the username is unknown, so an unknown user costs the same scrypt as a known one. */
  readonly #dummyHash: Promise<string>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    this.#insert = db.prepare(
      `INSERT INTO users (username, name, role, password_hash, created_at, district_id)
       VALUES (@username, @name, @role, @password_hash, @created_at, @district_id)`,
    );
    this.#districtExists = db.prepare('SELECT 1 AS one FROM districts WHERE id = ?');
    this.#districtName = db.prepare('SELECT name FROM districts WHERE id = ?');
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM users ORDER BY username`);
    this.#byName = db.prepare(`SELECT ${COLUMNS}, password_hash FROM users WHERE username = ?`);
    this.#byId = db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?`);
    this.#setDisabled = db.prepare('UPDATE users SET disabled = ? WHERE username = ?');
    this.#dummyHash = hashToken(generateToken());
  }

  async create(input: UserCreate): Promise<CreateUserResult> {
    if (input.username === ADMIN_TOKEN_SUBJECT)
      return { ok: false, reason: 'reserved', message: `username ${ADMIN_TOKEN_SUBJECT} is reserved` };
    if (this.#byName.get(input.username)) return exists(input.username);
    // Omitted: the default district, as every officer and viewer before districts; null: province-wide.
    const districtId = input.role === 'admin' ? null : input.districtId === undefined ? DEFAULT_DISTRICT_ID : input.districtId;
    if (input.role === 'admin' && input.districtId != null)
      return { ok: false, reason: 'invalid', message: 'districtId: an admin is province-wide; leave it out' };
    if (districtId !== null && !this.#districtExists.get(districtId))
      return { ok: false, reason: 'invalid', message: `districtId: unknown district ${districtId}` };
    const passwordHash = await hashToken(input.password);
    const createdAt = Math.round(this.#clock.now());
    try {
      this.#insert.run({
        username: input.username,
        name: input.name,
        role: input.role,
        password_hash: passwordHash,
        created_at: createdAt,
        district_id: districtId,
      });
    } catch (error) {
      if (uniqueViolation(error) !== null) return exists(input.username);
      throw error;
    }
    const row = this.#byName.get(input.username);
    if (!row) throw new Error(`user ${input.username} vanished right after insert`);
    return { ok: true, user: toRecord(row) };
  }

  /** The name of a user's district, for /api/me and the dashboard's header; the id itself if unknown. */
  districtName(districtId: string): string {
    return this.#districtName.get(districtId)?.name ?? districtId;
  }

  list(): UserRecord[] {
    return this.#list.all().map(toRecord);
  }

  get(username: string): UserRecord | null {
    const row = this.#byName.get(username);
    return row ? toRecord(row) : null;
  }

  byId(id: number): UserRecord | null {
    const row = this.#byId.get(id);
    return row ? toRecord(row) : null;
  }

  /** False when the user is unknown. A disabled user keeps their sessions table rows but can no longer use them. */
  setDisabled(username: string, disabled: boolean): boolean {
    return this.#setDisabled.run(disabled ? 1 : 0, username).changes === 1;
  }

  /**
   * The user when `password` is theirs and they are enabled, else null. Runs scrypt in every case
   * (unknown user, disabled user) so the answer time does not tell which usernames exist.
   */
  async verifyPassword(username: string, password: string): Promise<UserRecord | null> {
    const row = this.#byName.get(username);
    const matches = await verifyToken(password, row?.password_hash ?? (await this.#dummyHash));
    if (!row || !matches || row.disabled === 1) return null;
    return toRecord(row);
  }
}

function exists(username: string): CreateUserResult {
  return { ok: false, reason: 'exists', message: `user ${username} already exists` };
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    disabled: row.disabled === 1,
    districtId: row.district_id,
  };
}
