import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/registry/db.js';
import { MIGRATIONS } from '../../server/registry/migrations.js';
import { PeopleRepository } from '../../server/registry/people.js';
import { StationRepository } from '../../server/registry/stations.js';
import { UserRepository } from '../../server/auth/users.js';

/**
 * Migration 12 on a registry that already holds people and stations: everything goes into the default district
 * (lac-duong, "Lạc Dương"), officers and viewers are bound to it, admins stay province-wide — nothing changes for an
 * installation of one district.
 */
describe('migration 12 (districts) on an existing registry', () => {
  let dir: string;
  const logger = pino({ level: 'silent' });
  const clock = { now: () => Date.UTC(2026, 0, 1), speed: 1 };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-districts-migration-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts every station, farmer, officer and non-admin user in lac-duong', () => {
    const file = join(dir, 'old.db');
    const old = openDatabase(
      file,
      logger,
      MIGRATIONS.filter((m) => m.version <= 11),
      clock,
    );
    old.exec(`
      INSERT INTO stations (id, name, commune, lat, lon, elevation_m, crop, token_hash, created_at) VALUES ('ld-old', 'Old', 'Lát', 12, 108.4, 1500, 'arabica', 'revoked', 0);
      INSERT INTO farmers (name, phone, language, created_at) VALUES ('F', '+84912000001', 'vi', 0);
      INSERT INTO officers (name, phone, language, created_at) VALUES ('O', '+84912000002', 'vi', 0);
      INSERT INTO users (username, name, role, password_hash, created_at) VALUES ('boss', 'B', 'admin', 'x', 0), ('lan', 'L', 'officer', 'x', 0), ('wall', 'W', 'viewer', 'x', 0);
    `);
    old.close();
    const db = openDatabase(file, logger, MIGRATIONS, clock);
    try {
      const stations = new StationRepository(db, clock);
      expect(stations.districts.list()).toEqual([{ id: 'lac-duong', name: 'Lạc Dương', createdAt: 0 }]);
      expect(stations.get('ld-old')?.districtId).toBe('lac-duong');
      const people = new PeopleRepository(db, clock);
      expect(people.listFarmers().map((f) => f.districtId)).toEqual(['lac-duong']);
      expect(people.officers().map((o) => o.districtId)).toEqual(['lac-duong']);
      expect(people.officersOf('lac-duong')).toHaveLength(1);
      // One district: notices name none.
      expect(people.districtLabel('lac-duong')).toBeUndefined();
      const users = new UserRepository(db, clock);
      expect(users.list().map((u) => [u.username, u.districtId])).toEqual([
        ['boss', null],
        ['lan', 'lac-duong'],
        ['wall', 'lac-duong'],
      ]);
      expect(stations.districts.create({ id: 'duc-trong', name: 'Đức Trọng' }).ok).toBe(true);
      expect(people.districtLabel('lac-duong')).toBe('Lạc Dương');
    } finally {
      db.close();
    }
  });
});
