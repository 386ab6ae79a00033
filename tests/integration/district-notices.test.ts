import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock, StationId } from '../../contracts/index.js';
import { emptyInputs } from '../../frost/inputs.js';
import { composeOfficerMessage } from '../../frost/messages.js';
import { StationActivity } from '../../server/ingest/activity.js';
import { OutboxRepository, type OutboxInsert } from '../../server/notify/outbox.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { OfficerNotices } from '../../server/warnings/notices.js';
import { OutboxPlanner } from '../../server/warnings/planner.js';

/**
 * Districts in officer notices (issue 18, part 4): a station's health, the evening "armed" count and a farmer nobody
 * reached go to the officers of that district only, and name the district once the province has more than one.
 */
describe('officer notices by district', () => {
  let dir: string;
  let db: Db;
  let now: number;
  let stations: StationRepository;
  let people: PeopleRepository;
  let outbox: OutboxRepository;
  let notices: OfficerNotices;
  const activity = new StationActivity();
  const clock: Clock = { now: () => now, speed: 1 };
  const officers = { lacDuong: 0, ducTrong: 0 };

  const station = (id: string, districtId?: string) =>
    stations.create({
      id: id as StationId,
      name: `Trạm ${id}`,
      commune: districtId ? 'Hiệp Thạnh' : 'Lát',
      lat: 12,
      lon: 108.4,
      elevationM: 1500,
      crop: 'arabica',
      ...(districtId ? { districtId } : {}),
    });
  const officer = (phone: string, districtId?: string, language: 'vi' | 'en' = 'vi') => {
    const r = people.createOfficer({ name: 'Cán bộ', phone, language, ...(districtId ? { districtId } : {}) });
    if (!r.ok) throw new Error(r.message);
    return r.officer.id;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-district-notices-'));
    db = openDatabase(join(dir, 'frostwatch.db'), pino({ level: 'silent' }));
    now = Date.parse('2026-12-20T10:01:00Z'); // 17:01 in Lạc Dương
    stations = new StationRepository(db, clock);
    people = new PeopleRepository(db, clock);
    outbox = new OutboxRepository(db, clock);
    await station('ld-1');
    await station('ld-2');
    officers.lacDuong = officer('0904 555 666');
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

  it('with one district, says nothing of districts: the text is as before', () => {
    activity.heard('ld-1', now);
    notices.checkArmed();
    const [row] = outbox.recent(10);
    expect(row?.body).toMatch(/^frostwatch: sẵn sàng cho đêm nay, 1\/2 trạm/);
  });

  it("counts each district's stations for its own officers, and names the district", async () => {
    expect(stations.districts.create({ id: 'duc-trong', name: 'Đức Trọng' }).ok).toBe(true);
    await station('dt-1', 'duc-trong');
    officers.ducTrong = officer('0905 111 222', 'duc-trong', 'en');
    activity.heard('ld-1', now);
    activity.heard('dt-1', now);
    notices.checkArmed();
    const rows = outbox.recent(10);
    expect(rows).toHaveLength(2);
    const byOfficer = new Map(rows.map((r) => [r.recipientId, r.body]));
    expect(byOfficer.get(officers.lacDuong)).toMatch(/^frostwatch \(Lạc Dương\): sẵn sàng cho đêm nay, 1\/2 trạm/);
    expect(byOfficer.get(officers.ducTrong)).toMatch(/^frostwatch \(Đức Trọng\): armed for tonight, 1\/1 stations reporting\.$/);
  });

  it("sends a station's health to its district's officers only, naming the district", async () => {
    expect(stations.districts.create({ id: 'duc-trong', name: 'Đức Trọng' }).ok).toBe(true);
    await station('dt-1', 'duc-trong');
    officers.ducTrong = officer('0905 111 222', 'duc-trong');
    const planned: OutboxInsert[] = [];
    const planner = new OutboxPlanner(people, { enqueue: (rows) => (planned.push(...rows), []), supersedeHeld: () => 0 }, {});
    const record = stations.get('dt-1');
    if (!record) throw new Error('no station');
    planner.plan(
      {
        alertId: 1,
        eventId: 7,
        decision: {
          kind: 'station_offline',
          stationId: 'dt-1',
          state: 'raised',
          atMs: now,
          reason: 'silent',
          notify: true,
          inputs: emptyInputs(now, null),
        },
      },
      record,
    );
    expect(planned.map((r) => r.recipientId)).toEqual([officers.ducTrong]);
    expect(planned[0]?.body).toMatch(/^frostwatch \(Đức Trọng\): trạm Trạm dt-1 \(Hiệp Thạnh\) mất kết nối/);
  });

  it("tells the farmer's district's officers when nobody in a Severe call's chain answered", async () => {
    expect(stations.districts.create({ id: 'duc-trong', name: 'Đức Trọng' }).ok).toBe(true);
    await station('dt-1', 'duc-trong');
    officers.ducTrong = officer('0905 111 222', 'duc-trong');
    const farmer = people.createFarmer({
      name: 'K',
      phone: '0912 000 111',
      language: 'vi',
      diacritics: true,
      stationIds: ['dt-1' as StationId],
      contacts: [],
    });
    if (!farmer.ok) throw new Error(farmer.message);
    expect(farmer.farmer.districtId).toBe('duc-trong'); // from their station
    notices.unreached({
      id: 1,
      dedupeKey: 'event:1:farmer:1:voice',
      recipientKind: 'farmer',
      recipientId: farmer.farmer.id,
      phone: farmer.farmer.phone,
      escalationStep: 2,
    } as never);
    const rows = outbox.recent(10);
    expect(rows.map((r) => r.recipientId)).toEqual([officers.ducTrong]);
    expect(rows[0]?.body).toMatch(/^frostwatch \(Đức Trọng\): không gọi được cho K/);
  });

  it('composes the district into the prefix, also without diacritics', () => {
    const notice = { kind: 'system_armed', atMs: now, reporting: 3, total: 3, district: 'Đức Trọng' } as const;
    expect(composeOfficerMessage(notice, 'en').text).toBe('frostwatch (Đức Trọng): armed for tonight, 3/3 stations reporting.');
    expect(composeOfficerMessage(notice, 'vi', { diacritics: false }).text).toMatch(/^frostwatch \(Duc Trong\): san sang/);
  });
});
