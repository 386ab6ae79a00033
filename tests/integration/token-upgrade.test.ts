import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, StationId } from '../../contracts/index.js';
import { watchCredentials } from '../../server/auth/credential-watch.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { hashToken } from '../../server/auth/station-tokens.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { IntegrationRepository } from '../../server/registry/integrations.js';
import { StationRepository } from '../../server/registry/stations.js';
import { registerStation } from '../helpers/register-station.js';

/**
 * Tokens issued before the keyed hash are stored as scrypt hashes. They keep working, and the first good login
 * replaces the hash by the keyed one — only if the hash is still the one verified, so a rotation or revocation
 * made during the scrypt wins.
 */
const logger = pino({ level: 'silent' });
const clock: Clock = { now: () => Date.UTC(2026, 0, 15, 22, 0, 0), speed: 1 };
let dir: string;
let file: string;
let db: Db;
let stations: StationRepository;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-upgrade-'));
  file = join(dir, 'frostwatch.db');
  db = openDatabase(file, logger);
  stations = new StationRepository(db, clock);
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

/** A station as an older frostwatch left it: registered, its token's hash in the scrypt form. */
async function legacyStation(id: string): Promise<{ token: string; scrypt: string }> {
  const token = await registerStation(stations, id);
  const scrypt = await hashToken(token);
  db.prepare('UPDATE stations SET token_hash = ? WHERE id = ?').run(scrypt, id);
  return { token, scrypt };
}

