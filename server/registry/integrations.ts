import Database from 'better-sqlite3';
import {
  type Clock,
  type IntegrationAuthenticator,
  type IntegrationCreate,
  type IntegrationCredentials,
  type IntegrationKind,
  integrationUsername,
} from '../../contracts/index.js';
import { generateToken, hashToken, verifyToken } from '../auth/station-tokens.js';
import type { Db } from './db.js';

export interface IntegrationRecord {
  username: string;
  kind: IntegrationKind;
  name: string;
  createdAt: number;
}

interface IntegrationRow {
  username: string;
  kind: IntegrationKind;
  name: string;
  secret_hash: string;
  created_at: number;
}

/**
 * MQTT accounts of other systems that publish into frostwatch's broker (a ChirpStack's MQTT integration). The
 * password is machine-made like a station token, shown once, kept as a scrypt hash.
 */
export class IntegrationRepository implements IntegrationAuthenticator {
  readonly #db: Db;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /** null when an account of that kind and name exists already. */
  async create(input: IntegrationCreate): Promise<IntegrationCredentials | null> {
    const username = integrationUsername(input.kind, input.name);
    if (this.get(username)) return null;
    const password = generateToken();
    const row: IntegrationRow = {
      username,
      kind: input.kind,
      name: input.name,
      secret_hash: await hashToken(password),
      created_at: Math.round(this.#clock.now()),
    };
    try {
      this.#db
        .prepare(
          'INSERT INTO integrations (username, kind, name, secret_hash, created_at) VALUES (@username, @kind, @name, @secret_hash, @created_at)',
        )
        .run(row);
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return null;
      throw error;
    }
    return { username, password };
  }

  list(): IntegrationRecord[] {
    return this.#db.prepare<[], IntegrationRow>('SELECT * FROM integrations ORDER BY username').all().map(toRecord);
  }

  get(username: string): IntegrationRecord | null {
    const row = this.#db.prepare<[string], IntegrationRow>('SELECT * FROM integrations WHERE username = ?').get(username);
    return row ? toRecord(row) : null;
  }

  /** Removes the account; its open connections are refused from their next CONNECT. False when unknown. */
  remove(username: string): boolean {
    return this.#db.prepare('DELETE FROM integrations WHERE username = ?').run(username).changes === 1;
  }

  async verify(username: string, password: Buffer): Promise<IntegrationKind | null> {
    const row = this.#db.prepare<[string], IntegrationRow>('SELECT * FROM integrations WHERE username = ?').get(username);
    if (!row) return null;
    return (await verifyToken(password, row.secret_hash)) ? row.kind : null;
  }
}

function toRecord(row: IntegrationRow): IntegrationRecord {
  return { username: row.username, kind: row.kind, name: row.name, createdAt: row.created_at };
}
