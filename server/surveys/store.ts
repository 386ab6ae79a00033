import type { Statement } from '../registry/sql.js';
import type { Clock, Damage, Survey, SurveyCreate } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';
import { canonicalCommune } from '../registry/people-rows.js';

interface SurveyRow {
  id: number;
  night: string;
  commune: string;
  farmer_id: number | null;
  farmer_name: string | null;
  damage: Damage;
  note: string | null;
  source: 'officer' | 'keypress';
  recorded_by: string;
  recorded_at: number;
}

/** Damage in order of harm, for "the worst of a commune's reports". */
export const DAMAGE_RANK: Record<Damage, number> = { none: 0, leaf_burn: 1, young_trees_lost: 2, severe: 3 };

/**
 * The morning after (docs/operations.md, "Damage surveys"): what officers and farmers found, per commune or farm.
 * Every report is kept — a second visit to the same farm adds a row, the season score takes the worst.
 */
export class SurveyStore {
  readonly #clock: Clock;
  readonly #insert: Statement<[Record<string, unknown>]>;
  readonly #get: Statement<[number], SurveyRow>;
  readonly #between: Statement<[string, string], SurveyRow>;

  constructor(db: Db, clock: Clock) {
    this.#clock = clock;
    const select = `SELECT s.*, f.name AS farmer_name FROM surveys s LEFT JOIN farmers f ON f.id = s.farmer_id`;
    this.#insert = db.prepare(
      `INSERT INTO surveys (night, commune, farmer_id, damage, note, source, recorded_by, recorded_at)
       VALUES (@night, @commune, @farmerId, @damage, @note, @source, @recordedBy, @recordedAt)`,
    );
    this.#get = db.prepare(`${select} WHERE s.id = ?`);
    this.#between = db.prepare(`${select} WHERE s.night >= ? AND s.night <= ? ORDER BY s.night, s.commune, s.id`);
  }

  record(input: SurveyCreate & { farmerId?: number | undefined }, source: Survey['source'], recordedBy: string): Survey {
    const id = Number(
      this.#insert.run({
        night: input.night,
        commune: canonicalCommune(input.commune),
        farmerId: input.farmerId ?? null,
        damage: input.damage,
        note: input.note?.normalize('NFC') ?? null,
        source,
        recordedBy,
        recordedAt: Math.round(this.#clock.now()),
      }).lastInsertRowid,
    );
    const row = this.#get.get(id);
    if (!row) throw new Error(`survey ${id} vanished right after it was written`);
    return toSurvey(row);
  }

  between(fromNight: string, toNight: string): Survey[] {
    return this.#between.all(fromNight, toNight).map(toSurvey);
  }
}

function toSurvey(r: SurveyRow): Survey {
  return {
    id: r.id,
    night: r.night,
    commune: r.commune,
    farmerId: r.farmer_id,
    farmerName: r.farmer_name,
    damage: r.damage,
    note: r.note,
    source: r.source,
    recordedBy: r.recorded_by,
    recordedAt: new Date(r.recorded_at).toISOString(),
  };
}
