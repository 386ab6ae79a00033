import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, createGateway } from '../../gateway/gateway.js';
import { buildApp } from '../../server/app.js';
import { type CredentialWatch, watchCredentials } from '../../server/auth/credential-watch.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { dataPaths } from '../../server/paths.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { registerStation } from '../helpers/register-station.js';
import { admin } from '../helpers/frost-night.js';
import { HOST, capturingLogger, closeClients, connackCode, connectStation, eventually, fixedClock, metricValue } from '../helpers/mqtt.js';

const ADMIN = 'test-admin-token-0123456789abcdef';
const POLL_MS = 200;

let dir: string;
let db: Db;
let stations: StationRepository;
let watch: CredentialWatch;
let gateway: Gateway;
let app: FastifyInstance;
let mqttUrl: string;
const metrics = new Registry();
const clients: MqttClient[] = [];
const { logger, lines } = capturingLogger();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-revoke-'));
  // The registry file the CLI opens from DATA_DIR: a revocation by another process must reach this gateway.
  db = openDatabase(dataPaths(dir).registry, logger);
  stations = new StationRepository(db, fixedClock);
  watch = watchCredentials({ db, stations, logger, pollMs: POLL_MS });
  gateway = await createGateway({
    authenticator: new CachingStationAuthenticator(stations),
    logger,
    metrics,
    clock: fixedClock,
    credentialChanges: watch,
  });
  const { mqttPort } = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0 });
  mqttUrl = `mqtt://${HOST}:${mqttPort}`;
  app = await buildApp({
    logger,
    clock: fixedClock,
    stations,
    readings: { query: () => Promise.resolve([]) },
    activity: { get: () => ({ lastSeenAt: null, online: null }) },
    health: () => Promise.resolve({ status: 'ok', checks: {} }),
    metrics: new Registry(),
    adminToken: ADMIN,
  });
});

afterAll(async () => {
  await closeClients(...clients);
  // Also runs when beforeAll failed part-way, before these were assigned.
  await (app as FastifyInstance | undefined)?.close();
  await (gateway as Gateway | undefined)?.close();
  (watch as CredentialWatch | undefined)?.close();
  (db as Db | undefined)?.close();
  await rm(dir, { recursive: true, force: true });
});

const register = (id: string): Promise<string> => registerStation(stations, id);

async function connected(id: string, token: string): Promise<MqttClient> {
  const client = await connectStation(mqttUrl, id, token);
  clients.push(client);
  return client;
}

const auth = { authorization: `Bearer ${ADMIN}` };

/** Resolves when the gateway closes the client's connection (the test times out otherwise). */
function closeOf(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

describe('revoking a station token', () => {
  it('DELETE /api/stations/:id/token closes the live connection at once and refuses the next CONNECT', async () => {
    const token = await register('rv-http');
    const client = await connected('rv-http', token);
    const closed = closeOf(client);
    const res = await app.inject({ method: 'DELETE', url: '/api/stations/rv-http/token', headers: auth });
    expect(res.statusCode).toBe(204);
    await closed;
    expect(await connackCode(mqttUrl, 'rv-http', token)).toBe(5); // not authorized
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_failures_total', { reason: 'revoked' })).toBe(1);
    expect(await metricValue(metrics, 'frostwatch_gateway_credential_drops_total')).toBeGreaterThanOrEqual(1);
    expect(lines.some((l) => l['msg'] === 'station token revoked or replaced; connection closed' && l['stationId'] === 'rv-http')).toBe(
      true,
    );
  });

  it('is refused for unknown stations and for anyone but an admin', async () => {
    expect((await app.inject({ method: 'DELETE', url: '/api/stations/rv-nobody/token', headers: auth })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/stations/rv-http/token' })).statusCode).toBe(401);
  });

  it('a revoked station comes back only with a newly issued token', async () => {
    const token = await register('rv-back');
    expect((await app.inject({ method: 'DELETE', url: '/api/stations/rv-back/token', headers: auth })).statusCode).toBe(204);
    expect(await connackCode(mqttUrl, 'rv-back', token)).toBe(5);
    const issued = await app.inject({ method: 'POST', url: '/api/stations/rv-back/token', headers: auth });
    expect(issued.statusCode).toBe(200);
    expect(await connackCode(mqttUrl, 'rv-back', issued.json<{ token: string }>().token)).toBe(0);
  });

  it('rotating the token drops the connection made with the old one; the new token connects and stays', async () => {
    const old = await register('rv-rotate');
    const client = await connected('rv-rotate', old);
    const closed = closeOf(client);
    const rotated = await app.inject({ method: 'POST', url: '/api/stations/rv-rotate/token', headers: auth });
    await closed;
    expect(await connackCode(mqttUrl, 'rv-rotate', old)).toBe(4); // bad user name or password
    const fresh = await connected('rv-rotate', rotated.json<{ token: string }>().token);
    // Another process commits to the registry (the CLI adds a station): the watch must not mistake the
    // rotation it already reported for a new one and drop the connection made with the new token.
    await admin(dir, [
      'station',
      'add',
      '--id',
      'rv-other',
      '--name',
      'Khác',
      '--commune',
      'Lát',
      '--lat',
      '12',
      '--lon',
      '108.4',
      '--elevation',
      '1500',
    ]);
    await new Promise((r) => setTimeout(r, POLL_MS * 4));
    expect(fresh.connected).toBe(true);
  });

  it('`frostwatch station revoke` in another process: the running gateway drops the station within the poll interval', async () => {
    const token = await register('rv-cli');
    const client = await connected('rv-cli', token);
    const closed = closeOf(client);
    const output = await admin(dir, ['station', 'revoke', 'rv-cli']);
    expect(output).toMatch(/Token of rv-cli revoked/);
    await closed;
    expect(await connackCode(mqttUrl, 'rv-cli', token)).toBe(5);
    const rotated = JSON.parse((await admin(dir, ['station', 'rotate-token', 'rv-cli', '--json'])).trim()) as { token: string };
    await eventually(async () => expect(await connackCode(mqttUrl, 'rv-cli', rotated.token)).toBe(0));
  });

  it('`frostwatch station revoke` of an unknown station fails with one line', async () => {
    await expect(admin(dir, ['station', 'revoke', 'rv-nobody'])).rejects.toThrow(/no station "rv-nobody"/);
  });

  it('a revocation never leaves a station that was not revoked disconnected', async () => {
    const keep = await register('rv-keep');
    const kept = await connected('rv-keep', keep);
    await register('rv-gone');
    expect((await app.inject({ method: 'DELETE', url: '/api/stations/rv-gone/token', headers: auth })).statusCode).toBe(204);
    await admin(dir, ['station', 'revoke', 'rv-other']);
    await new Promise((r) => setTimeout(r, POLL_MS * 4));
    expect(kept.connected).toBe(true);
  });
});
