import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, Decision, StationCreate } from '../../contracts/index.js';
import { emptyInputs } from '../../frost/inputs.js';
import { StationActivity } from '../../server/ingest/activity.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import { registerOpsMetrics } from '../../server/ops-metrics.js';
import { type SqliteDb, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { AlertStore } from '../../server/warnings/alert-store.js';
import { smsRow } from '../../testkit/twilio-server.js';

/**
 * The series server/ops-metrics.ts reads at scrape time, over a real SQLite registry with the real alert store and
 * outbox writing into it: stations reporting, the oldest waiting message, alert decisions by level, open alerts, the
 * health checks, and what a scrape says when SQLite has gone.
 */

const T0 = Date.UTC(2026, 0, 15, 21, 0, 0);
const MIN = 60_000;
let now = T0;
const clock: Clock = { now: () => now, speed: 1 };
let dir: string;
let db: SqliteDb;
let registry: Registry;
let outbox: OutboxRepository;
let alerts: AlertStore;
const activity = new StationActivity();
let healthOk = true;

/** One sample of the scrape: `name{labels} value`, labels in the order prom-client prints them. */
async function sample(name: string, labels = ''): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function frost(
  stationId: string,
  from: 'none' | 'watch' | 'warning' | 'severe',
  to: 'watch' | 'warning' | 'severe' | 'all_clear',
): Decision {
  return { kind: 'frost', stationId, from, to, atMs: now, reason: 'test', notify: true, inputs: emptyInputs(now, null) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-ops-metrics-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), pino({ level: 'silent' }));
  const stations = new StationRepository(db, clock);
  for (const id of ['ld-a', 'ld-b', 'ld-c'])
    await stations.create({ id, name: id, commune: 'Lát', lat: 12.03, lon: 108.4, elevationM: 1_500, crop: 'arabica' } as StationCreate);
  outbox = new OutboxRepository(db, clock);
  alerts = new AlertStore(db);
  registry = new Registry();
  registerOpsMetrics(registry, {
    db,
    stations,
    activity,
    clock,
    health: () => Promise.resolve({ status: healthOk ? 'ok' : 'degraded', checks: { sqlite: { ok: true }, influx: { ok: healthOk } } }),
  });
});
afterAll(async () => {
  if (db.open) db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ops metrics', () => {
  it('stations: registered, and reporting = heard within the last 15 minutes', async () => {
    expect(await sample('frostwatch_stations_registered')).toBe(3);
    expect(await sample('frostwatch_stations_reporting')).toBe(0);
    activity.heard('ld-a', now - 2 * MIN);
    activity.heard('ld-b', now - 15 * MIN);
    activity.heard('ld-c', now - 15 * MIN - 1);
    expect(await sample('frostwatch_stations_reporting')).toBe(2);
    now += 10 * MIN;
    expect(await sample('frostwatch_stations_reporting')).toBe(1);
  });

  it('the oldest waiting message: pending or sending rows, retries still ageing, quiet-hours holds from their hour', async () => {
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(0);
    const t = now;
    const [first] = outbox.enqueue([smsRow('+84911000001', 'một')]);
    // Held for quiet hours until 30 minutes from now: not waiting yet, and later only from its hour.
    outbox.enqueue([smsRow('+84911000002', 'hai', { notBeforeMs: t + 30 * MIN, heldQuiet: true })]);
    now = t + 90_000;
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(90);
    // Sending, then back to pending for a retry a minute ahead: it has been waiting since it was queued all the same.
    const sending = outbox.markSending(first!);
    now = t + 120_000;
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(120);
    outbox.scheduleRetry(sending, now + MIN, 'HTTP 503');
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(120);
    outbox.markSent(outbox.get(first!.id)!, 'SM0001');
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(0);
    // The held row's hour came 5 minutes ago.
    now = t + 35 * MIN;
    expect(await sample('frostwatch_notify_oldest_pending_seconds')).toBe(300);
  });

  it('alert decisions by kind and level, acknowledgements not counted; open alerts by level', async () => {
    const raised = alerts.apply(frost('ld-a', 'none', 'watch'), now);
    alerts.apply(frost('ld-a', 'watch', 'warning'), now);
    alerts.apply(frost('ld-b', 'none', 'warning'), now);
    alerts.acknowledge(raised!.alertId, 'officer', now);
    alerts.apply(
      {
        kind: 'station_offline',
        stationId: 'ld-c',
        state: 'raised',
        atMs: now,
        reason: 'silent',
        notify: true,
        inputs: emptyInputs(now, null),
      },
      now,
    );
    expect(await sample('frostwatch_alert_events_total', 'kind="frost",level="watch"')).toBe(1);
    expect(await sample('frostwatch_alert_events_total', 'kind="frost",level="warning"')).toBe(2);
    expect(await sample('frostwatch_alert_events_total', 'kind="station_offline",level="raised"')).toBe(1);
    expect(await sample('frostwatch_alerts_open', 'kind="frost",level="warning"')).toBe(2);
    expect(await sample('frostwatch_alerts_open', 'kind="station_offline",level="raised"')).toBe(1);

    // A second scrape counts only what is new; a cleared alert leaves the open gauge.
    alerts.apply(frost('ld-a', 'warning', 'all_clear'), now);
    expect(await sample('frostwatch_alert_events_total', 'kind="frost",level="warning"')).toBe(2);
    expect(await sample('frostwatch_alert_events_total', 'kind="frost",level="all_clear"')).toBe(1);
    expect(await sample('frostwatch_alerts_open', 'kind="frost",level="warning"')).toBe(1);
    // Nothing at acknowledged: the acknowledgement is an event of level watch and was not counted as a decision.
    expect(await sample('frostwatch_alert_events_total', 'kind="frost",level="watch"')).toBe(1);
  });

  it('the health checks, 1 passing and 0 failing', async () => {
    expect(await sample('frostwatch_health_check_ok', 'check="influx"')).toBe(1);
    healthOk = false;
    expect(await sample('frostwatch_health_check_ok', 'check="influx"')).toBe(0);
    expect(await sample('frostwatch_health_check_ok', 'check="sqlite"')).toBe(1);
  });

  it('with SQLite closed, a scrape still answers: the SQLite series say unknown (NaN), the counter keeps its count', async () => {
    db.close();
    const text = await registry.metrics();
    // prom-client writes NaN as "Nan"; Prometheus reads either (Go's ParseFloat ignores the case).
    expect(text).toMatch(/^frostwatch_stations_registered nan$/im);
    expect(text).toMatch(/^frostwatch_notify_oldest_pending_seconds nan$/im);
    expect(text).toMatch(/^frostwatch_alert_events_total\{kind="frost",level="warning"\} 2$/m);
    expect(text).not.toMatch(/^frostwatch_alerts_open\{/m);
  });
});
