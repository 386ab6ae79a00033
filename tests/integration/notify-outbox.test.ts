import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { OutboxRepository } from '../../server/notify/outbox.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { smsRow, voiceRow } from '../../testkit/twilio-server.js';

const T0 = Date.UTC(2026, 0, 15, 21, 0, 0);
let now = T0;
const clock: Clock = { now: () => now, speed: 1 };
let dir: string;
let db: Db;
let outbox: OutboxRepository;

/** An alert event row to hang outbox rows on (the outbox references alert_events). */
function alertEvent(): number {
  const alert = db
    .prepare(
      `INSERT INTO alerts (station_id, kind, level, status, opened_at, updated_at)
    VALUES ('st-1', 'frost', 'severe', 'active', ?, ?)`,
    )
    .run(now, now);
  return Number(
    db
      .prepare(
        `INSERT INTO alert_events (alert_id, at, recorded_at, transition, level, reason, notify)
    VALUES (?, ?, ?, 'warning→severe', 'severe', 'forecast minimum −1 °C', 1)`,
      )
      .run(alert.lastInsertRowid, now, now).lastInsertRowid,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-outbox-'));
  db = openDatabase(join(dir, 'frostwatch.db'), pino({ level: 'silent' }));
  db.prepare(
    `INSERT INTO stations (id, name, commune, lat, lon, elevation_m, crop, token_hash, created_at)
    VALUES ('st-1', 'Đạ Sar', 'Đạ Sar', 12.0, 108.4, 1450, 'arabica', 'x', ?)`,
  ).run(now);
  outbox = new OutboxRepository(db, clock);
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('OutboxRepository', () => {
  it('enqueue returns only new rows, in order, and keeps every field', () => {
    const created = outbox.enqueue([
      smsRow('+84911111111', 'một', { dedupeKey: 'k1', segments: 2, costUsd: 0.16 }),
      smsRow('+84911111111', 'hai', { dedupeKey: 'k2' }),
    ]);
    expect(created.map((r) => [r.dedupeKey, r.status, r.attempts, r.segments, r.costUsd, r.nextAttemptAt])).toEqual([
      ['k1', 'pending', 0, 2, 0.16, T0],
      ['k2', 'pending', 0, 1, 0.08, T0],
    ]);
    expect(
      outbox
        .enqueue([smsRow('+84911111111', 'một lần nữa', { dedupeKey: 'k1' }), smsRow('+84911111111', 'ba', { dedupeKey: 'k3' })])
        .map((r) => r.dedupeKey),
    ).toEqual(['k3']);
    expect(outbox.get(created[0]!.id)?.body).toBe('một');
  });

  it('offers only the head of each phone queue, and only once due', () => {
    const phone = '+84922222222';
    const [watch, warning] = outbox.enqueue([smsRow(phone, 'watch'), smsRow(phone, 'warning')]);
    const heads = () => {
      const seen: string[] = [];
      for (let row = outbox.nextDue(now); row !== undefined; row = outbox.nextDue(now)) {
        seen.push(row.body);
        outbox.markFinal(row, 'dry_run', null);
      }
      return seen;
    };
    outbox.scheduleRetry(outbox.markSending(watch!), now + 5_000, 'HTTP 429');
    expect(heads()).toEqual(['một', 'hai', 'ba']); // the earlier test's rows; this phone waits behind its Watch
    expect(outbox.nextDueAt()).toBe(now + 5_000);
    now += 5_000;
    expect(heads()).toEqual(['watch', 'warning']);
    expect(outbox.get(warning!.id)?.status).toBe('dry_run');
  });

  it('lists rows of an event and the recipients nobody reached', () => {
    const since = now;
    const event = alertEvent();
    const rows = outbox.enqueue([
      smsRow('+84933333301', 'sms', { eventId: event, recipientId: 1 }), // delivered → reached
      smsRow('+84933333302', 'sms', { eventId: event, recipientId: 2 }), // undelivered, but the call was acknowledged
      voiceRow('+84933333302', 'call', { eventId: event, recipientId: 2 }),
      smsRow('+84933333303', 'sms', { eventId: event, recipientId: 3 }), // only sent: not reached yet
      voiceRow('+84933333303', 'call', { eventId: event, recipientId: 3 }), // answered, no keypress
    ]);
    rows.forEach((row, i) => outbox.markSent(outbox.markSending(row), `SID${i}`));
    outbox.applyProviderStatus('SID0', 'delivered', null);
    outbox.applyProviderStatus('SID1', 'undelivered', 'Twilio error 30005 (undelivered)');
    outbox.acknowledge(rows[2]!.id);
    outbox.applyProviderStatus('SID4', 'delivered', null);

    expect(outbox.forEvent(event).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(outbox.unreached(since)).toEqual([
      {
        eventId: event,
        recipientKind: 'farmer',
        recipientId: 3,
        phone: '+84933333303',
        statuses: ['sms:sent', 'voice:delivered'],
        lastUpdatedAt: now,
      },
    ]);
    expect(outbox.unreached(now + 1)).toEqual([]);
    expect(outbox.recent(2).map((r) => r.id)).toEqual([rows[4]!.id, rows[3]!.id]);
  });

  it('counts waiting rows and puts interrupted ones back in the queue', () => {
    const [row] = outbox.enqueue([smsRow('+84944444444', 'x')]);
    const depth = outbox.depth();
    outbox.markSending(row!);
    expect(outbox.depth()).toBe(depth);
    expect(outbox.recoverInFlight()).toBe(1);
    expect(outbox.get(row!.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'interrupted while sending' });
  });
});
