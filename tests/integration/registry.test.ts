import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, StationCreate } from '../../contracts/index.js';
import { resolveAdminToken } from '../../server/auth/admin-token.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { migrate, openDatabase, type Db } from '../../server/registry/db.js';
import { MIGRATIONS } from '../../server/registry/migrations.js';
import { StationRepository } from '../../server/registry/stations.js';

const logger = pino({ level: 'silent' });
const T0 = Date.UTC(2026, 0, 15, 22, 0, 0);

function station(id: string): StationCreate {
  return { id, name: `Trạm ${id}`, commune: 'Đạ Sar', lat: 12.0, lon: 108.4, elevationM: 1_450, crop: 'arabica' } as StationCreate;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-registry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openDatabase', () => {
  it('creates the file in WAL mode with the migrations applied once', () => {
    const file = join(dir, 'sub', 'first.sqlite');
    const db = openDatabase(file, logger);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const versions = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(versions).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
      const columns = db
        .prepare("SELECT name FROM pragma_table_info('stations')")
        .all()
        .map((row) => (row as { name: string }).name);
      expect(columns).toEqual([
        'id',
        'name',
        'commune',
        'lat',
        'lon',
        'elevation_m',
        'crop',
        'token_hash',
        'created_at',
        'token_rotated_at',
        'source',
        'device_id',
        'device_preset',
        'field_map',
        'district_id',
      ]);
    } finally {
      db.close();
    }
  });

  it('is idempotent on reopen and keeps the data', async () => {
    const file = join(dir, 'reopen.sqlite');
    const clock: Clock = { now: () => T0, speed: 1 };
    const first = openDatabase(file, logger);
    const created = await new StationRepository(first, clock).create(station('ld-reopen'));
    first.close();
    expect(created.ok).toBe(true);

    const second = openDatabase(file, logger);
    try {
      expect(migrate(second, MIGRATIONS, logger)).toEqual([]);
      expect(second.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
      expect(new StationRepository(second, clock).get('ld-reopen')?.name).toBe('Trạm ld-reopen');
    } finally {
      second.close();
    }
  });

  it('rolls back a failing migration entirely and does not record it', () => {
    const file = join(dir, 'failing.sqlite');
    const broken = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE half (a INTEGER); INSERT INTO missing VALUES (1);' },
    ];
    expect(() => openDatabase(file, logger, broken)).toThrow(/missing/);
    const db = openDatabase(file, logger);
    try {
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
      expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: MIGRATIONS.length });
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('stamps each migration it applies with the injected clock, in whole milliseconds', () => {
    const file = join(dir, 'stamped.sqlite');
    const db = openDatabase(file, logger, MIGRATIONS, { now: () => T0 + 0.6, speed: 60 });
    try {
      const rows = db.prepare<[], { applied_at: number }>('SELECT applied_at FROM schema_migrations').all();
      expect(rows.map((r) => r.applied_at)).toEqual(MIGRATIONS.map(() => T0 + 1));
      const later = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'later', sql: 'CREATE TABLE later (a INTEGER)' }];
      expect(migrate(db, later, logger, { now: () => T0 + 86_400_000, speed: 1 })).toEqual([MIGRATIONS.length + 1]);
      expect(db.prepare('SELECT applied_at FROM schema_migrations WHERE name = ?').get('later')).toEqual({ applied_at: T0 + 86_400_000 });
    } finally {
      db.close();
    }
  });

  it('refuses a migration list with a gap', () => {
    const gap = [{ version: 2, name: 'skips-one', sql: 'SELECT 1' }];
    expect(() => openDatabase(join(dir, 'gap.sqlite'), logger, gap)).toThrow(/expected 1/);
  });
});

