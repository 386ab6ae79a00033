import type { Statement } from '../registry/sql.js';
import { FROST_RANK, type FrostLevel, type StationOverview } from '../../contracts/index.js';
import type { Db } from '../registry/db.js';

export type Fault = StationOverview['faults'][number];

export interface Marker {
  atMs: number;
  transition: string;
  level: string;
  reason: string;
}

/** What was sent for one station's frost alerts in a window, and whom it reached. */
export interface WarningStats {
  highestLevel: FrostLevel;
  firstWarningAtMs: number | null;
  messagesSent: number;
  recipients: number;
  reached: number;
}

/** Statuses that mean the provider took the message (a dry run or a give-up was never sent). */
const SENT = `('sent', 'delivered', 'undelivered')`;

/** Read-only SQL over the alert history and the outbox, for the dashboard. */
export class AlertQueries {
  readonly #faults: Statement<[], { station_id: string; kind: Fault }>;
  readonly #markers: Statement<[string, number, number], { at: number; transition: string; level: string; reason: string }>;
  readonly #levels: Statement<[string, number, number], { level: string; first_at: number }>;
  readonly #messages: Statement<[string, number, number], { sent: number; recipients: number; reached: number }>;

  constructor(db: Db) {
    this.#faults = db.prepare(`SELECT DISTINCT station_id, kind FROM alerts WHERE status != 'cleared' AND kind != 'frost'`);
    this.#markers = db.prepare(
      `SELECT e.at, e.transition, e.level, e.reason FROM alert_events e JOIN alerts a ON a.id = e.alert_id
       WHERE a.station_id = ? AND e.at >= ? AND e.at <= ? ORDER BY e.at, e.id`,
    );
    this.#levels = db.prepare(
      `SELECT e.level, MIN(e.at) AS first_at FROM alert_events e JOIN alerts a ON a.id = e.alert_id
       WHERE a.kind = 'frost' AND a.station_id = ? AND e.at >= ? AND e.at <= ? GROUP BY e.level`,
    );
    // Reached: a delivered SMS or an acknowledged call (the same rule as /api/alerts/unreached).
    this.#messages = db.prepare(
      `WITH rows AS (
         SELECT o.* FROM outbox o JOIN alert_events e ON e.id = o.event_id JOIN alerts a ON a.id = e.alert_id
         WHERE a.kind = 'frost' AND a.station_id = ? AND e.at >= ? AND e.at <= ?)
       SELECT (SELECT COUNT(*) FROM rows WHERE status IN ${SENT}) AS sent,
              (SELECT COUNT(DISTINCT recipient_kind || ':' || recipient_id) FROM rows) AS recipients,
              (SELECT COUNT(DISTINCT recipient_kind || ':' || recipient_id) FROM rows
                 WHERE (channel = 'sms' AND status = 'delivered') OR acked_at IS NOT NULL) AS reached`,
    );
  }

  /** Open officer alerts, per station. */
  openFaults(): Map<string, Fault[]> {
    const byStation = new Map<string, Fault[]>();
    for (const row of this.#faults.all()) byStation.set(row.station_id, [...(byStation.get(row.station_id) ?? []), row.kind]);
    return byStation;
  }

  markers(stationId: string, fromMs: number, toMs: number): Marker[] {
    return this.#markers
      .all(stationId, fromMs, toMs)
      .map((r) => ({ atMs: r.at, transition: r.transition, level: r.level, reason: r.reason }));
  }

  warnings(stationId: string, fromMs: number, toMs: number): WarningStats {
    let highestLevel: FrostLevel = 'none';
    let firstWarningAtMs: number | null = null;
    for (const { level, first_at } of this.#levels.all(stationId, fromMs, toMs)) {
      if (!isFrostLevel(level)) continue; // 'all_clear' rows
      if (FROST_RANK[level] > FROST_RANK[highestLevel]) highestLevel = level;
      if (FROST_RANK[level] >= FROST_RANK.warning) firstWarningAtMs = Math.min(firstWarningAtMs ?? first_at, first_at);
    }
    const m = this.#messages.get(stationId, fromMs, toMs) ?? { sent: 0, recipients: 0, reached: 0 };
    return { highestLevel, firstWarningAtMs, messagesSent: m.sent, recipients: m.recipients, reached: m.reached };
  }
}

function isFrostLevel(level: string): level is FrostLevel {
  return level in FROST_RANK;
}
