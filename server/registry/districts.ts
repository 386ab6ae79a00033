import { type Statement, uniqueViolation } from './sql.js';
import { type Clock, DEFAULT_DISTRICT_ID, type DistrictCreate } from '../../contracts/index.js';
import type { Db } from './db.js';

/** A district as the registry keeps it (migration 12). Times are epoch ms. */
export interface DistrictRecord {
  id: string;
  name: string;
  createdAt: number;
}

export type CreateDistrictResult = { ok: true; district: DistrictRecord } | { ok: false; reason: 'exists'; message: string };

interface DistrictRow {
  id: string;
  name: string;
  created_at: number;
}

/**
 * The province's districts. Never deleted: stations, farmers, officers and users name them (SQLite cannot hold that
 * reference as a foreign key, added by ALTER; PostgreSQL does), and an alert's history keeps its station's district.
 */
export class DistrictRepository {
  readonly #clock: Clock;
  readonly #insert: Statement<[DistrictRow]>;
  readonly #list: Statement<[], DistrictRow>;
  readonly #get: Statement<[string], DistrictRow>;
  readonly #byName: Statement<[string], DistrictRow>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    this.#insert = db.prepare('INSERT INTO districts (id, name, created_at) VALUES (@id, @name, @created_at)');
    this.#list = db.prepare('SELECT id, name, created_at FROM districts ORDER BY id');
    this.#get = db.prepare('SELECT id, name, created_at FROM districts WHERE id = ?');
    this.#byName = db.prepare('SELECT id, name, created_at FROM districts WHERE name = ?');
  }

  create(input: DistrictCreate): CreateDistrictResult {
    const name = input.name.normalize('NFC');
    if (this.#get.get(input.id)) return { ok: false, reason: 'exists', message: `district ${input.id} already exists` };
    if (this.#byName.get(name)) return { ok: false, reason: 'exists', message: `a district named ${name} already exists` };
    const row = { id: input.id, name, created_at: Math.round(this.#clock.now()) };
    try {
      this.#insert.run(row);
    } catch (error) {
      if (uniqueViolation(error) !== null) return { ok: false, reason: 'exists', message: `district ${input.id} already exists` };
      throw error;
    }
    return { ok: true, district: toRecord(row) };
  }

  list(): DistrictRecord[] {
    return this.#list.all().map(toRecord);
  }

  get(id: string): DistrictRecord | null {
    const row = this.#get.get(id);
    return row ? toRecord(row) : null;
  }

  exists(id: string): boolean {
    return this.#get.get(id) !== undefined;
  }

  /** The district's name for messages and reports; the id itself if it is unknown (never expected). */
  nameOf(id: string): string {
    return this.#get.get(id)?.name ?? id;
  }
}

/** Which district a new station, farmer or officer goes to when none is named: the caller's own, else the default. */
export function districtOrDefault(requested: string | undefined, callerDistrict: string | null): string {
  return requested ?? callerDistrict ?? DEFAULT_DISTRICT_ID;
}

function toRecord(row: DistrictRow): DistrictRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}
