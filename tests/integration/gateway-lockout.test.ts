import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock, StationAuthenticator, TokenCheck } from '../../contracts/index.js';
import { DEFAULT_LOCKOUT } from '../../gateway/auth-lockout.js';
import { type Gateway, createGateway } from '../../gateway/gateway.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { registerStation } from '../helpers/register-station.js';
import { HOST, NOW, capturingLogger, connackFrom, metricValue } from '../helpers/mqtt.js';

/** The real authenticator, counting the calls that may run scrypt (verify), so the test sees which attempts cost it. */
class CountingAuthenticator implements StationAuthenticator {
  slowChecks = 0;
  constructor(private readonly inner: CachingStationAuthenticator) {}
  verify(stationId: string, token: Buffer): Promise<TokenCheck> {
    this.slowChecks += 1;
    return this.inner.verify(stationId, token);
  }
  verifyCached(stationId: string, token: Buffer): TokenCheck | null {
    return this.inner.verifyCached(stationId, token);
  }
}

const SERVICE = { username: 'frostwatch-server', password: 'service-password-0123456789' };
let now = NOW;
const clock: Clock = { now: () => now, speed: 1 };
let dir: string;
let db: Db | undefined;
let stations: StationRepository;
let authenticator: CountingAuthenticator;
let gateway: Gateway | undefined;
let port: number;
let lkAToken = '';
const metrics = new Registry();
const { logger, lines } = capturingLogger();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-lockout-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), logger);
  stations = new StationRepository(db, clock);
  authenticator = new CountingAuthenticator(new CachingStationAuthenticator(stations));
  gateway = await createGateway({ authenticator, logger, metrics, clock, serviceAccount: SERVICE });
  // On all loopback addresses, so a test client can come from 127.0.0.2 as a second network would.
  ({ mqttPort: port } = await gateway.listen({ host: '0.0.0.0', mqttPort: 0, wsPort: 0 }));
});

afterAll(async () => {
  await gateway?.close();
  db?.close();
  await rm(dir, { recursive: true, force: true });
});

const register = (id: string): Promise<string> => registerStation(stations, id);

/** CONNECT from `localAddress`; the CONNACK return code (0 = accepted). */
function connack(username: string, password: string, localAddress = HOST): Promise<number> {
  return connackFrom(port, username, password, localAddress);
}

async function failTimes(id: string, times: number, localAddress = HOST): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < times; i += 1) codes.push(await connack(id, `wrong-token-${i}`, localAddress));
  return codes;
}

const lockoutLines = () => lines.filter((l) => l['msg'] === 'MQTT login locked out after repeated wrong tokens');

describe('lockout after repeated wrong tokens', () => {
  it('after 10 wrong tokens from one address, that (station, address) is refused without running scrypt, even with the right token', async () => {
    const token = await register('lk-a');
    lkAToken = token;
    expect(await failTimes('lk-a', DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(DEFAULT_LOCKOUT.maxFailures).fill(4));
    const slowBefore = authenticator.slowChecks;
    expect(await connack('lk-a', token)).toBe(5); // not authorized: this token was never verified since start
    expect(await failTimes('lk-a', 5)).toEqual([5, 5, 5, 5, 5]);
    expect(authenticator.slowChecks).toBe(slowBefore);
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_lockouts_total')).toBe(1);
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_locked_refusals_total')).toBe(6);
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_failures_total', { reason: 'locked_out' })).toBe(6);
    // One log line per lockout, with the address masked; none per refused attempt.
    expect(lockoutLines()).toEqual([expect.objectContaining({ stationId: 'lk-a', address: '127.0.0.x', level: 40 })]);
    expect(JSON.stringify(lines)).not.toContain(token);
  });

  it('does not lock the same station out of another address (a guesser elsewhere cannot shut an honest station out)', async () => {
    expect(await connack('lk-a', lkAToken, '127.0.0.2')).toBe(0);
    expect(await connack('lk-a', lkAToken, HOST)).toBe(0); // now verified since start: the fast path lets it in
  });

  it('lets a station whose token was verified since start in from the locked address, without scrypt', async () => {
    const token = await register('lk-b');
    expect(await connack('lk-b', token)).toBe(0);
    await failTimes('lk-b', DEFAULT_LOCKOUT.maxFailures);
    const slowBefore = authenticator.slowChecks;
    expect(await connack('lk-b', 'still-wrong')).toBe(5);
    expect(await connack('lk-b', token)).toBe(0);
    expect(authenticator.slowChecks).toBe(slowBefore);
  });

  it('ends after the cooldown: the right token gets in again and wrong ones cost scrypt again', async () => {
    const token = await register('lk-c');
    await failTimes('lk-c', DEFAULT_LOCKOUT.maxFailures);
    expect(await connack('lk-c', token)).toBe(5);
    now += DEFAULT_LOCKOUT.cooldownMs + 1;
    expect(await connack('lk-c', token)).toBe(0);
    const slowBefore = authenticator.slowChecks;
    expect(await connack('lk-c', 'wrong')).toBe(4);
    expect(authenticator.slowChecks).toBe(slowBefore + 1);
  });

  it('counts failures in a window: 9 wrong tokens, 10 minutes of quiet, 9 more do not lock', async () => {
    const token = await register('lk-d');
    await failTimes('lk-d', DEFAULT_LOCKOUT.maxFailures - 1);
    now += DEFAULT_LOCKOUT.windowMs + 1;
    await failTimes('lk-d', DEFAULT_LOCKOUT.maxFailures - 1);
    expect(await connack('lk-d', token)).toBe(0);
  });

  it('locks the service account too (its password is the admin token), per address and with no exception', async () => {
    expect(await failTimes(SERVICE.username, DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(DEFAULT_LOCKOUT.maxFailures).fill(4));
    expect(await connack(SERVICE.username, SERVICE.password)).toBe(5);
    expect(await connack(SERVICE.username, SERVICE.password, '127.0.0.2')).toBe(0);
    now += DEFAULT_LOCKOUT.cooldownMs + 1;
    expect(await connack(SERVICE.username, SERVICE.password)).toBe(0);
  });

  it('never locks on unknown station ids, which are answered from the registry without scrypt', async () => {
    const lockoutsBefore = await metricValue(metrics, 'frostwatch_gateway_auth_lockouts_total');
    expect(await failTimes('lk-nobody', 2 * DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(2 * DEFAULT_LOCKOUT.maxFailures).fill(5));
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_lockouts_total')).toBe(lockoutsBefore);
    expect(await metricValue(metrics, 'frostwatch_gateway_auth_failures_total', { reason: 'unknown_station' })).toBe(
      2 * DEFAULT_LOCKOUT.maxFailures,
    );
  });
});