describe('StationRepository and CachingStationAuthenticator', () => {
  let db: Db;
  let now = T0;
  const clock: Clock = { now: () => now, speed: 1 };
  let stations: StationRepository;

  beforeAll(() => {
    db = openDatabase(join(dir, 'registry.sqlite'), logger);
    stations = new StationRepository(db, clock);
  });
  afterAll(() => db.close());

  it('creates a station, stores only the token hash, and refuses a duplicate id', async () => {
    const created = await stations.create(station('ld-create'));
    if (!created.ok) throw new Error('expected the station to be created');
    expect(created.station).toEqual({
      id: 'ld-create',
      name: 'Trạm ld-create',
      commune: 'Đạ Sar',
      lat: 12,
      lon: 108.4,
      elevationM: 1_450,
      crop: 'arabica',
      districtId: 'lac-duong',
      source: 'native',
      deviceId: null,
      preset: null,
      fieldMap: null,
      createdAt: T0,
      tokenRotatedAt: null,
    });
    const stored = stations.tokenHash('ld-create');
    expect(stored).toMatch(/^hmac-sha256\$/);
    expect(stored).not.toContain(created.token);
    expect(stations.tokenKey.matches(created.token, stored ?? '')).toBe(true);
    const row = db.prepare('SELECT * FROM stations WHERE id = ?').get('ld-create');
    expect(JSON.stringify(row)).not.toContain(created.token);

    expect(await stations.create({ ...station('ld-create'), name: 'other' })).toEqual({ ok: false, reason: 'exists' });
    expect(stations.get('ld-create')?.name).toBe('Trạm ld-create');
  });

  it('lists and gets stations; unknown ids give null', async () => {
    await stations.create(station('ld-list-b'));
    await stations.create(station('ld-list-a'));
    const ids = stations.list().map((s) => s.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(['ld-list-a', 'ld-list-b']));
    expect(stations.get('nope')).toBeNull();
    expect(stations.tokenHash('nope')).toBeNull();
  });

  it('rotates a token: new hash, rotation time recorded, unknown station → null', async () => {
    const created = await stations.create(station('ld-rotate'));
    if (!created.ok) throw new Error('expected the station to be created');
    now = T0 + 60_000;
    const fresh = await stations.rotateToken('ld-rotate');
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(created.token);
    const stored = stations.tokenHash('ld-rotate') ?? '';
    expect(stations.tokenKey.matches(fresh ?? '', stored)).toBe(true);
    expect(stations.tokenKey.matches(created.token, stored)).toBe(false);
    expect(stations.get('ld-rotate')?.tokenRotatedAt).toBe(T0 + 60_000);
    expect(await stations.rotateToken('nope')).toBeNull();
  });

  it('authenticates: ok, bad_token, unknown_station', async () => {
    const created = await stations.create(station('ld-auth'));
    if (!created.ok) throw new Error('expected the station to be created');
    const auth = new CachingStationAuthenticator(stations);
    expect(await auth.verify('ld-auth', Buffer.from(created.token))).toBe('ok');
    expect(await auth.verify('ld-auth', Buffer.from('wrong'))).toBe('bad_token');
    expect(await auth.verify('ld-missing', Buffer.from(created.token))).toBe('unknown_station');
    expect(await auth.verify('bad/id', Buffer.from(created.token))).toBe('unknown_station');
  });

  it('a cached success never admits another token, and rotation refuses the old token at once', async () => {
    const created = await stations.create(station('ld-cache'));
    if (!created.ok) throw new Error('expected the station to be created');
    const auth = new CachingStationAuthenticator(stations);
    const old = Buffer.from(created.token);
    const results = await Promise.all(Array.from({ length: 20 }, () => auth.verify('ld-cache', old)));
    expect(new Set(results)).toEqual(new Set(['ok']));
    expect(auth.size).toBe(1);
    expect(await auth.verify('ld-cache', Buffer.from(created.token.slice(0, -1)))).toBe('bad_token');

    const fresh = await stations.rotateToken('ld-cache');
    expect(await auth.verify('ld-cache', old)).toBe('bad_token');
    expect(await auth.verify('ld-cache', Buffer.from(fresh ?? ''))).toBe('ok');
    expect(await auth.verify('ld-cache', old)).toBe('bad_token');

    db.prepare('DELETE FROM stations WHERE id = ?').run('ld-cache');
    expect(await auth.verify('ld-cache', Buffer.from(fresh ?? ''))).toBe('unknown_station');
  });

  it('keeps the cache bounded', async () => {
    const auth = new CachingStationAuthenticator(stations, { maxEntries: 2 });
    for (const id of ['ld-lru-1', 'ld-lru-2', 'ld-lru-3']) {
      const created = await stations.create(station(id));
      if (!created.ok) throw new Error('expected the station to be created');
      expect(await auth.verify(id, Buffer.from(created.token))).toBe('ok');
    }
    expect(auth.size).toBe(2);
  });
});

describe('resolveAdminToken', () => {
  it('uses ADMIN_TOKEN when configured and writes nothing', async () => {
    const dataDir = join(dir, 'admin-configured');
    const result = await resolveAdminToken({ configured: 'configured-admin-token-123', dataDir, logger });
    expect(result).toEqual({ token: 'configured-admin-token-123', generated: false });
    await expect(stat(join(dataDir, 'admin-token'))).rejects.toThrow(/ENOENT/);
  });

  it('generates a token once, stores it with mode 0600, and reads it back afterwards', async () => {
    const dataDir = join(dir, 'admin-generated');
    const first = await resolveAdminToken({ dataDir, logger });
    expect(first.generated).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    const file = join(dataDir, 'admin-token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first.token);
    expect(await resolveAdminToken({ dataDir, logger })).toEqual({ token: first.token, generated: false });
  });

  it('refuses a truncated token file instead of silently replacing it', async () => {
    const dataDir = join(dir, 'admin-short');
    await resolveAdminToken({ dataDir, logger });
    await writeFile(join(dataDir, 'admin-token'), 'short\n');
    await expect(resolveAdminToken({ dataDir, logger })).rejects.toThrow(/shorter than 16/);
  });
});
