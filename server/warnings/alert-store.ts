import type { Statement } from '../registry/sql.js';
import type { Alert, AlertKind, AlertStatus, Decision, DecisionInputs } from '../../contracts/index.js';
import { announce } from '../registry/change-feed.js';
import type { Db } from '../registry/db.js';

interface AlertRow {
  id: number;
  station_id: string;
  kind: AlertKind;
  level: string;
  status: AlertStatus;
  opened_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  cleared_at: number | null;
}

interface EventRow {
  id: number;
  alert_id: number;
  at: number;
  transition: string;
  level: string;
  reason: string;
  inputs: string | null;
}

/** What applying one decision did: the alert it belongs to and the history row recorded for it. */
export interface AppliedDecision {
  alertId: number;
  eventId: number;
  decision: Decision;
}

export type AckResult = { ok: true; alert: Alert } | { ok: false; reason: 'not_found' | 'cleared' };

/**
 * The alert lifecycle in SQLite: active → acknowledged → cleared, one open alert per station and kind, and a
 * history row for every decision with the inputs behind it. Callers run `apply` inside their own transaction
 * together with the rule state and the outbox rows, so a crash leaves all three or none.
 */
export class AlertStore {
  readonly #open: Statement<[string, string], AlertRow>;
  readonly #insertAlert: Statement<[string, string, string, number, number]>;
  readonly #escalate: Statement<[string, number, number]>;
  readonly #clear: Statement<[number, number, number]>;
  readonly #insertEvent: Statement<[number, number, number, string, string, string, string | null, number]>;
  readonly #get: Statement<[number], AlertRow>;
  readonly #events: Statement<[number], EventRow>;
  readonly #ack: Statement<[string, number, number, number]>;
  readonly #db: Db;
  readonly #listeners = new Set<(alertId: number) => void>();

