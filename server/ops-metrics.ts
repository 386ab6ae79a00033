import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, Health } from '../contracts/index.js';
import type { StationActivity } from './ingest/activity.js';
import type { Db } from './registry/db.js';

/** A station counts as reporting when heard within this long: the same 15 minutes as the evening "system armed" SMS. */
export const REPORTING_WITHIN_MS = 15 * 60_000;

export interface OpsMetricsSources {
  db: Db;
  stations: { list(): ReadonlyArray<{ id: string }> };
  activity: Pick<StationActivity, 'get'>;
  clock: Clock;
  /** The same checks as `/health`; absent → no `frostwatch_health_check_ok`. */
  health?: () => Promise<Health>;
}

/**
 * The series the Grafana dashboard and the alert rules (deploy/) need beyond what each part counts itself: how many
 * stations report, how long the oldest due message has waited, the rule engine's decisions, the health checks. All
 * are read at scrape time from SQLite and memory, so they cost nothing between scrapes and are right after a restart
 * (the outbox and the alert history are on disk; counters kept in memory would start again from zero).
 *
 * A collector that fails (SQLite locked or closed) reports "unknown" for that scrape rather than failing the whole
 * `/metrics` answer: Prometheus then still sees `frostwatch_health_check_ok{check="sqlite"} 0`, which says why.
 */
export function registerOpsMetrics(registry: Registry, sources: OpsMetricsSources): void {
  const { db, stations, activity, clock } = sources;
  const registers = [registry];

  new Gauge({
    name: 'frostwatch_stations_registered',
    help: 'Stations in the registry',
    registers,
    collect() {
      guarded(this, () => this.set(stations.list().length));
    },
  });
  new Gauge({
    name: 'frostwatch_stations_reporting',
    help: 'Stations heard (a reading or status) within the last 15 minutes; after a restart each counts once it next speaks',
    registers,
    collect() {
      guarded(this, () => {
        const since = clock.now() - REPORTING_WITHIN_MS;
        this.set(stations.list().filter((s) => (activity.get(s.id).lastSeenAt ?? -Infinity) >= since).length);
      });
    },
  });

  // Rows held for quiet hours wait on purpose until their hour (next_attempt_at): they count from then, not from
  // when they were queued, and not at all before it. Any other row counts from when it was queued, so a row retried
  // again and again (its next attempt always a little ahead) still ages. Only pending and sending rows are waiting.
  const oldestWaiting = db.prepare<[number], { since: number | null }>(
    `SELECT MIN(CASE WHEN held_quiet = 1 THEN next_attempt_at ELSE created_at END) AS since
       FROM outbox
      WHERE status IN ('pending', 'sending') AND (held_quiet = 0 OR next_attempt_at <= ?)`,
  );
  new Gauge({
    name: 'frostwatch_notify_oldest_pending_seconds',
    help: 'How long the longest-waiting outbox row (pending or sending, quiet-hours holds from their hour) has waited; 0 when none',
    registers,
    collect() {
      guarded(this, () => {
        const now = clock.now();
        const since = oldestWaiting.get(now)?.since ?? null;
        this.set(since === null ? 0 : Math.max(0, (now - since) / 1000));
      });
    },
  });

  // Decisions only: an officer's or farmer's acknowledgement is stored as an event too, but is not the engine's.
  // Counted from the last id seen on, so a scrape reads only the new rows and the counter never goes down when a
  // deleted station takes its alert history with it. Levels: frost watch | warning | severe | all_clear; the
  // station alerts (offline, sensor fault, low battery) raised | cleared.
  const newEvents = db.prepare<[number], { kind: string; level: string; ack: 0 | 1; n: number; lastId: number }>(
    `SELECT a.kind AS kind, e.level AS level, CASE WHEN e.transition = 'acknowledged' THEN 1 ELSE 0 END AS ack, COUNT(*) AS n,
            MAX(e.id) AS "lastId"
       FROM alert_events e JOIN alerts a ON a.id = e.alert_id
      WHERE e.id > ?
      GROUP BY a.kind, e.level, 3`,
  );
  let lastEventId = 0;
  new Counter({
    name: 'frostwatch_alert_events_total',
    help: 'Alert decisions the rule engine stored, by alert kind and the level decided (acknowledgements not counted)',
    labelNames: ['kind', 'level'] as const,
    registers,
    collect() {
      try {
        for (const row of newEvents.all(lastEventId)) {
          if (row.ack === 0) this.inc({ kind: row.kind, level: row.level }, row.n);
          lastEventId = Math.max(lastEventId, row.lastId);
        }
      } catch {
        // Left as it was: the next scrape that can read SQLite counts what this one missed.
      }
    },
  });

  const openAlerts = db.prepare<[], { kind: string; level: string; n: number }>(
    `SELECT kind, level, COUNT(*) AS n FROM alerts WHERE status != 'cleared' GROUP BY kind, level`,
  );
  new Gauge({
    name: 'frostwatch_alerts_open',
    help: 'Alerts not cleared (active or acknowledged), by kind and level',
    labelNames: ['kind', 'level'] as const,
    registers,
    collect() {
      guarded(
        this,
        () => {
          const rows = openAlerts.all();
          this.reset();
          for (const row of rows) this.set({ kind: row.kind, level: row.level }, row.n);
        },
        true,
      );
    },
  });

  const { health } = sources;
  if (health)
    new Gauge({
      name: 'frostwatch_health_check_ok',
      help: '1 when the /health check passes, by check: broker, influx, spool, sqlite, twilio, ruleEngine (and tts when used)',
      labelNames: ['check'] as const,
      registers,
      async collect() {
        let checks: Health['checks'];
        try {
          ({ checks } = await health());
        } catch {
          // The checks themselves threw (SQLite closed under them): say so rather than leave the old values standing.
          checks = { sqlite: { ok: false } };
        }
        this.reset();
        for (const [check, result] of Object.entries(checks)) this.set({ check }, result.ok ? 1 : 0);
      },
    });
}

/**
 * Runs one collector; when it throws, the gauge says "unknown" in this scrape instead of failing all of `/metrics`:
 * labelled series are left out, a single value becomes NaN (a 0 would read as "no station reports" and raise the
 * wrong alert; a NaN compares false in every rule).
 */
function guarded(gauge: Gauge, collect: () => void, labelled = false): void {
  try {
    collect();
  } catch {
    if (labelled) gauge.reset();
    else gauge.set(Number.NaN);
  }
}
