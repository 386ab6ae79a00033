import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock, StationId } from '../../contracts/index.js';
import { OfficerNotices } from '../../server/warnings/notices.js';
import { StationActivity } from '../../server/ingest/activity.js';
import { OutboxRepository, type OutboxRow } from '../../server/notify/outbox.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';

/** The chain watches itself: what officers are told, once, on a real SQLite file. Time is a parameter. */
describe('officer notices', () => {
  let dir: string;
  let db: Db;
  let now: number;
  let outbox: OutboxRepository;
  let notices: OfficerNotices;
  const activity = new StationActivity();
  const clock: Clock = { now: () => now, speed: 1 };
  const at = (iso: string) => (now = Date.parse(iso));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-notices-'));
    db = openDatabase(join(dir, 'frostwatch.db'), pino({ level: 'silent' }));
    at('2026-12-20T08:00:00Z');
    const stations = new StationRepository(db, clock);
    for (const id of ['ld-1', 'ld-2', 'ld-3'])
      await stations.create({
        id: id as StationId,
        name: `Trạm ${id}`,
        commune: 'Lát',
        lat: 12,
        lon: 108.4,
        elevationM: 1500,
        crop: 'arabica',
      });
    const people = new PeopleRepository(db, clock);
    people.createOfficer({ name: 'Cán bộ', phone: '0904 555 666', language: 'vi' });
    outbox = new OutboxRepository(db, clock);
    notices = new OfficerNotices({
      people,
      stations,
      activity,
      enqueue: (rows) => outbox.enqueue(rows),
      clock,
      logger: pino({ level: 'silent' }),
      timeZone: 'Asia/Ho_Chi_Minh',
      messages: {},
    });
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sent = (): OutboxRow[] => outbox.recent(100);

  it('sends "system armed: 2/3 stations reporting" once, at 17:00 local', () => {
    at('2026-12-20T09:50:00Z'); // 16:50 in Lạc Dương: not yet
    activity.heard('ld-1', now);
    activity.heard('ld-2', now);
    notices.checkArmed();
    expect(sent()).toHaveLength(0);
    at('2026-12-20T10:01:00Z'); // 17:01
    activity.heard('ld-1', now);
    activity.heard('ld-2', now);
    notices.checkArmed();
    at('2026-12-20T10:30:00Z');
    notices.checkArmed(); // the same evening: nothing more
    expect(sent()).toHaveLength(1);
    expect(sent()[0]).toMatchObject({ recipientKind: 'officer', phone: '+84904555666', channel: 'sms' });
    expect(sent()[0]!.body).toMatch(/2\/3/);
    expect(sent()[0]!.body).toMatch(/Trạm ld-3/); // the silent one is named
  });

  it('tells officers when a dependency has failed for five minutes, once, and when it is back', () => {
    notices.checkDependency('influx', false, 'connection refused');
    at('2026-12-20T08:04:00Z');
    notices.checkDependency('influx', false);
    expect(sent()).toHaveLength(0); // a blip is not worth waking anyone
    at('2026-12-20T08:06:00Z');
    notices.checkDependency('influx', false);
    at('2026-12-20T08:09:00Z');
    notices.checkDependency('influx', false);
    expect(sent()).toHaveLength(1);
    at('2026-12-20T08:20:00Z');
    notices.checkDependency('influx', true);
    expect(sent()).toHaveLength(2);
    expect(
      sent()
        .map((r) => r.body)
        .join('\n'),
    ).toMatch(/influx/);
  });

  it('names the farmer an officer must phone when a message was given up', () => {
    const people = new PeopleRepository(db, clock);
    const farmer = people.createFarmer({
      name: 'Nguyễn Văn Hà',
      phone: '0912 345 678',
      language: 'vi',
      diacritics: true,
      stationIds: ['ld-1' as StationId],
      contacts: [],
    });
    if (!farmer.ok) throw new Error(farmer.message);
    const [row] = outbox.enqueue([
      {
        dedupeKey: 'x',
        eventId: null,
        recipientKind: 'farmer',
        recipientId: farmer.farmer.id,
        channel: 'sms',
        phone: '+84912345678',
        language: 'vi',
        body: 'b',
        encoding: 'UCS-2',
        segments: 1,
        costUsd: 0.08,
      },
    ]);
    notices.gaveUp(row!);
    notices.gaveUp(row!); // twice (a restart): one notice
    const notice = sent().filter((r) => r.recipientKind === 'officer');
    expect(notice).toHaveLength(1);
    expect(notice[0]!.body).toMatch(/Nguyễn Văn Hà/);
    expect(notice[0]!.body).toMatch(/\+84912345678/);
  });
});
