import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { TOKEN_KEY_FILE, TokenKey, createTokenKeyFile, loadTokenKey, tokenKeyOf } from '../../server/auth/token-key.js';
import { dataPaths } from '../../server/paths.js';
import { openDatabase } from '../../server/registry/db.js';
import { IntegrationRepository } from '../../server/registry/integrations.js';
import { StationRepository } from '../../server/registry/stations.js';
import { runFrostwatch } from '../helpers/system.js';

/** The token key: 32 random bytes in DATA_DIR/token-hmac-key, mode 0600, created once even when processes race. */
const logger = pino({ level: 'silent' });
const clock: Clock = { now: () => Date.UTC(2026, 0, 15, 22, 0, 0), speed: 1 };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-token-key-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshDataDir(name: string): Promise<string> {
  const dataDir = join(dir, name);
  await mkdir(dataDir, { recursive: true });
  return dataDir;
}

describe('the token key file', () => {
  it('is created beside the registry with mode 0600 and 32 bytes, and read back by the next Db on that file', async () => {
    const dataDir = await freshDataDir('created');
    const registry = dataPaths(dataDir).registry;
    const db = openDatabase(registry, logger);
    const key = tokenKeyOf(db);
    db.close();
    const file = join(dataDir, TOKEN_KEY_FILE);
    const info = await stat(file);
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(32);
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const again = openDatabase(registry, logger);
    try {
      expect(tokenKeyOf(again).id).toBe(key.id);
      expect(tokenKeyOf(again)).toBe(tokenKeyOf(again)); // read once per Db
      // Both repositories take it from the db: their constructors stay (db, clock).
      expect(new StationRepository(again, clock).tokenKey.id).toBe(key.id);
      const integrations = new IntegrationRepository(again, clock);
      const created = await integrations.create({ kind: 'chirpstack', name: 'key-file' });
      expect(JSON.stringify(again.prepare('SELECT secret_hash FROM integrations').all())).toContain(`$${key.id}$`);
      expect(created).not.toBeNull();
    } finally {
      again.close();
    }
  });

  it('keeps station tokens valid across a restart: a token issued before is verified by a new process’s repository', async () => {
    const dataDir = await freshDataDir('restart');
    const first = openDatabase(dataPaths(dataDir).registry, logger);
    const created = await new StationRepository(first, clock).create({
      id: 'kf-restart' as never,
      name: 'Trạm',
      commune: 'Lát',
      lat: 12,
      lon: 108.4,
      elevationM: 1500,
      crop: 'arabica',
    });
    first.close();
    if (!created.ok) throw new Error('expected the station to be created');
    const second = openDatabase(dataPaths(dataDir).registry, logger);
    try {
      const auth = new CachingStationAuthenticator(new StationRepository(second, clock));
      expect(await auth.verify('kf-restart', Buffer.from(created.token))).toBe('ok');
    } finally {
      second.close();
    }
  });

  it('refuses a key file of the wrong length with a clear error, and leaves the file as it was', async () => {
    const dataDir = await freshDataDir('short');
    const file = join(dataDir, TOKEN_KEY_FILE);
    const short = randomBytes(31);
    await writeFile(file, short, { mode: 0o600 });
    const db = openDatabase(dataPaths(dataDir).registry, logger);
    try {
      expect(() => new StationRepository(db, clock)).toThrow(/token-hmac-key: the token key must be exactly 32 bytes, this file has 31/);
      expect(() => tokenKeyOf(db)).toThrow(/restore it from the backup of DATA_DIR/);
    } finally {
      db.close();
    }
    expect((await readFile(file)).equals(short)).toBe(true);
    await writeFile(file, Buffer.concat([randomBytes(32), Buffer.from('\n')]));
    expect(() => loadTokenKey(file)).toThrow(/this file has 33/);
    await writeFile(file, '');
    expect(() => loadTokenKey(file)).toThrow(/this file has 0/);
  });

  it('is not replaced by a creator that lost the race: it gets the key already there', async () => {
    const dataDir = await freshDataDir('race-lost');
    const file = join(dataDir, TOKEN_KEY_FILE);
    const first = randomBytes(32);
    const second = randomBytes(32);
    expect(createTokenKeyFile(file, first).equals(first)).toBe(true);
    expect(createTokenKeyFile(file, second).equals(first)).toBe(true);
    expect((await readFile(file)).equals(first)).toBe(true);
    expect(loadTokenKey(file).id).toBe(new TokenKey(first).id);
    expect(await readdir(dataDir)).toEqual([TOKEN_KEY_FILE]);
  });

  it('gives every in-memory registry a key of its own and writes no file', () => {
    const here = join(process.cwd(), TOKEN_KEY_FILE);
    const existedBefore = existsSync(here);
    const a = new Database(':memory:');
    const b = new Database(':memory:');
    try {
      expect(tokenKeyOf(a)).toBe(tokenKeyOf(a));
      expect(tokenKeyOf(a).id).not.toBe(tokenKeyOf(b).id);
      expect(existsSync(here)).toBe(existedBefore);
    } finally {
      a.close();
      b.close();
    }
  });

  it('is created once when several `frostwatch station add` start together on a fresh DATA_DIR: every token issued works', async () => {
    const dataDir = await freshDataDir('race-cli');
    // The registry exists (as after a first start); the key does not yet.
    openDatabase(dataPaths(dataDir).registry, logger).close();
    expect(existsSync(join(dataDir, TOKEN_KEY_FILE))).toBe(false);
    const ids = Array.from({ length: 6 }, (_, i) => `kf-race-${i}`);
    const runs = ids.map((id) =>
      runFrostwatch(
        ['station', 'add', '--id', id, '--name', id, '--commune', 'Lát', '--lat', '12', '--lon', '108.4', '--elevation', '1500', '--json'],
        { DATA_DIR: dataDir },
      ),
    );
    const codes = await Promise.all(runs.map((run) => run.exited));
    expect(codes, runs.map((run) => run.output().replace(/"token":"[^"]+"/g, '"token":"…"')).join('\n')).toEqual(ids.map(() => 0));
    const issued = runs.map((run) => JSON.parse(run.output()) as { id: string; token: string });
    expect((await stat(join(dataDir, TOKEN_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    const db = openDatabase(dataPaths(dataDir).registry, logger);
    try {
      const auth = new CachingStationAuthenticator(new StationRepository(db, clock));
      for (const { id, token } of issued) expect(await auth.verify(id, Buffer.from(token)), id).toBe('ok');
    } finally {
      db.close();
    }
  });
});
