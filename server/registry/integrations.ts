import { uniqueViolation } from './sql.js';
import {
  type Clock,
  type IntegrationAuthenticator,
  type IntegrationCreate,
  type IntegrationCredentials,
  type IntegrationKind,
  integrationUsername,
} from '../../contracts/index.js';
import { generateToken, verifyToken } from '../auth/station-tokens.js';
import { TokenKey, tokenKeyOf } from '../auth/token-key.js';
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
 * password is machine-made like a station token (256 random bits), shown once, kept as a keyed hash (token-key.ts);
 * one issued before the keyed hash is still a scrypt hash, replaced by the keyed one at its next good login.
 */
export class IntegrationRepository implements IntegrationAuthenticator {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #key: TokenKey;

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#key = tokenKeyOf(db);
  }

  /** null when an account of that kind and name exists already. A promise, as for the callers written when it was scrypt. */
  create(input: IntegrationCreate): Promise<IntegrationCredentials | null> {
    const username = integrationUsername(input.kind, input.name);
    if (this.get(username)) return Promise.resolve(null);
    const password = generateToken();
    const row: IntegrationRow = {
      username,
      kind: input.kind,
      name: input.name,
      secret_hash: this.#key.hash(password),
      created_at: Math.round(this.#clock.now()),
    };
    try {
      this.#db
        .prepare(
          'INSERT INTO integrations (username, kind, name, secret_hash, created_at) VALUES (@username, @kind, @name, @secret_hash, @created_at)',
        )
        .run(row);
    } catch (error) {
      if (uniqueViolation(error) === 'primary_key') return Promise.resolve(null);
      throw error;
    }
    return Promise.resolve({ username, password });
  }

  list(): IntegrationRecord[] {
    return this.#db.prepare<[], IntegrationRow>('SELECT * FROM integrations ORDER BY username').all().map(toRecord);
  }

  get(username: string): IntegrationRecord | null {
    const row = this.#row(username);
    return row ? toRecord(row) : null;
  }

  /** Removes the account; its open connections are refused from their next CONNECT. False when unknown. */
  remove(username: string): boolean {
    return this.#db.prepare('DELETE FROM integrations WHERE username = ?').run(username).changes === 1;
  }

  verify(username: string, password: Buffer): Promise<IntegrationKind | null> {
    const row = this.#row(username);
    if (!row) return Promise.resolve(null);
    if (this.#key.matches(password, row.secret_hash)) return Promise.resolve(row.kind);
    if (TokenKey.isKeyedHash(row.secret_hash)) return Promise.resolve(null);
    return this.#verifyLegacy(row, password);
  }

  /** A scrypt hash: one scrypt, then (compare-and-set) the keyed hash in its place, unless the account changed meanwhile. */
  async #verifyLegacy(row: IntegrationRow, password: Buffer): Promise<IntegrationKind | null> {
    if (!(await verifyToken(password, row.secret_hash))) return null;
    try {
      const { changes } = this.#db
        .prepare('UPDATE integrations SET secret_hash = ? WHERE username = ? AND secret_hash = ?')
        .run(this.#key.hash(password), row.username, row.secret_hash);
      if (changes === 1) return row.kind;
    } catch {
      // Busy or read-only registry: the upgrade waits for a later login; what is stored now still decides below.
    }
    const now = this.#row(row.username);
    if (!now) return null; // removed meanwhile
    return now.secret_hash === row.secret_hash || this.#key.matches(password, now.secret_hash) ? now.kind : null;
  }

  #row(username: string): IntegrationRow | undefined {
    return this.#db.prepare<[string], IntegrationRow>('SELECT * FROM integrations WHERE username = ?').get(username);
  }
}

function toRecord(row: IntegrationRow): IntegrationRecord {
  return { username: row.username, kind: row.kind, name: row.name, createdAt: row.created_at };
}
