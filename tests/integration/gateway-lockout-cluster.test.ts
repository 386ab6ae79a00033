import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../contracts/index.js';
import { DEFAULT_LOCKOUT } from '../../gateway/auth-lockout.js';
import { type Gateway, createGateway } from '../../gateway/gateway.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { type PgAuthLockout, pgAuthLockout } from '../../server/cluster/pg-auth-lockout.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { type TestPostgres, startPostgres } from '../../testkit/postgres.js';
import { registerStation } from '../helpers/register-station.js';
import { HOST, NOW, capturingLogger, connackCode, metricValue } from '../helpers/mqtt.js';

/**
 * Issue 18: the MQTT login lockout of a cluster's gateways is one count, kept in PostgreSQL. Two real gateways on one
 * registry, as behind a TCP balancer, each with its own pool on one real PostgreSQL; a guesser alternating between
 * them is locked out after 10 wrong tokens in all, not 10 at each. A pair of gateways without the shared count is the
 * control: the same 5 + 5 leave it open.
 */
let now = NOW;
const clock: Clock = { now: () => now, speed: 1 };
const { logger, lines } = capturingLogger();
const HALF = DEFAULT_LOCKOUT.maxFailures / 2;

let dir: string;
let db: Db;
let stations: StationRepository;
let postgres: TestPostgres;
const running: Array<{ gateway: Gateway; url: string; metrics: Registry; shared: PgAuthLockout | null }> = [];

async function startPair(shared: boolean): Promise<Array<(typeof running)[number]>> {
  const pair: Array<(typeof running)[number]> = [];
  for (let i = 0; i < 2; i++) {
    const metrics = new Registry();
    const store = shared ? pgAuthLockout(postgres.url, DEFAULT_LOCKOUT, clock, logger) : null;
    const gateway = await createGateway({
      authenticator: new CachingStationAuthenticator(stations),
      logger,
      metrics,
      clock,
      ...(store ? { sharedLockout: store } : {}),
    });
    const { mqttPort } = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0 });
    const started = { gateway, url: `mqtt://${HOST}:${mqttPort}`, metrics, shared: store };
    running.push(started);
    pair.push(started);
  }
  return pair;
}

/** Wrong tokens for `id`, alternating between the two gateways as a balancer would send them; the CONNACK codes. */
async function guess(pair: ReadonlyArray<{ url: string }>, id: string, times: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < times; i++) codes.push(await connackCode(pair[i % 2]?.url ?? '', id, `wrong-token-${i}`));
  return codes;
}

const lockoutLines = (): unknown[] => lines.filter((l) => l['msg'] === 'MQTT login locked out after repeated wrong tokens');
const lockouts = async (pair: ReadonlyArray<{ metrics: Registry }>): Promise<number> =>
  (await Promise.all(pair.map((g) => metricValue(g.metrics, 'frostwatch_gateway_auth_lockouts_total')))).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-lockout-cluster-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), logger);
  stations = new StationRepository(db, clock);
  postgres = await startPostgres({ database: 'frostwatch_lockout' });
}, 60_000);

