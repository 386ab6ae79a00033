import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeSchema, type Clock } from '../../contracts/index.js';
import { buildApp } from '../../server/app.js';
import { LOCKOUT_MS, SESSION_TTL_MS, UserAuth } from '../../server/auth/sessions.js';
import { openDatabase, type Db } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { loginRoutes } from '../../server/routes/session.js';
import { UserSchema } from '../../server/routes/users.js';
import { textLogger } from '../helpers/mqtt.js';

const START = Date.UTC(2026, 0, 15, 10, 0, 0);
const ADMIN = 'test-admin-token-0123456789';
const PASSWORDS = { lan: 'lan-secret-password-1', hai: 'hai-secret-password-2', boss: 'boss-secret-password-3' };
const adminToken = { authorization: `Bearer ${ADMIN}` };
const csrf = { 'x-requested-with': 'frostwatch' };

const { logger, lines: logLines } = textLogger();

let nowMs = START;
const clock: Clock = { now: () => nowMs, speed: 1 };
let dir: string;
let db: Db;
let auth: UserAuth;
let app: FastifyInstance;
const sessionIds: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-auth-'));
  db = openDatabase(join(dir, 'frostwatch.db'), logger);
  auth = new UserAuth({ db, clock, logger });
  app = await buildApp({
    logger,
    clock,
    stations: new StationRepository(db, clock),
    readings: { query: () => Promise.resolve([]) },
    activity: { get: () => ({ lastSeenAt: null, online: null }) },
    health: () => Promise.resolve({ status: 'ok', checks: {} }),
    metrics: new Registry(),
    adminToken: ADMIN,
    auth,
    // This file drives dozens of sign-ins from one address to test the per-username lockout; the per-address
    // limits are tests/integration/http-limits.test.ts's.
    rateLimits: { signInsPerMin: 1_000, failedAuthMax: 1_000 },
  });
  await auth.users.create({ username: 'lan', name: 'Nguyễn Thị Lan', role: 'officer', password: PASSWORDS.lan });
  await auth.users.create({ username: 'hai', name: 'Trần Văn Hải', role: 'viewer', password: PASSWORDS.hai });
  await auth.users.create({ username: 'boss', name: 'Trưởng phòng', role: 'admin', password: PASSWORDS.boss });
});

afterAll(async () => {
  await app.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
  const log = logLines.join('');
  for (const secret of [ADMIN, ...Object.values(PASSWORDS), ...sessionIds]) expect(log).not.toContain(secret);
});

const login = (username: string, password: string) => app.inject({ method: 'POST', url: '/api/session', payload: { username, password } });

/** Signs in and returns the cookie header to send back. */
async function signIn(username: keyof typeof PASSWORDS): Promise<{ cookie: string }> {
  const response = await login(username, PASSWORDS[username]);
  expect(response.statusCode).toBe(200);
  const cookie = response.cookies.find((c) => c.name === 'fw_session');
  if (!cookie) throw new Error('no session cookie');
  sessionIds.push(cookie.value);
  return { cookie: `fw_session=${cookie.value}` };
}

function expectError(response: LightMyRequestResponse, statusCode: number, message?: RegExp): void {
  expect(response.statusCode).toBe(statusCode);
  const body = response.json<{ error: string; message: string }>();
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  if (message) expect(body.message).toMatch(message);
}

