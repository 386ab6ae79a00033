import type { Statement } from '../registry/sql.js';
import type { Db } from '../registry/db.js';

/** A fitted FFST minimum forecast, Tp = a·T₂ + b·Td₂ + c (Snyder & de Melo-Abreu 2005, ch. 5). */
export interface StoredFfstModel {
  a: number;
  b: number;
  c: number;
  n: number;
  rmseC: number;
  fittedAt: number;
}

export interface StationSettings {
  ruleOverrides: Record<string, unknown>;
  ffst: StoredFfstModel | null;
}

/** Per-station rule overrides and fitted models (`station_settings`). */
export class StationSettingsStore {
  readonly #get: Statement<[string], { rule_overrides: string; ffst: string | null }>;
  readonly #upsertFfst: Statement<[string, string, number]>;
  readonly #upsertOverrides: Statement<[string, string, number]>;

  constructor(db: Db) {
    this.#get = db.prepare('SELECT rule_overrides, ffst FROM station_settings WHERE station_id = ?');
    this.#upsertFfst = db.prepare(
      `INSERT INTO station_settings (station_id, ffst, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (station_id) DO UPDATE SET ffst = excluded.ffst, updated_at = excluded.updated_at`,
    );
    this.#upsertOverrides = db.prepare(
      `INSERT INTO station_settings (station_id, rule_overrides, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (station_id) DO UPDATE SET rule_overrides = excluded.rule_overrides, updated_at = excluded.updated_at`,
    );
  }

  get(stationId: string): StationSettings {
    const row = this.#get.get(stationId);
    if (!row) return { ruleOverrides: {}, ffst: null };
    return {
      ruleOverrides: JSON.parse(row.rule_overrides) as Record<string, unknown>,
      ffst: row.ffst === null ? null : (JSON.parse(row.ffst) as StoredFfstModel),
    };
  }

  saveFfst(stationId: string, model: StoredFfstModel): void {
    this.#upsertFfst.run(stationId, JSON.stringify(model), model.fittedAt);
  }

  saveOverrides(stationId: string, overrides: Record<string, unknown>, atMs: number): void {
    this.#upsertOverrides.run(stationId, JSON.stringify(overrides), atMs);
  }
}