  constructor(db: Db) {
    this.#db = db;
    this.#open = db.prepare(`SELECT * FROM alerts WHERE station_id = ? AND kind = ? AND status != 'cleared' ORDER BY id DESC LIMIT 1`);
    this.#insertAlert = db.prepare(
      `INSERT INTO alerts (station_id, kind, level, status, opened_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)`,
    );
    // A worse level is news: an alert acknowledged at Watch becomes active again at Warning.
    this.#escalate = db.prepare(
      `UPDATE alerts SET level = ?, status = 'active', acknowledged_at = NULL, acknowledged_by = NULL, updated_at = ? WHERE id = ?`,
    );
    this.#clear = db.prepare(`UPDATE alerts SET status = 'cleared', cleared_at = ?, updated_at = ? WHERE id = ?`);
    this.#insertEvent = db.prepare(
      `INSERT INTO alert_events (alert_id, at, recorded_at, transition, level, reason, inputs, notify) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#get = db.prepare(`SELECT * FROM alerts WHERE id = ?`);
    this.#events = db.prepare(
      `SELECT id, alert_id, at, transition, level, reason, inputs FROM alert_events WHERE alert_id = ? ORDER BY id`,
    );
    this.#ack = db.prepare(
      `UPDATE alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?, updated_at = ? WHERE id = ?`,
    );
  }

  /** Record one decision; returns null when it changes nothing (e.g. a clear for an alert that is not open). */
  apply(decision: Decision, recordedAtMs: number): AppliedDecision | null {
    const kind: AlertKind = decision.kind;
    const open = this.#open.get(decision.stationId, kind);
    const ending = decision.kind === 'frost' ? decision.to === 'all_clear' : decision.state === 'cleared';
    if (ending && !open) return null;
    const level = decision.kind === 'frost' ? decision.to : decision.state;
    const transition = decision.kind === 'frost' ? `${decision.from}→${decision.to}` : decision.state;
    let alertId: number;
    if (!open) {
      alertId = Number(this.#insertAlert.run(decision.stationId, kind, level, decision.atMs, recordedAtMs).lastInsertRowid);
    } else {
      alertId = open.id;
      if (ending) this.#clear.run(decision.atMs, recordedAtMs, alertId);
      else this.#escalate.run(level, recordedAtMs, alertId);
    }
    const eventId = this.#event(alertId, decision.atMs, recordedAtMs, transition, level, decision.reason, decision.inputs, decision.notify);
    announce(this.#db, [{ kind: 'alert', id: alertId }]); // the cluster's other servers, at commit (registry/change-feed.ts)
    this.#changed(alertId);
    return { alertId, eventId, decision };
  }

  /** An officer on the dashboard, or a farmer pressing 1 on a Severe call. Acknowledging twice keeps the first. */
  acknowledge(alertId: number, by: string, atMs: number): AckResult {
    return this.#db.transaction((): AckResult => {
      const row = this.#get.get(alertId);
      if (!row) return { ok: false, reason: 'not_found' };
      if (row.status === 'cleared') return { ok: false, reason: 'cleared' };
      if (row.status === 'active') {
        this.#ack.run(by, atMs, atMs, alertId);
        this.#event(alertId, atMs, atMs, 'acknowledged', row.level, `acknowledged by ${by}`, null, false);
        announce(this.#db, [{ kind: 'alert', id: alertId }]);
        this.#changed(alertId);
      }
      const alert = this.get(alertId, true);
      if (!alert) throw new Error(`alert ${alertId} vanished inside its own transaction`);
      return { ok: true, alert };
    })();
  }

  /**
   * Called when an alert opens, escalates, is acknowledged or clears; returns an unsubscribe. Deferred to a
   * microtask: `apply` runs inside the caller's synchronous transaction, which has committed (or rolled back)
   * by then, so a listener that reads the alert back sees what is stored.
   */
  onChange(listener: (alertId: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An alert changed through another connection (the rule engine's thread, engine-thread.ts): tell this store's listeners. */
  changedElsewhere(alertId: number): void {
    this.#changed(alertId);
  }

  #changed(alertId: number): void {
    if (this.#listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of this.#listeners) listener(alertId);
    });
  }

  get(alertId: number, withEvents = false): Alert | null {
    const row = this.#get.get(alertId);
    if (!row) return null;
    return toAlert(row, withEvents ? this.#events.all(alertId) : undefined);
  }

  list(filter: {
    status?: AlertStatus | undefined;
    stationId?: string | undefined;
    districtId?: string | undefined;
    limit: number;
  }): Alert[] {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.stationId) {
      where.push('station_id = ?');
      params.push(filter.stationId);
    }
    if (filter.districtId) {
      where.push('station_id IN (SELECT id FROM stations WHERE district_id = ?)');
      params.push(filter.districtId);
    }
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id DESC LIMIT ?`;
    return this.#db
      .prepare<Array<string | number>, AlertRow>(sql)
      .all(...params, filter.limit)
      .map((row) => toAlert(row));
  }

  #event(
    alertId: number,
    at: number,
    recordedAt: number,
    transition: string,
    level: string,
    reason: string,
    inputs: DecisionInputs | null,
    notify: boolean,
  ): number {
    const json = inputs === null ? null : JSON.stringify(inputs);
    return Number(this.#insertEvent.run(alertId, at, recordedAt, transition, level, reason, json, notify ? 1 : 0).lastInsertRowid);
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toAlert(row: AlertRow, events?: EventRow[]): Alert {
  return {
    id: row.id,
    stationId: row.station_id,
    kind: row.kind,
    level: row.level,
    status: row.status,
    openedAt: new Date(row.opened_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    clearedAt: iso(row.cleared_at),
    ...(events
      ? {
          events: events.map((e) => ({
            id: e.id,
            at: new Date(e.at).toISOString(),
            transition: e.transition,
            level: e.level,
            reason: e.reason,
            inputs: e.inputs === null ? null : (JSON.parse(e.inputs) as DecisionInputs),
          })),
        }
      : {}),
  };
}
