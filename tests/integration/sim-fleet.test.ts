import { Aedes, type AuthenticateError } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceleratedClock,
  configTopic,
  parseReadingsPayload,
  parseStationTopic,
  parseStatusPayload,
  type Reading,
  type StationStatus,
} from '../../contracts/index.js';
import { sunTimes } from '../../contracts/solar.js';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.js';
import { fleetLayout, type SimDeviceSpec } from '../../firmware-sim/layout.js';
import { runScenarioOffline } from '../../firmware-sim/offline.js';

/**
 * A fleet of 3 simulated stations against a real aedes broker on a free port, at 3,600× speed
 * (one simulated minute ≈ 17 ms): payloads, order, outage backfill, retained config, will message.
 */
const SPEED = 3_600;
const SEED = 21;
const START_MS = sunTimes(12, 108.42, Date.parse('2025-01-14T05:00:00Z')).sunsetMs;
const stations: SimDeviceSpec[] = fleetLayout(3, SEED).map((s, i) => ({ ...s, token: `token-${i}-secret` }));
const [s1, s2, s3] = stations as [SimDeviceSpec, SimDeviceSpec, SimDeviceSpec];

interface Received {
  stationId: string;
  clientId: string | null;
  qos: number;
  isArray: boolean;
  readings: Reading[];
  rejects: number;
}

let broker: Aedes;
let server: Server;
let fleet: Fleet;
const sockets = new Set<Socket>();
const connections = new Map<string, Socket>();
const received: Received[] = [];
const statuses: { stationId: string; status: StationStatus }[] = [];
let refuseConnections = false;
/** While set, readings publishes are never authorized, so their PUBACK never comes (lost on the link). */
let holdReadings = false;
let heldPublishes = 0;
const clock = acceleratedClock(START_MS, SPEED);

function authenticate(
  client: { id: string },
  username: string | undefined,
  password: Buffer | undefined,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
): void {
  if (refuseConnections) {
    done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), null);
    return;
  }
  const station = stations.find((s) => s.id === username);
  const ok = station !== undefined && password?.toString('utf8') === station.token && client.id === station.id;
  done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 as const }), ok);
}