describe('legacy scrypt station hashes', () => {
  it('still let their token in, and the first good login replaces the hash by the keyed one', async () => {
    const { token, scrypt } = await legacyStation('up-first');
    const auth = new CachingStationAuthenticator(stations);
    expect(await auth.verify('up-first', Buffer.from(token))).toBe('ok');
    const stored = stations.tokenHash('up-first') ?? '';
    expect(stored).not.toBe(scrypt);
    expect(stored).toMatch(/^hmac-sha256\$/);
    expect(stations.tokenKey.matches(token, stored)).toBe(true);
    // From now on a fresh authenticator (a restarted gateway) verifies it without scrypt, and the lockout memory knows it.
    expect(await new CachingStationAuthenticator(stations).verify('up-first', Buffer.from(token))).toBe('ok');
    expect(auth.verifyCached('up-first', Buffer.from(token))).toBe('ok');
  });

  it('refuse a wrong token and leave the hash alone', async () => {
    const { scrypt } = await legacyStation('up-wrong');
    const auth = new CachingStationAuthenticator(stations);
    expect(await auth.verify('up-wrong', Buffer.from('not-the-token'))).toBe('bad_token');
    expect(stations.tokenHash('up-wrong')).toBe(scrypt);
  });

  it('lose to a rotation made during the scrypt: the old token is refused and the new hash stays', async () => {
    const { token } = await legacyStation('up-rotate');
    const auth = new CachingStationAuthenticator(stations);
    // verify() reads the hash and starts scrypt before it returns; the rotation lands while scrypt runs.
    const pending = auth.verify('up-rotate', Buffer.from(token));
    const fresh = (await stations.rotateToken('up-rotate')) ?? '';
    const rotated = stations.tokenHash('up-rotate');
    expect(await pending).toBe('bad_token');
    expect(stations.tokenHash('up-rotate')).toBe(rotated);
    expect(auth.verifyCached('up-rotate', Buffer.from(token))).toBeNull();
    expect(await auth.verify('up-rotate', Buffer.from(token))).toBe('bad_token');
    expect(await auth.verify('up-rotate', Buffer.from(fresh))).toBe('ok');
  });

  it('lose to a revocation or a deletion made during the scrypt', async () => {
    const revoked = await legacyStation('up-revoke');
    const deleted = await legacyStation('up-delete');
    const auth = new CachingStationAuthenticator(stations);
    const pendingRevoked = auth.verify('up-revoke', Buffer.from(revoked.token));
    const pendingDeleted = auth.verify('up-delete', Buffer.from(deleted.token));
    stations.revokeToken('up-revoke');
    db.prepare('DELETE FROM stations WHERE id = ?').run('up-delete');
    expect(await pendingRevoked).toBe('revoked');
    expect(await pendingDeleted).toBe('unknown_station');
    expect(stations.tokenHash('up-revoke')).toBe('revoked');
    expect(stations.tokenHash('up-delete')).toBeNull();
  });

  it('let two simultaneous logins of the same token both in (the second finds the first one’s upgrade)', async () => {
    const { token } = await legacyStation('up-twice');
    const [a, b] = [new CachingStationAuthenticator(stations), new CachingStationAuthenticator(stations)];
    const results = await Promise.all([a.verify('up-twice', Buffer.from(token)), b.verify('up-twice', Buffer.from(token))]);
    expect(results).toEqual(['ok', 'ok']);
    expect(stations.tokenKey.matches(token, stations.tokenHash('up-twice') ?? '')).toBe(true);
  });

  it('let the good token in when the registry cannot take the upgrade (read-only), and try again at the next login', async () => {
    const { token, scrypt } = await legacyStation('up-readonly');
    const readonly = new Database(file, { readonly: true });
    try {
      const auth = new CachingStationAuthenticator(new StationRepository(readonly, clock));
      expect(await auth.verify('up-readonly', Buffer.from(token))).toBe('ok');
      expect(stations.tokenHash('up-readonly')).toBe(scrypt);
      expect(await auth.verify('up-readonly', Buffer.from('wrong'))).toBe('bad_token');
    } finally {
      readonly.close();
    }
    expect(await new CachingStationAuthenticator(stations).verify('up-readonly', Buffer.from(token))).toBe('ok');
    expect(stations.tokenHash('up-readonly')).toMatch(/^hmac-sha256\$/);
  });

  it('is no credential change: the watch drops nobody for an upgrade, in this process or seen by polling, but still for a rotation', async () => {
    const { token } = await legacyStation('up-watch');
    const watch = watchCredentials({ db, stations, logger, pollMs: 20 });
    const changed: StationId[] = [];
    watch.onChange((id) => changed.push(id));
    try {
      expect(await new CachingStationAuthenticator(stations).verify('up-watch', Buffer.from(token))).toBe('ok');
      // Another connection commits something: the next poll compares every stored hash with its snapshot.
      const other = openDatabase(file, logger);
      try {
        await registerStation(new StationRepository(other, clock), 'up-watch-other');
      } finally {
        other.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(changed).toEqual([]);
      await stations.rotateToken('up-watch');
      expect(changed).toEqual(['up-watch']);
    } finally {
      watch.close();
    }
  });
});

describe('legacy scrypt integration passwords', () => {
  it('still let their password in and are upgraded at the first good login; a wrong one changes nothing', async () => {
    const integrations = new IntegrationRepository(db, clock);
    const created = await integrations.create({ kind: 'chirpstack', name: 'up-legacy' });
    if (!created) throw new Error('expected the account to be created');
    const scrypt = await hashToken(created.password);
    const stored = () =>
      db.prepare<[string], { secret_hash: string }>('SELECT secret_hash FROM integrations WHERE username = ?').get(created.username)
        ?.secret_hash;
    db.prepare('UPDATE integrations SET secret_hash = ? WHERE username = ?').run(scrypt, created.username);
    expect(await integrations.verify(created.username, Buffer.from('wrong'))).toBeNull();
    expect(stored()).toBe(scrypt);
    expect(await integrations.verify(created.username, Buffer.from(created.password))).toBe('chirpstack');
    expect(stored()).toMatch(/^hmac-sha256\$/);
    expect(await integrations.verify(created.username, Buffer.from(created.password))).toBe('chirpstack');
  });

  it('lose to a removal made during the scrypt', async () => {
    const integrations = new IntegrationRepository(db, clock);
    const created = await integrations.create({ kind: 'chirpstack', name: 'up-removed' });
    if (!created) throw new Error('expected the account to be created');
    db.prepare('UPDATE integrations SET secret_hash = ? WHERE username = ?').run(await hashToken(created.password), created.username);
    const pending = integrations.verify(created.username, Buffer.from(created.password));
    expect(integrations.remove(created.username)).toBe(true);
    expect(await pending).toBeNull();
  });

  it('hash new passwords with the same key as the stations, and never store the password', async () => {
    const integrations = new IntegrationRepository(db, clock);
    const created = await integrations.create({ kind: 'chirpstack', name: 'up-new' });
    if (!created) throw new Error('expected the account to be created');
    const row = db.prepare('SELECT * FROM integrations WHERE username = ?').get(created.username);
    expect(JSON.stringify(row)).not.toContain(created.password);
    expect(JSON.stringify(row)).toContain(`"hmac-sha256$${stations.tokenKey.id}$`);
  });
});
