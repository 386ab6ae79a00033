import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceleratedClock, parseReadingsPayload, parseStationTopic, parseStatusPayload, type Reading } from '../../contracts/index.js';
import { sunTimes } from '../../contracts/solar.js';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.js';
import { fleetLayout, type SimDeviceSpec } from '../../firmware-sim/layout.js';
import { runScenarioOffline } from '../../firmware-sim/offline.js';
import { OUTAGE_HOURS } from '../../firmware-sim/scenario.js';
import type { Scenario } from '../../firmware-sim/weather.js';

/** The scenario-driven failures (the station's own network outage, a buggy firmware) through a real aedes broker. */
const SPEED = 3_600;
const HOUR = 3_600_000;
const DUSK = sunTimes(12, 108.42, Date.parse('2025-01-14T05:00:00Z')).sunsetMs;
const stations: SimDeviceSpec[] = fleetLayout(3, 5).map((s) => ({ ...s, token: `t-${s.id}` }));

interface Message {
  stationId: string;
  readings: Reading[];
  rejects: number;
}

let broker: Aedes;
let server: Server;
let port = 0;
const sockets = new Set<Socket>();
const messages: Message[] = [];
const offlineStatuses: string[] = [];
const uptimes: { stationId: string; uptimeS: number; atMs: number }[] = [];
const fleets: Fleet[] = [];
let now = (): number => Date.now();

beforeAll(async () => {
  broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      const ok = stations.some((s) => s.id === username && password?.toString() === s.token && client.id === s.id);
      done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), ok);
    },
  });
  broker.on('publish', (packet) => {
    const topic = parseStationTopic(packet.topic);
    const payload = Buffer.from(packet.payload);
    if (topic?.kind === 'readings') {
      const parsed = parseReadingsPayload(payload, now());
      messages.push({ stationId: topic.stationId, readings: parsed.readings, rejects: parsed.rejects.length });
    }
    if (topic?.kind === 'status') {
      const parsed = parseStatusPayload(payload);
      if (parsed.ok && !parsed.status.online) offlineStatuses.push(topic.stationId);
      if (parsed.ok && parsed.status.online)
        uptimes.push({ stationId: topic.stationId, uptimeS: parsed.status.uptimeS ?? -1, atMs: now() });
    }
  });
  server = createServer(broker.handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before these were assigned.
  const openServer = server as Server | undefined;
  const openBroker = broker as Aedes | undefined;
  await Promise.allSettled(fleets.map((f) => f.stop()));
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (openServer ? openServer.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (openBroker ? openBroker.close(() => resolve()) : resolve()));
});

function startFleet(scenario: Scenario, seed: number, startMs: number, rebootMeanH = 0): Fleet {
  const clock = acceleratedClock(startMs, SPEED);
  now = () => clock.now();
  const fleet = createFleet({
    brokerUrl: `mqtt://127.0.0.1:${port}`,
    stations,
    scenario,
    seed,
    clock,
    logger: pino({ level: 'silent' }),
    startMs,
    tuning: { rebootMeanH, reconnectDelayMs: 50 },
  });
  fleets.push(fleet);
  fleet.start();
  return fleet;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const uniqueBySeq = (readings: Reading[]): Reading[] => [...new Map(readings.map((r) => [r.seq, r])).values()];

describe('scenario outage', () => {
  it('the station loses its network for 2 h (will fires), buffers, then backfills every reading with its original timestamp', async () => {
    const seed = 3;
    const startMs = DUSK + 2.5 * HOUR;
    const fleet = startFleet('outage', seed, startMs);
    const [victim, startH] = [...fleet.plan.outageStartH][0] ?? ['', 0];
    const windowEndMs = DUSK + (startH + OUTAGE_HOURS) * HOUR;
    const stats = () => fleet.stats().devices.find((d) => d.stationId === victim)!;
    let maxBuffered = 0;
    await waitFor('outage over and backlog delivered', () => {
      maxBuffered = Math.max(maxBuffered, stats().buffered);
      return fleet.stats().simTimeMs > windowEndMs + 20 * 60_000 && stats().connected && stats().buffered <= 2;
    });
    const offlineBeforeStop = [...offlineStatuses];
    await fleet.stop();

    expect(offlineBeforeStop).toContain(victim);
    expect(maxBuffered).toBeGreaterThanOrEqual(OUTAGE_HOURS * 60 - 5);
    const mine = messages.filter((m) => m.stationId === victim);
    expect(mine.some((m) => m.readings.length >= 100)).toBe(true);
    const got = uniqueBySeq(mine.flatMap((m) => m.readings));
    const offline = runScenarioOffline({ stations, scenario: 'outage', seed, fromMs: startMs, toMs: windowEndMs + 2 * HOUR });
    const expected = offline.flatMap((r) => (r.stationId === victim && r.sample.kind === 'reading' ? [r.sample.reading] : []));
    expect(got.length).toBeGreaterThanOrEqual(stats().sampled - stats().buffered);
    expect(got).toEqual(expected.slice(0, got.length));
  });
});

describe('scenario faulty-sensor', () => {
  it('the buggy station sends payloads the contract refuses, and its valid readings keep flowing around them', async () => {
    messages.length = 0;
    const fleet = startFleet('faulty-sensor', 6, DUSK + 6 * HOUR);
    const buggy = [...fleet.plan.faults].find(([, f]) => f === 'invalid-payloads')?.[0];
    const acked = () => fleet.stats().devices.find((d) => d.stationId === buggy)?.acked ?? 0;
    await waitFor('a few invalid payloads among valid readings', () => fleet.stats().invalidSent >= 4 && acked() >= 50);
    await fleet.stop();
    const mine = messages.filter((m) => m.stationId === buggy);
    expect(mine.filter((m) => m.rejects > 0).length).toBeGreaterThanOrEqual(4);
    const valid = uniqueBySeq(mine.flatMap((m) => m.readings));
    expect(valid.length).toBeGreaterThan(40);
    for (const other of messages.filter((m) => m.stationId !== buggy)) expect(other.rejects).toBe(0);
  });
});

describe('reboots', () => {
  it('a rebooting station comes back with a fresh uptime and loses no reading (the buffer lives in flash)', async () => {
    messages.length = 0;
    uptimes.length = 0;
    const startMs = DUSK + 1 * HOUR;
    const fleet = startFleet('frost-night', 9, startMs, 1.5);
    await waitFor('a few reboots', () => fleet.stats().reboots >= 3 && fleet.stats().devices.every((d) => d.acked >= 60));
    await fleet.stop();
    const rebooted = fleet.stats().devices.filter((d) => d.reboots > 0);
    expect(rebooted.length).toBeGreaterThan(0);
    for (const d of rebooted) {
      const ups = uptimes.filter((u) => u.stationId === d.stationId);
      expect(ups.length).toBe(d.connects);
      // The last connect followed a reboot: uptime counts from that boot, not from power-on.
      const last = ups.at(-1)!;
      expect(last.uptimeS * 1_000).toBeLessThan(last.atMs - startMs - 60_000);
      const got = uniqueBySeq(messages.filter((m) => m.stationId === d.stationId).flatMap((m) => m.readings));
      expect(got.map((r) => r.seq)).toEqual(got.map((_, i) => i));
      expect(got.length).toBeGreaterThanOrEqual(d.sampled - d.buffered);
    }
  });
});