function authorizePublish(_client: unknown, packet: { topic: string }, callback: (error?: Error | null) => void): void {
  if (holdReadings && parseStationTopic(packet.topic)?.kind === 'readings') {
    heldPublishes++;
    return; // dropped with the socket: neither delivered nor acknowledged
  }
  callback(null);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const deviceStats = (id: string) => {
  const stats = fleet.stats().devices.find((d) => d.stationId === id);
  if (!stats) throw new Error(`no device ${id}`);
  return stats;
};
const readingsOf = (id: string): Reading[] => received.filter((r) => r.stationId === id).flatMap((r) => r.readings);
const statusesOf = (id: string): StationStatus[] => statuses.filter((s) => s.stationId === id).map((s) => s.status);

beforeAll(async () => {
  broker = await Aedes.createBroker({ authenticate, authorizePublish });
  broker.on('clientReady', (client) => connections.set(client.id, client.conn as Socket));
  broker.on('publish', (packet, client) => {
    const topic = parseStationTopic(packet.topic);
    if (!topic) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (topic.kind === 'readings') {
      const parsed = parseReadingsPayload(payload, clock.now());
      const isArray = payload.toString('utf8').trimStart().startsWith('[');
      received.push({
        stationId: topic.stationId,
        clientId: client?.id ?? null,
        qos: packet.qos,
        isArray,
        readings: parsed.readings,
        rejects: parsed.rejects.length,
      });
    } else if (topic.kind === 'status') {
      const parsed = parseStatusPayload(payload);
      if (parsed.ok) statuses.push({ stationId: topic.stationId, status: parsed.status });
    }
  });
  // A retained config waiting for sim-02 before it ever connects: the system asks for 30 s sampling.
  await new Promise<void>((resolve, reject) =>
    broker.publish(
      { cmd: 'publish', topic: configTopic(s2.id), payload: JSON.stringify({ intervalS: 30 }), qos: 1, retain: true, dup: false },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  server = createServer(broker.handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fleet = createFleet({
    brokerUrl: `mqtt://127.0.0.1:${port}`,
    stations,
    scenario: 'frost-night',
    seed: SEED,
    clock,
    logger: pino({ level: 'silent' }),
    startMs: START_MS,
    tuning: { rebootMeanH: 0, reconnectDelayMs: 50 },
  });
  fleet.start();
});

afterAll(async () => {
  // Also runs when beforeAll failed part-way, before these were assigned.
  const openServer = server as Server | undefined;
  const openBroker = broker as Aedes | undefined;
  refuseConnections = false;
  await (fleet as Fleet | undefined)?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => (openServer ? openServer.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (openBroker ? openBroker.close(() => resolve()) : resolve()));
});

describe('simulated fleet against a real aedes broker', () => {
  it("publishes contract-valid readings at QoS 1 under each station's own credentials", async () => {
    await waitFor('40 readings from every station', () => stations.every((s) => readingsOf(s.id).length >= 40));
    for (const message of received) {
      expect(message.qos).toBe(1);
      expect(message.clientId).toBe(message.stationId);
      expect(message.rejects).toBe(0);
    }
    for (const s of stations) {
      const online = statusesOf(s.id).find((st) => st.online);
      expect(online).toMatchObject({ online: true, fw: expect.any(String) as unknown, uptimeS: expect.any(Number) as unknown });
    }
  });

  it('sends exactly what the offline generator computes for the same seed', () => {
    const offline = runScenarioOffline({
      stations: [s1, s3],
      scenario: 'frost-night',
      seed: SEED,
      fromMs: START_MS,
      toMs: START_MS + 30 * 60_000,
    });
    for (const s of [s1, s3]) {
      const expected = offline.flatMap((r) => (r.stationId === s.id && r.sample.kind === 'reading' ? [r.sample.reading] : []));
      expect(readingsOf(s.id).slice(0, expected.length)).toEqual(expected);
    }
  });

  it('a retained config {intervalS: 30} makes the station sample every 30 s', async () => {
    const gaps = (id: string) => {
      const ts = readingsOf(id).map((r) => r.ts);
      return ts.slice(1).map((t, i) => t - (ts[i] ?? NaN));
    };
    // Clock drift is a few ppm, so a 30 s step is 30 000 ± 1 ms.
    const isStep = (gap: number, stepMs: number): boolean => Math.abs(gap - stepMs) <= 1;
    // Before the config arrives (right after connecting) the station samples at its default 60 s.
    const sinceSwitch = (): number[] => {
      const all = gaps(s2.id);
      const first = all.findIndex((g) => isStep(g, 30_000));
      return first < 0 ? [] : all.slice(first);
    };
    await waitFor('40 steps of 30 s from sim-02', () => sinceSwitch().length >= 40);
    expect(sinceSwitch().filter((g) => !isStep(g, 30_000))).toEqual([]);
    expect(gaps(s1.id).filter((g) => !isStep(g, 60_000))).toEqual([]);
    expect(deviceStats(s2.id).intervalS).toBe(30);
  });

  it('the will message marks a station offline when its socket dies, and it comes back online', async () => {
    await waitFor('sim-03 connected', () => connections.has(s3.id) && deviceStats(s3.id).connected);
    const before = statusesOf(s3.id).length;
    connections.get(s3.id)?.destroy();
    await waitFor('will of sim-03', () =>
      statusesOf(s3.id)
        .slice(before)
        .some((st) => !st.online),
    );
    await waitFor('sim-03 back online', () => {
      const after = statusesOf(s3.id).slice(before);
      const offlineAt = after.findIndex((st) => !st.online);
      return after.slice(offlineAt + 1).some((st) => st.online);
    });
  });

  it('after a 2 h outage the buffered readings arrive as arrays with their original timestamps, none missing, in order', async () => {
    // Each station has a message in flight whose PUBACK never arrives when the link dies.
    holdReadings = true;
    await waitFor('a message in flight on every station', () => heldPublishes >= stations.length);
    refuseConnections = true;
    for (const socket of sockets) socket.destroy();
    holdReadings = false;
    const bufferedAtStart = new Map(stations.map((s) => [s.id, deviceStats(s.id).sampled]));
    // Two simulated hours at one reading a minute (two for sim-02) pile up on the devices.
    await waitFor('2 h of readings buffered', () =>
      stations.every((s) => deviceStats(s.id).sampled - (bufferedAtStart.get(s.id) ?? 0) >= 120),
    );
    expect(stations.every((s) => !deviceStats(s.id).connected)).toBe(true);
    expect(stations.every((s) => deviceStats(s.id).buffered >= 100)).toBe(true);
    refuseConnections = false;
    await waitFor('backlog drained', () => stations.every((s) => deviceStats(s.id).connected && deviceStats(s.id).buffered <= 2));
    await fleet.stop();

    for (const s of stations) {
      const stats = deviceStats(s.id);
      expect(stats.dropped).toBe(0);
      const firstSeen: Reading[] = [];
      const seen = new Set<number>();
      for (const reading of readingsOf(s.id)) {
        if (seen.has(reading.seq ?? -1)) continue; // at-least-once: a resend after a lost PUBACK
        seen.add(reading.seq ?? -1);
        firstSeen.push(reading);
      }
      const seqs = firstSeen.map((r) => r.seq);
      expect(seqs, `${s.id} seq`).toEqual(seqs.map((_, i) => i));
      const ts = firstSeen.map((r) => r.ts);
      expect(
        ts.every((t, i) => i === 0 || t > (ts[i - 1] ?? Infinity)),
        `${s.id} ts increasing`,
      ).toBe(true);
      expect(firstSeen.length).toBeGreaterThanOrEqual(stats.sampled - stats.buffered);
      const backfill = received.filter((m) => m.stationId === s.id && m.isArray);
      expect(backfill.length, `${s.id} backfill messages`).toBeGreaterThan(0);
      expect(Math.max(...backfill.map((m) => m.readings.length))).toBeLessThanOrEqual(100);
      // Original timestamps: a backfill batch spans the outage, not the moment it was sent.
      const longest = backfill.reduce((a, b) => (b.readings.length > a.readings.length ? b : a));
      const span = (longest.readings.at(-1)?.ts ?? 0) - (longest.readings[0]?.ts ?? 0);
      expect(span).toBeGreaterThanOrEqual((longest.readings.length - 1) * 30_000 - 1);
    }
    // Exactly the readings (values, seq, original station timestamps) the offline generator gives.
    const offline = runScenarioOffline({
      stations: [s1, s3],
      scenario: 'frost-night',
      seed: SEED,
      fromMs: START_MS,
      toMs: START_MS + 6 * 3_600_000,
    });
    for (const s of [s1, s3]) {
      const got = [...new Map(readingsOf(s.id).map((r) => [r.seq, r])).values()];
      const expected = offline.flatMap((r) => (r.stationId === s.id && r.sample.kind === 'reading' ? [r.sample.reading] : []));
      expect(got).toEqual(expected.slice(0, got.length));
    }
  });
});
