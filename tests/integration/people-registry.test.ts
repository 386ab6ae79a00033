import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, FarmerCreate, StationCreate } from '../../contracts/index.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const clock: Clock = { now: () => T0, speed: 1 };

function farmer(overrides: Partial<FarmerCreate>): FarmerCreate {
  return { name: 'Nguyễn Văn A', phone: '0912 345 678', language: 'vi', diacritics: true, stationIds: [], contacts: [], ...overrides };
}

let dir: string;
let file: string;
let db: Db;
let people: PeopleRepository;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-people-'));
  file = join(dir, 'frostwatch.db');
  db = openDatabase(file, logger);
  const stations = new StationRepository(db, clock);
  for (const id of ['ld-dasar-01', 'ld-dasar-02', 'ld-lat-01']) {
    const station = { id, name: id, commune: 'Đạ Sar', lat: 12, lon: 108.4, elevationM: 1_450, crop: 'arabica' } as StationCreate;
    expect((await stations.create(station)).ok).toBe(true);
  }
  people = new PeopleRepository(db, clock);
});

afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('farmers', () => {
  it('stores the phone in E.164, the subscriptions with their offsets and the escalation chain in order', () => {
    const result = people.createFarmer(
      farmer({
        name: 'Ka Ho'.normalize('NFD'),
        phone: '0912 345 678',
        commune: '  Đạ   Sar '.normalize('NFD'),
        stationIds: ['ld-dasar-01' as never, 'ld-dasar-02' as never],
        subscriptions: [{ stationId: 'ld-dasar-02' as never, offsetC: -1.5 }],
        contacts: [
          { role: 'household', name: 'Vợ', phone: '+84 987 654 321' },
          { role: 'village_head', name: 'Trưởng thôn', phone: '0263 3822 123' },
          { role: 'officer', name: 'Cán bộ khuyến nông', phone: '84911222333' },
        ],
      }),
    );
    if (!result.ok) throw new Error(result.message);
    expect(result.farmer).toMatchObject({
      phone: '+84912345678',
      commune: 'Đạ Sar',
      diacritics: true,
      createdAt: T0,
      subscriptions: [
        { stationId: 'ld-dasar-01', offsetC: 0 },
        { stationId: 'ld-dasar-02', offsetC: -1.5 },
      ],
    });
    expect(people.escalationChain(result.farmer.id)).toEqual([
      { position: 1, role: 'household', name: 'Vợ', phone: '+84987654321' },
      { position: 2, role: 'village_head', name: 'Trưởng thôn', phone: '+842633822123' },
      { position: 3, role: 'officer', name: 'Cán bộ khuyến nông', phone: '+84911222333' },
    ]);
    expect(people.getFarmer(result.farmer.id)).toEqual(result.farmer);
  });

  it.each([
    [farmer({ phone: '+84 912 345 678', stationIds: ['ld-lat-01' as never] }), 'phone_exists', /already registered/],
    [farmer({ phone: '0123', stationIds: ['ld-lat-01' as never] }), 'invalid', /phone: .*not a valid number/],
    [farmer({ phone: '0900 000 001', stationIds: ['ld-nowhere' as never] }), 'unknown_station', /unknown station ld-nowhere/],
    [farmer({ phone: '0900 000 002' }), 'invalid', /stationIds or a commune/],
    [
      farmer({ phone: '0900 000 003', commune: 'Lát', contacts: [{ role: 'household', name: 'x', phone: '12' }] }),
      'invalid',
      /contacts\.0\.phone/,
    ],
  ])('refuses %#: %s', (input, reason, message) => {
    const before = people.listFarmers().length;
    const result = people.createFarmer(input);
    expect(result).toMatchObject({ ok: false, reason });
    if (!result.ok) expect(result.message).toMatch(message);
    expect(people.listFarmers()).toHaveLength(before);
  });

  it('removes a farmer with their subscriptions and contacts', () => {
    const result = people.createFarmer(
      farmer({
        phone: '0977 000 111',
        stationIds: ['ld-lat-01' as never],
        contacts: [{ role: 'household', name: 'B', phone: '0977 000 112' }],
      }),
    );
    if (!result.ok) throw new Error(result.message);
    expect(people.deleteFarmer(result.farmer.id)).toBe(true);
    expect(people.deleteFarmer(result.farmer.id)).toBe(false);
    expect(people.getFarmer(result.farmer.id)).toBeNull();
    expect(people.escalationChain(result.farmer.id)).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM subscriptions WHERE farmer_id = ?').get(result.farmer.id)).toEqual({ n: 0 });
  });
});

