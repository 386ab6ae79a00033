import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, StationCreate } from '../../contracts/index.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';

const clock: Clock = { now: () => Date.UTC(2026, 0, 10), speed: 1 };
let dir: string;
let db: Db;
let people: PeopleRepository;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-import-'));
  db = openDatabase(join(dir, 'frostwatch.db'), pino({ level: 'silent' }));
  const stations = new StationRepository(db, clock);
  for (const id of ['ld-lat-01', 'ld-lat-02', 'ld-dasar-01']) {
    await stations.create({ id, name: id, commune: 'Lát', lat: 12, lon: 108.4, elevationM: 1_500, crop: 'arabica' } as StationCreate);
  }
  people = new PeopleRepository(db, clock);
});

afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function imported(text: string) {
  const result = people.importFarmersCsv(text);
  if (!result.ok) throw new Error(`expected a report, got: ${result.message}`);
  return result.report;
}

describe('farmer CSV import', () => {
  it('reads a semicolon export with a BOM, CRLF, blank lines, any column order and case, and reports rows by file line', () => {
    const text = [
      '\uFEFFPhone;Name;Station IDs;Diacritics;Language;Commune',
      '0911 000 001;Y Điệp;ld-lat-01 ld-lat-02;có;vi;Lát',
      '',
      '0911 000 002;"K\'Bình; con";;;;Lát',
      '0911 000 003;No Way;ld-lat-01;maybe;;',
      '0911 000 004;French;ld-lat-01;;fr;',
      '0911 000 005;Nowhere;;;;',
      '0911 000 006',
      '0911 000 001;Twice;ld-lat-01;;;',
      '0911 000 007;Bad station;ld-lat-01 ld-nope;;;',
    ].join('\r\n');
    const report = imported(text);
    expect(report.rows.map((r) => [r.row, r.ok, r.error ?? r.action])).toEqual([
      [2, true, 'created'],
      [4, true, 'created'],
      [5, false, expect.stringMatching(/^diacritics "maybe"/)],
      [6, false, expect.stringMatching(/^language: /)],
      [7, false, 'no station_ids and no commune: this farmer would never be warned'],
      [8, false, expect.stringMatching(/^name: /)],
      [9, false, 'same phone as row 2'],
      [10, false, 'unknown station ld-nope'],
    ]);
    expect(report).toMatchObject({ created: 2, updated: 0, failed: 6 });
    const [first, second] = people.listFarmers();
    expect(first).toMatchObject({
      name: 'Y Điệp',
      phone: '+84911000001',
      diacritics: true,
      commune: 'Lát',
      subscriptions: [{ stationId: 'ld-lat-01' }, { stationId: 'ld-lat-02' }],
    });
    expect(second).toMatchObject({ name: "K'Bình; con", phone: '+84911000002', language: 'vi', diacritics: true, subscriptions: [] });
  });

  it('updates a known phone: replaces the details and station list, keeps offsets of stations still listed and the escalation chain', () => {
    const known = people.listFarmers().find((f) => f.phone === '+84911000001');
    if (!known) throw new Error('farmer from the first import missing');
    db.prepare("UPDATE subscriptions SET offset_c = -1.5 WHERE farmer_id = ? AND station_id = 'ld-lat-02'").run(known.id);
    expect(people.setContacts(known.id, [{ role: 'village_head', name: 'Trưởng thôn', phone: '0933 000 001' }])).toMatchObject({
      ok: true,
    });

    const report = imported('name,phone,language,station_ids,diacritics\nY Điệp (sửa),+84 911 000 001,en,ld-lat-02;ld-dasar-01,no\n');
    expect(report).toEqual({ created: 0, updated: 1, failed: 0, rows: [{ row: 2, ok: true, action: 'updated', id: known.id }] });
    expect(people.getFarmer(known.id)).toMatchObject({
      name: 'Y Điệp (sửa)',
      language: 'en',
      diacritics: false,
      commune: null,
      subscriptions: [
        { stationId: 'ld-dasar-01', offsetC: 0 },
        { stationId: 'ld-lat-02', offsetC: -1.5 },
      ],
      contacts: [{ position: 1, role: 'village_head', phone: '+84933000001' }],
    });
  });

  it('saves nothing and reports every row when no row is good', () => {
    const before = people.listFarmers();
    const report = imported('name,phone,station_ids\nA,0123,ld-lat-01\nB,0911 000 009,ld-nope\n');
    expect(report).toMatchObject({ created: 0, updated: 0, failed: 2 });
    expect(people.listFarmers()).toEqual(before);
  });

  it.each([
    ['', /empty/],
    ['   \n\n', /empty/],
    ['name,station_ids\nA,ld-lat-01\n', /missing column phone/],
    ['name,phone,phone\n', /"phone" appears twice/],
    ['name,phone,village\n', /unknown column "village"/],
    ['name,phone\n"A,0911000001\n', /not readable as CSV/],
  ])('refuses the whole file %j', (text, message) => {
    const result = people.importFarmersCsv(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('accepts a header with no rows', () => {
    expect(imported('name,phone,language,commune,station_ids,diacritics\n')).toEqual({ created: 0, updated: 0, failed: 0, rows: [] });
  });
});