describe('sign-in', () => {
  it('answers Me and sets an httpOnly, SameSite=Strict, Path=/ session cookie, not Secure over plain http', async () => {
    const response = await login('lan', PASSWORDS.lan);
    expect(response.statusCode).toBe(200);
    expect(MeSchema.strict().parse(response.json())).toEqual({
      username: 'lan',
      role: 'officer',
      name: 'Nguyễn Thị Lan',
      districtId: 'lac-duong',
      districtName: 'Lạc Dương',
    });
    const cookie = response.cookies.find((c) => c.name === 'fw_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(cookie?.secure).toBeUndefined();
    expect(cookie?.maxAge).toBeUndefined();
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    sessionIds.push(cookie?.value ?? '');
    const stored = db.prepare<[], { id_hash: Buffer }>('SELECT id_hash FROM sessions').all();
    expect(stored.some((row) => row.id_hash.toString('base64url') === cookie?.value)).toBe(false);
  });

  it('marks the cookie Secure when the request came over https', async () => {
    const https = await Fastify443();
    try {
      const response = await https.inject({ method: 'POST', url: '/api/session', payload: { username: 'lan', password: PASSWORDS.lan } });
      expect(response.statusCode).toBe(200);
      expect(response.cookies.find((c) => c.name === 'fw_session')?.secure).toBe(true);
    } finally {
      await https.close();
    }
  });

  it('matches the username case-insensitively', async () => {
    expect((await login('  LAN ', PASSWORDS.lan)).statusCode).toBe(200);
  });

  it('gives the same 401 for a wrong password, an unknown user and a disabled user, with no cookie', async () => {
    auth.users.setDisabled('hai', true);
    const answers = [
      await login('lan', 'wrong-password-xx'),
      await login('nobody', 'wrong-password-xx'),
      await login('hai', PASSWORDS.hai),
    ];
    auth.users.setDisabled('hai', false);
    for (const response of answers) {
      expectError(response, 401, /^wrong username or password$/);
      expect(response.cookies).toEqual([]);
    }
    expect(new Set(answers.map((r) => r.body)).size).toBe(1);
  });

  it('refuses a malformed body with 400', async () => {
    expectError(await app.inject({ method: 'POST', url: '/api/session', payload: { username: 'lan' } }), 400, /body\.password/);
  });

  it('locks a username for 15 minutes after 5 failures, even with the right password, then lets it in again', async () => {
    for (let i = 0; i < 5; i++) expectError(await login('boss', `wrong-${i}-password`), 401);
    const locked = await login('boss', PASSWORDS.boss);
    expectError(locked, 429, /try again in 15 min/);
    expect(locked.headers['retry-after']).toBe(String(LOCKOUT_MS / 1_000));
    expect(locked.cookies).toEqual([]);
    // Other usernames are not affected, and unknown ones lock the same way (a 429 does not reveal existence).
    expect((await login('lan', PASSWORDS.lan)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) await login('ghost', `wrong-${i}-password`);
    expectError(await login('ghost', 'anything-at-all'), 429);

    nowMs += LOCKOUT_MS - 1_000;
    expectError(await login('boss', PASSWORDS.boss), 429);
    nowMs += 1_000;
    expect((await login('boss', PASSWORDS.boss)).statusCode).toBe(200);
  });

  it('counts failures in a 15-minute window; a success resets the count', async () => {
    for (let i = 0; i < 4; i++) expectError(await login('hai', `wrong-${i}-password`), 401);
    expect((await login('hai', PASSWORDS.hai)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expectError(await login('hai', `wrong-${i}-password`), 401);
    nowMs += LOCKOUT_MS;
    expectError(await login('hai', 'wrong-again-password'), 401);
    expect((await login('hai', PASSWORDS.hai)).statusCode).toBe(200);
  });
});

describe('sessions', () => {
  it('GET /api/me answers for the cookie and for the admin token; nothing else is accepted', async () => {
    const lan = await signIn('lan');
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: lan })).json()).toEqual({
      username: 'lan',
      role: 'officer',
      name: 'Nguyễn Thị Lan',
      districtId: 'lac-duong',
      districtName: 'Lạc Dương',
    });
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: adminToken })).json()).toEqual({
      username: 'admin-token',
      role: 'admin',
      name: 'Admin token',
      districtId: null,
      districtName: null,
    });
    expectError(await app.inject({ method: 'GET', url: '/api/me' }), 401);
    expectError(
      await app.inject({ method: 'GET', url: '/api/me', headers: { cookie: 'fw_session=made-up-session-id' } }),
      401,
      /sign in again/,
    );
    // A password is not a bearer token, and a wrong Authorization header is not rescued by a good cookie.
    expectError(await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${PASSWORDS.lan}` } }), 401);
    expectError(
      await app.inject({ method: 'GET', url: '/api/me', headers: { ...lan, authorization: 'Bearer wrong-token-0123456789' } }),
      401,
    );
  });

  it('slides: a session used within 12 h lives on, one left alone for 12 h is gone', async () => {
    const lan = await signIn('lan');
    nowMs += SESSION_TTL_MS - 60_000;
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: lan })).statusCode).toBe(200);
    nowMs += SESSION_TTL_MS - 60_000;
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: lan })).statusCode).toBe(200);
    nowMs += SESSION_TTL_MS;
    const expired = await app.inject({ method: 'GET', url: '/api/me', headers: lan });
    expectError(expired, 401, /session expired/);
    expect(expired.cookies.find((c) => c.name === 'fw_session')?.value).toBe('');
  });

  it('ends for a user who is disabled', async () => {
    const hai = await signIn('hai');
    auth.users.setDisabled('hai', true);
    expectError(await app.inject({ method: 'GET', url: '/api/me', headers: hai }), 401);
    auth.users.setDisabled('hai', false);
  });

  it('logs out: the session is removed and the cookie cleared', async () => {
    const lan = await signIn('lan');
    expectError(await app.inject({ method: 'DELETE', url: '/api/session', headers: lan }), 403, /X-Requested-With/);
    const out = await app.inject({ method: 'DELETE', url: '/api/session', headers: { ...lan, ...csrf } });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'fw_session')?.value).toBe('');
    expectError(await app.inject({ method: 'GET', url: '/api/me', headers: lan }), 401);
  });

  it('needs X-Requested-With: frostwatch for cookie-authenticated writes, not for reads or bearer writes', async () => {
    const boss = await signIn('boss');
    const user = { username: 'csrf-test', name: 'CSRF', role: 'viewer', password: 'long-enough-password' };
    expectError(await app.inject({ method: 'POST', url: '/api/users', headers: boss, payload: user }), 403, /X-Requested-With: frostwatch/);
    expectError(
      await app.inject({ method: 'POST', url: '/api/users', headers: { ...boss, 'x-requested-with': 'XMLHttpRequest' }, payload: user }),
      403,
    );
    expect(auth.users.get('csrf-test')).toBeNull();
    expect((await app.inject({ method: 'GET', url: '/api/users', headers: boss })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/users', headers: { ...boss, ...csrf }, payload: user })).statusCode).toBe(201);
    const byToken = await app.inject({
      method: 'POST',
      url: '/api/users',
      headers: adminToken,
      payload: { ...user, username: 'csrf-test-2' },
    });
    expect(byToken.statusCode).toBe(201);
  });
});

describe('users API', () => {
  it('creates and lists users without ever showing a password or hash', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/users',
      headers: adminToken,
      payload: { username: 'thu', name: 'Lê Thị Thu', role: 'officer', password: 'thu-secret-password' },
    });
    expect(created.statusCode).toBe(201);
    expect(UserSchema.strict().parse(created.json())).toEqual({
      username: 'thu',
      name: 'Lê Thị Thu',
      role: 'officer',
      createdAt: new Date(nowMs).toISOString(),
      disabled: false,
      districtId: 'lac-duong',
      districtName: 'Lạc Dương',
    });
    const list = await app.inject({ method: 'GET', url: '/api/users', headers: adminToken });
    expect(list.json<{ username: string }[]>().map((u) => u.username)).toEqual(expect.arrayContaining(['boss', 'hai', 'lan', 'thu']));
    expect(list.body).not.toMatch(/scrypt|password|secret/);
    expect((await login('thu', 'thu-secret-password')).statusCode).toBe(200);
  });

  it.each([
    ['a taken username', { username: 'lan', name: 'X', role: 'viewer', password: 'long-enough-password' }, 409, /already exists/],
    ['the reserved admin-token', { username: 'admin-token', name: 'X', role: 'admin', password: 'long-enough-password' }, 400, /reserved/],
    ['a short password', { username: 'newbie', name: 'X', role: 'viewer', password: 'short' }, 400, /at least 10/],
    ['an upper-case username', { username: 'Newbie', name: 'X', role: 'viewer', password: 'long-enough-password' }, 400, /lower-case/],
    ['an unknown role', { username: 'newbie', name: 'X', role: 'root', password: 'long-enough-password' }, 400, /body\.role/],
  ])('refuses %s', async (_name, payload, statusCode, message) => {
    expectError(await app.inject({ method: 'POST', url: '/api/users', headers: adminToken, payload }), statusCode, message);
  });
});

/** Login behind a TLS-terminating proxy, as far as Fastify can tell (trustProxy + X-Forwarded-Proto): request.protocol is https. */
async function Fastify443(): Promise<FastifyInstance> {
  const https = Fastify({ trustProxy: true });
  https.setValidatorCompiler(validatorCompiler);
  https.setSerializerCompiler(serializerCompiler);
  await https.register(cookie);
  await https.register(loginRoutes({ auth }), { prefix: '/api' });
  https.addHook('onRequest', (request, _reply, done) => {
    request.headers['x-forwarded-proto'] = 'https';
    done();
  });
  return https;
}