afterAll(async () => {
  for (const g of running) {
    await g.gateway.close();
    await g.shared?.close();
  }
  db.close();
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the login lockout across a cluster's gateways", () => {
  it('without a shared count, 5 wrong tokens at each of two gateways lock nothing (the gap it closes)', async () => {
    const pair = await startPair(false);
    const token = await registerStation(stations, 'lkc-control');
    expect(await guess(pair, 'lkc-control', DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(DEFAULT_LOCKOUT.maxFailures).fill(4));
    expect(await connackCode(pair[0]?.url ?? '', 'lkc-control', token)).toBe(0);
    expect(await lockouts(pair)).toBe(0);
  });

  it('with it, 10 wrong tokens spread over both gateways lock the pair on both, even for the right token; begun and logged once', async () => {
    const pair = await startPair(true);
    const token = await registerStation(stations, 'lkc-a');
    const linesBefore = lockoutLines().length;
    expect(await guess(pair, 'lkc-a', DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(DEFAULT_LOCKOUT.maxFailures).fill(4));
    // Not authorized (5): the right token, never verified by either gateway since start, is refused on both.
    for (const g of pair) expect(await connackCode(g.url, 'lkc-a', token)).toBe(5);
    expect(await guess(pair, 'lkc-a', 2)).toEqual([5, 5]);
    expect(await lockouts(pair)).toBe(1);
    expect(lockoutLines().slice(linesBefore)).toEqual([expect.objectContaining({ stationId: 'lkc-a', address: '127.0.0.x' })]);
    const refused = await Promise.all(pair.map((g) => metricValue(g.metrics, 'frostwatch_gateway_auth_locked_refusals_total')));
    expect(refused).toEqual([2, 2]);
    // The count is PostgreSQL's: one row for the pair, locked for the cooldown.
    const row = await postgres.psql(`SELECT failures, locked_until - ${now} FROM mqtt_auth_lockouts WHERE key = 'lkc-a|127.0.0.1'`);
    expect(row.trim()).toBe(`0|${DEFAULT_LOCKOUT.cooldownMs}`);
    expect(JSON.stringify(lines)).not.toContain(token);

    // The cooldown over, the right token gets in at either gateway, and a gateway started now learns nothing stale.
    now += DEFAULT_LOCKOUT.cooldownMs + 1;
    expect(await connackCode(pair[1]?.url ?? '', 'lkc-a', token)).toBe(0);
    const [later] = await startPair(true);
    expect(await connackCode(later?.url ?? '', 'lkc-a', token)).toBe(0);
  });

  it('a gateway started after the lockout began refuses the pair too (the count is not in any one process)', async () => {
    const pair = await startPair(true);
    await registerStation(stations, 'lkc-b');
    await guess(pair, 'lkc-b', DEFAULT_LOCKOUT.maxFailures);
    const [fresh] = await startPair(true);
    expect(await connackCode(fresh?.url ?? '', 'lkc-b', 'the-right-one-maybe')).toBe(5);
  });

  it('counts within the window: 9 wrong tokens, 10 minutes of quiet, 9 more leave the station free', async () => {
    const pair = await startPair(true);
    const token = await registerStation(stations, 'lkc-c');
    await guess(pair, 'lkc-c', DEFAULT_LOCKOUT.maxFailures - 1);
    now += DEFAULT_LOCKOUT.windowMs + 1;
    await guess(pair, 'lkc-c', DEFAULT_LOCKOUT.maxFailures - 1);
    expect(await connackCode(pair[0]?.url ?? '', 'lkc-c', token)).toBe(0);
  });

  it('with PostgreSQL gone, logins are still answered and each gateway counts alone (logged once)', async () => {
    const pair = await startPair(true);
    const token = await registerStation(stations, 'lkc-d');
    await postgres.kill('SIGKILL');
    const warnings = (): unknown[] => lines.filter((l) => String(l['msg']).includes("the cluster's shared count did not answer"));
    // HALF at each gateway: below either one's own threshold.
    expect(await guess(pair, 'lkc-d', 2 * HALF)).toEqual(Array(2 * HALF).fill(4));
    expect(await connackCode(pair[0]?.url ?? '', 'lkc-d', token)).toBe(0);
    // Ten more at the first gateway alone: its own count locks the pair there, and says so.
    const single = pair.slice(0, 1);
    for (let i = 0; i < DEFAULT_LOCKOUT.maxFailures; i++) expect(await connackCode(single[0]?.url ?? '', 'lkc-d', `wrong-${i}`)).toBe(4);
    expect(await connackCode(single[0]?.url ?? '', 'lkc-d', 'wrong-again')).toBe(5);
    expect(await metricValue(pair[0]?.metrics ?? new Registry(), 'frostwatch_gateway_auth_lockouts_total')).toBe(1);
    expect(warnings().length).toBeGreaterThanOrEqual(1);
    expect(warnings().length).toBeLessThanOrEqual(2); // once a minute at most, per gateway
  });
});
