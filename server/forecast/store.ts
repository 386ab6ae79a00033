import type { Statement } from '../registry/sql.js';
import type { ForecastHour, MinimumPair, NightSummary } from '../../frost/index.js';
import type { Db } from '../registry/db.js';

export type Lead = 'tonight' | 'tomorrow';

export interface FetchState {
  fetchedAt: number | null;
  attemptedAt: number;
  lastError: string | null;
  hours: ForecastHour[];
}

export interface PreAlertRecord {
  stationId: string;
  night: string;
  lead: Lead;
  decidedAt: number;
  forecastMinC: number;
  correctedMinC: number;
  cloudPct: number;
  windMs: number;
  dewPointC: number;
}

interface FetchRow {
  station_id: string;
  fetched_at: number | null;
  attempted_at: number;
  last_error: string | null;
  hours: string | null;
}

/** Migration 9's forecast tables: the last forecast of each station, the nights it described, the pre-alerts decided. */
export class ForecastStore {
  readonly #db: Db;
  readonly #stmt: {
    saveFetch: Statement<[{ station_id: string; at: number; hours: string }]>;
    saveFailure: Statement<[{ station_id: string; at: number; error: string }]>;
    fetch: Statement<[string], FetchRow>;
    saveNight: Statement<[Record<string, unknown>]>;
    missingObserved: Statement<[string], { station_id: string; night: string }>;
    setObserved: Statement<[number, string, string]>;
    pairs: Statement<[string, Lead], { forecast_min_c: number; observed_min_c: number }>;
    insertPreAlert: Statement<[Record<string, unknown>]>;
    preAlertsOf: Statement<[string], PreAlertRow>;
    preAlertsBetween: Statement<[string, string], PreAlertRow>;
    hasPreAlert: Statement<[string, string], { one: number }>;
    unfetched: Statement<[], { n: number }>;
    decided: Statement<[{ day: string; station_id: string; at: number; fresh: number }]>;
    decisionsOn: Statement<[string], { station_id: string; fresh: number }>;
    preAlertsDecided: Statement<[number, number], PreAlertRow>;
  };

  constructor(db: Db) {
    this.#db = db;
    this.#stmt = {
      saveFetch: db.prepare(
        `INSERT INTO forecast_fetches (station_id, fetched_at, attempted_at, last_error, hours) VALUES (@station_id, @at, @at, NULL, @hours)
         ON CONFLICT (station_id) DO UPDATE SET fetched_at = @at, attempted_at = @at, last_error = NULL, hours = @hours`,
      ),
      // A failure keeps the last good forecast: it is shown as stale, never thrown away.
      saveFailure: db.prepare(
        `INSERT INTO forecast_fetches (station_id, fetched_at, attempted_at, last_error, hours) VALUES (@station_id, NULL, @at, @error, NULL)
         ON CONFLICT (station_id) DO UPDATE SET attempted_at = @at, last_error = @error`,
      ),
      fetch: db.prepare('SELECT * FROM forecast_fetches WHERE station_id = ?'),
      saveNight: db.prepare(
        `INSERT INTO forecast_nights (station_id, night, lead, fetched_at, forecast_min_c, cloud_pct, wind_ms, dew_point_c)
         VALUES (@stationId, @night, @lead, @fetchedAt, @forecastMinC, @cloudPct, @windMs, @dewPointC)
         ON CONFLICT (station_id, night, lead) DO UPDATE SET fetched_at = @fetchedAt, forecast_min_c = @forecastMinC,
           cloud_pct = @cloudPct, wind_ms = @windMs, dew_point_c = @dewPointC`,
      ),
      missingObserved: db.prepare(
        'SELECT DISTINCT station_id, night FROM forecast_nights WHERE observed_min_c IS NULL AND night < ? ORDER BY night',
      ),
      setObserved: db.prepare('UPDATE forecast_nights SET observed_min_c = ? WHERE station_id = ? AND night = ?'),
      pairs: db.prepare(
        `SELECT forecast_min_c, observed_min_c FROM forecast_nights
         WHERE station_id = ? AND lead = ? AND forecast_min_c IS NOT NULL AND observed_min_c IS NOT NULL ORDER BY night`,
      ),
      insertPreAlert: db.prepare(
        `INSERT INTO prealerts (station_id, night, lead, decided_at, forecast_min_c, corrected_min_c, cloud_pct, wind_ms, dew_point_c)
         VALUES (@stationId, @night, @lead, @decidedAt, @forecastMinC, @correctedMinC, @cloudPct, @windMs, @dewPointC)
         ON CONFLICT (station_id, night) DO NOTHING`,
      ),
      preAlertsOf: db.prepare('SELECT * FROM prealerts WHERE station_id = ? ORDER BY night'),
      preAlertsBetween: db.prepare('SELECT * FROM prealerts WHERE night >= ? AND night <= ? ORDER BY night, station_id'),
      hasPreAlert: db.prepare('SELECT 1 AS one FROM prealerts WHERE station_id = ? AND night = ?'),
      // The first decision of the day stands: a second worker's view (it raced a partition's move) changes nothing.
      decided: db.prepare(
        `INSERT INTO prealert_decisions (day, station_id, decided_at, fresh) VALUES (@day, @station_id, @at, @fresh)
         ON CONFLICT (day, station_id) DO NOTHING`,
      ),
      decisionsOn: db.prepare('SELECT station_id, fresh FROM prealert_decisions WHERE day = ?'),
      preAlertsDecided: db.prepare('SELECT * FROM prealerts WHERE decided_at >= ? AND decided_at < ? ORDER BY station_id, night'),
      unfetched: db.prepare(
        'SELECT COUNT(*) AS n FROM stations s WHERE NOT EXISTS (SELECT 1 FROM forecast_fetches f WHERE f.station_id = s.id)',
      ),
    };
  }

  saveFetch(stationIds: readonly string[], at: number, hours: readonly ForecastHour[]): void {
    const json = JSON.stringify(hours);
    this.#db.transaction(() => {
      for (const id of stationIds) this.#stmt.saveFetch.run({ station_id: id, at, hours: json });
    })();
  }

  saveFailure(stationIds: readonly string[], at: number, error: string): void {
    this.#db.transaction(() => {
      for (const id of stationIds) this.#stmt.saveFailure.run({ station_id: id, at, error });
    })();
  }

  state(stationId: string): FetchState | null {
    const row = this.#stmt.fetch.get(stationId);
    if (!row) return null;
    return {
      fetchedAt: row.fetched_at,
      attemptedAt: row.attempted_at,
      lastError: row.last_error,
      hours: row.hours === null ? [] : (JSON.parse(row.hours) as ForecastHour[]),
    };
  }

  saveNight(stationId: string, night: string, lead: Lead, fetchedAt: number, s: NightSummary): void {
    this.#stmt.saveNight.run({
      stationId,
      night,
      lead,
      fetchedAt,
      forecastMinC: s.forecastMinC,
      cloudPct: finiteOrNull(s.cloudPct),
      windMs: finiteOrNull(s.windMs),
      dewPointC: finiteOrNull(s.dewPointC),
    });
  }

  /** Stations no fetch has tried yet (registered since): one query, for the tick's "is a fetch due". */
  unfetchedStations(): number {
    return this.#stmt.unfetched.get()?.n ?? 0;
  }

  /** Nights before `night` whose station minimum is not known yet. */
  nightsWithoutObservation(beforeNight: string): { stationId: string; night: string }[] {
    return this.#stmt.missingObserved.all(beforeNight).map((r) => ({ stationId: r.station_id, night: r.night }));
  }

  setObserved(stationId: string, night: string, minC: number): void {
    this.#stmt.setObserved.run(minC, stationId, night);
  }

  /** What the correction learns from: the forecast's minimum at one lead and the station's, per night. */
  pairs(stationId: string, lead: Lead = 'tonight'): MinimumPair[] {
    return this.#stmt.pairs.all(stationId, lead).map((r) => ({ forecastMinC: r.forecast_min_c, observedMinC: r.observed_min_c }));
  }

  /**
   * One afternoon's decision, in one transaction: the pre-alerts it made (those inserted are returned: one per
   * station and night, ever) and the stations it covered, fresh or not.
   */
  decide(
    day: string,
    at: number,
    covered: ReadonlyArray<{ stationId: string; fresh: boolean }>,
    prealerts: readonly PreAlertRecord[],
  ): PreAlertRecord[] {
    return this.#db.transaction(() => {
      for (const c of covered) this.#stmt.decided.run({ day, station_id: c.stationId, at, fresh: c.fresh ? 1 : 0 });
      return prealerts.filter((p) => this.insertPreAlert(p));
    })();
  }

  /** The stations decided on `day`, by whichever process: id → whether it had a fresh forecast. */
  decisionsOn(day: string): Map<string, boolean> {
    return new Map(this.#stmt.decisionsOn.all(day).map((r) => [r.station_id, r.fresh === 1]));
  }

  /** Pre-alerts decided in [fromMs, toMs): an afternoon's, for its summary. */
  preAlertsDecidedBetween(fromMs: number, toMs: number): PreAlertRecord[] {
    return this.#stmt.preAlertsDecided.all(fromMs, toMs).map(fromRow);
  }

  /** True when this inserted it: one pre-alert per (station, night). */
  insertPreAlert(p: PreAlertRecord): boolean {
    return this.#stmt.insertPreAlert.run({ ...p }).changes === 1;
  }

  hasPreAlert(stationId: string, night: string): boolean {
    return this.#stmt.hasPreAlert.get(stationId, night) !== undefined;
  }

  preAlertsOf(stationId: string): PreAlertRecord[] {
    return this.#stmt.preAlertsOf.all(stationId).map(fromRow);
  }

  preAlertsBetween(fromNight: string, toNight: string): PreAlertRecord[] {
    return this.#stmt.preAlertsBetween.all(fromNight, toNight).map(fromRow);
  }
}

interface PreAlertRow {
  station_id: string;
  night: string;
  lead: Lead;
  decided_at: number;
  forecast_min_c: number;
  corrected_min_c: number;
  cloud_pct: number;
  wind_ms: number;
  dew_point_c: number;
}

function fromRow(r: PreAlertRow): PreAlertRecord {
  return {
    stationId: r.station_id,
    night: r.night,
    lead: r.lead,
    decidedAt: r.decided_at,
    forecastMinC: r.forecast_min_c,
    correctedMinC: r.corrected_min_c,
    cloudPct: r.cloud_pct,
    windMs: r.wind_ms,
    dewPointC: r.dew_point_c,
  };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