describe('recipientsFor', () => {
  const ids: Record<string, number> = {};
  beforeAll(() => {
    const add = (key: string, input: Partial<FarmerCreate>) => {
      const result = people.createFarmer(farmer(input));
      if (!result.ok) throw new Error(result.message);
      ids[key] = result.farmer.id;
    };
    add('direct', {
      name: 'Direct',
      phone: '0911 000 001',
      stationIds: ['ld-lat-01' as never],
      subscriptions: [{ stationId: 'ld-lat-01' as never, offsetC: -1 }],
    });
    add('commune', { name: 'By commune', phone: '0911 000 002', commune: 'Lát', language: 'en', diacritics: false });
    add('communeOtherSpelling', { name: 'Lower case NFD', phone: '0911 000 003', commune: 'lát'.normalize('NFD') });
    add('communeButDirectElsewhere', {
      name: 'Has own station',
      phone: '0911 000 004',
      commune: 'Lát',
      stationIds: ['ld-dasar-01' as never],
    });
    add('otherCommune', { name: 'Other commune', phone: '0911 000 005', commune: 'Đạ Nhim' });
  });

  it('finds no commune farmers until the commune has a representative station', () => {
    expect(people.recipientsFor('ld-lat-01').map((r) => r.farmerId)).toEqual([ids['direct']]);
  });

  it('adds farmers without a station of their own through their commune, with the commune offset', () => {
    const set = people.setCommuneStation('LÁT', 'ld-dasar-02', 0.5);
    expect(set.ok).toBe(true);
    // Re-pointing the commune, typed differently, replaces the row instead of adding a second one.
    expect(people.setCommuneStation(' Lát ', 'ld-lat-01', -0.5)).toEqual({
      ok: true,
      communeStation: { commune: 'Lát', stationId: 'ld-lat-01', offsetC: -0.5 },
    });
    expect(people.communeStations()).toEqual([{ commune: 'Lát', stationId: 'ld-lat-01', offsetC: -0.5 }]);

    expect(people.recipientsFor('ld-lat-01')).toEqual([
      {
        farmerId: ids['direct'],
        name: 'Direct',
        phone: '+84911000001',
        language: 'vi',
        diacritics: true,
        commune: null,
        offsetC: -1,
        via: 'direct',
      },
      {
        farmerId: ids['commune'],
        name: 'By commune',
        phone: '+84911000002',
        language: 'en',
        diacritics: false,
        commune: 'Lát',
        offsetC: -0.5,
        via: 'commune',
      },
      {
        farmerId: ids['communeOtherSpelling'],
        name: 'Lower case NFD',
        phone: '+84911000003',
        language: 'vi',
        diacritics: true,
        commune: 'lát',
        offsetC: -0.5,
        via: 'commune',
      },
    ]);
    // The commune moved away from ld-dasar-02: only its direct subscriber (Ka Ho, offset −1.5) is left there.
    expect(people.recipientsFor('ld-dasar-02').map((r) => [r.name, r.via, r.offsetC])).toEqual([['Ka Ho', 'direct', -1.5]]);
    expect(people.recipientsFor('ld-dasar-01').map((r) => [r.farmerId, r.via])).toContainEqual([
      ids['communeButDirectElsewhere'],
      'direct',
    ]);
  });

  it('refuses a commune station that does not exist', () => {
    expect(people.setCommuneStation('Đạ Nhim', 'ld-nowhere', 0)).toMatchObject({ ok: false, reason: 'unknown_station' });
    expect(people.recipientsFor('ld-nowhere')).toEqual([]);
  });
});

describe('officers', () => {
  it('registers officers once per phone and lists them', () => {
    const first = people.createOfficer({ name: 'Chị Lan', phone: '0988 111 222', language: 'vi' });
    expect(first).toMatchObject({ ok: true, officer: { phone: '+84988111222', language: 'vi', createdAt: T0 } });
    expect(people.createOfficer({ name: 'Again', phone: '+84988111222', language: 'en' })).toMatchObject({
      ok: false,
      reason: 'phone_exists',
    });
    expect(people.createOfficer({ name: 'Bad', phone: '12345', language: 'en' })).toMatchObject({ ok: false, reason: 'invalid' });
    expect(people.officers().map((o) => o.name)).toEqual(['Chị Lan']);
  });
});

describe('persistence', () => {
  it('finds everything again through a second connection to the same file', () => {
    const other = openDatabase(file, logger);
    try {
      const again = new PeopleRepository(other, clock);
      expect(again.listFarmers()).toEqual(people.listFarmers());
      expect(again.recipientsFor('ld-lat-01')).toEqual(people.recipientsFor('ld-lat-01'));
      expect(again.officers()).toEqual(people.officers());
    } finally {
      other.close();
    }
  });
});
