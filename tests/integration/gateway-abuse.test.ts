import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type StationId, readingsTopic } from '../../contracts/index.js';
import { DEFAULT_GATEWAY_LIMITS } from '../../gateway/limits.js';
import { NOW, type RunningGateway, closeClients, connectStation, eventually, metricValue, startGateway } from '../helpers/mqtt.js';
import {
  type HonestStation,
  type RawPeer,
  closesWithin,
  connectBytes,
  keepPublishing,
  publishBytes,
  rawPeer,
  remainingLength,
} from '../helpers/raw-mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';

const GOOD = 'st-honest' as StationId;
const LATE = 'st-late' as StationId;
const FLOOD = 'st-flood' as StationId;
const TOKENS: Record<string, string> = { [GOOD]: 'token-honest', [LATE]: 'token-late', [FLOOD]: 'token-flood' };
/** Short, so slowloris peers are closed within the test's time; the shipped default is 10 s. */
const CONNECT_TIMEOUT_MS = 1_500;
/** The abusers come from another loopback address than the honest stations, as from another host. */
const ATTACKER = '127.0.0.2';
/** An honest PUBACK normally takes a few ms; seconds would mean the abuse starved the station. */
const HONEST_LATENCY_BOUND_MS = 3_000;

const refused = (gw: RunningGateway, reason: string) =>
  metricValue(gw.registry, 'frostwatch_gateway_connections_refused_total', { reason });
const throttled = (gw: RunningGateway, outcome: string) =>
  metricValue(gw.registry, 'frostwatch_gateway_publishes_throttled_total', { outcome });

/**
 * Raw MQTT abuse against a real gateway on a free port, while an honest station keeps publishing QoS 1 readings:
 * every honest reading must be acknowledged and stored, and the broker must still serve after each attack.
 */
describe('gateway under raw MQTT abuse', () => {
  const sink = new RecordingSink();
  let gw: RunningGateway;
  let good: MqttClient;
  let honest: HonestStation;

  beforeAll(async () => {
    gw = await startGateway(TOKENS, sink, { trafficLimits: { connectTimeoutMs: CONNECT_TIMEOUT_MS } });
    good = await connectStation(gw.mqttUrl, GOOD, TOKENS[GOOD]!);
    honest = keepPublishing(good, GOOD);
  });
  afterAll(async () => {
    // Also runs when beforeAll failed part-way, before these were assigned.
    await (honest as HonestStation | undefined)?.stop();
    await closeClients(good);
    await (gw as RunningGateway | undefined)?.gateway.close();
  });

  /** The broker still accepts a new station and stores what it sends. */
  async function stillServes(seq: number): Promise<void> {
    // Served, not fast: during a flood the (shared) machine may take seconds to reach this CONNECT.
    const late = await connectStation(gw.mqttUrl, LATE, TOKENS[LATE]!, { clientId: `late-${seq}`, connectTimeout: 15_000 });
    await late.publishAsync(readingsTopic(LATE), JSON.stringify({ ts: NOW, airTempC: 2, seq }), { qos: 1 });
    await late.endAsync();
    expect(sink.readingsOf(LATE).map((r) => r.seq)).toContain(seq);
  }

  it('closes each malformed connection, stores nothing from it, and keeps serving', async () => {
    const connect = connectBytes(FLOOD, TOKENS[FLOOD]!);
    const cases: Array<{ name: string; bytes: Buffer }> = [
      { name: 'reserved packet type 0', bytes: Buffer.from([0x00, 0x00]) },
      { name: 'CONNECT flags with reserved bits', bytes: Buffer.concat([Buffer.from([0x11]), connect.subarray(1)]) },
      { name: 'protocol name MQTX', bytes: Buffer.from(connect.toString('latin1').replace('MQTT', 'MQTX'), 'latin1') },
      { name: 'protocol level 9', bytes: Buffer.concat([connect.subarray(0, 8), Buffer.from([9]), connect.subarray(9)]) },
      { name: 'truncated CONNECT', bytes: connect.subarray(0, 12) },
      { name: '4 KiB of garbage', bytes: Buffer.concat([Buffer.from([0xf0]), randomBytes(4_096)]) },
      { name: 'PUBLISH before CONNECT', bytes: publishBytes(readingsTopic(FLOOD), JSON.stringify({ ts: NOW, airTempC: 1, seq: 666 }), 1) },
      { name: 'remaining length of 5 bytes', bytes: Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]) },
      { name: 'remaining length 256 MB, then nothing', bytes: Buffer.concat([Buffer.from([0x30]), remainingLength(268_435_455)]) },
      {
        name: 'CONNECT, then a topic of invalid UTF-8',
        bytes: Buffer.concat([connect, publishBytes(Buffer.from([0x73, 0x74, 0xff, 0xfe, 0x2f]), '{"ts":1,"airTempC":1,"seq":667}', 1)]),
      },
    ];
    const peers: Array<{ name: string; peer: RawPeer }> = [];
    for (const { name, bytes } of cases) {
      const peer = await rawPeer(gw.mqttPort, ATTACKER);
      peer.socket.write(bytes);
      peers.push({ name, peer });
    }
    // Every case is closed: at once, or at the latest by the connect timeout (the truncated CONNECT).
    const outcomes = await Promise.all(
      peers.map(async ({ name, peer }) => ({ name, closed: await closesWithin(peer, CONNECT_TIMEOUT_MS + 3_000) })),
    );
    expect(outcomes.filter((o) => !o.closed)).toEqual([]);
    // None of it was accepted as a station's reading.
    expect(sink.readingsOf(FLOOD)).toEqual([]);
    await stillServes(1);
  });

  it('closes a peer that never sends CONNECT, and one that sends it a byte at a time, after the connect timeout', async () => {
    const before = await refused(gw, 'connect_timeout');
    const silent = await rawPeer(gw.mqttPort, ATTACKER);
    const dribbler = await rawPeer(gw.mqttPort, ATTACKER);
    const connect = connectBytes(FLOOD, TOKENS[FLOOD]!);
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < connect.length && !dribbler.isClosed()) dribbler.socket.write(connect.subarray(sent, ++sent));
    }, 200);
    try {
      const [silentMs, dribblerMs] = await Promise.all([silent.closed, dribbler.closed]);
      // Closed by the timeout, not by anything sooner, and before the CONNECT was complete.
      expect(silentMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
      expect(dribblerMs).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 100);
      expect(sent).toBeLessThan(connect.length);
    } finally {
      clearInterval(drip);
    }
    expect(await refused(gw, 'connect_timeout')).toBe(before + 2);
    await stillServes(2);
  });

  it('survives 2,000 connections opened at once from one address: each closed by a limit, a station of another address served', async () => {
    const FLOOD_SIZE = 2_000;
    const closedBy = async () => (await refused(gw, 'pending_per_address')) + (await refused(gw, 'connect_timeout'));
    const before = await closedBy();
    const opened = await Promise.allSettled(Array.from({ length: FLOOD_SIZE }, () => rawPeer(gw.mqttPort, ATTACKER)));
    const peers = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(peers.length).toBe(FLOOD_SIZE);
    // A station of another address connects in the middle of the flood.
    await stillServes(3);
    // Accepting 2,000 sockets takes the (shared, two-core) machine a few seconds; then each is closed.
    const closedAll = await Promise.all(peers.map((peer) => closesWithin(peer, CONNECT_TIMEOUT_MS + 15_000)));
    expect(closedAll.filter((closed) => !closed)).toHaveLength(0);
    // Refused on accept (over maxPendingPerAddress half-open ones), or closed by the connect timeout: every one.
    await eventually(async () => expect((await closedBy()) - before).toBe(FLOOD_SIZE));
    expect(await refused(gw, 'pending_per_address')).toBeGreaterThan(FLOOD_SIZE / 2);
    await stillServes(4);
  });

  it('slows a backfill over the burst instead of refusing it: every reading acknowledged', async () => {
    const backfiller = await connectStation(gw.mqttUrl, FLOOD, TOKENS[FLOOD]!, { clientId: 'backfiller' });
    const extra = 60; // publishBurst at once, then 60 more at 20/s: up to 3 s of delay
    const count = DEFAULT_GATEWAY_LIMITS.publishBurst + extra;
    const base = NOW - 2 * 86_400_000;
    await Promise.all(
      Array.from({ length: count }, (_, seq) =>
        backfiller.publishAsync(readingsTopic(FLOOD), JSON.stringify([{ ts: base + seq * 60_000, airTempC: 3, seq }]), { qos: 1 }),
      ),
    );
    expect(backfiller.connected).toBe(true);
    expect(sink.readingsOf(FLOOD)).toHaveLength(count);
    // Fewer than `extra` wait: the bucket refills while the burst itself is being handled.
    expect(await throttled(gw, 'delayed')).toBeGreaterThan(0);
    expect(await throttled(gw, 'delayed')).toBeLessThanOrEqual(extra);
    expect(await throttled(gw, 'disconnected')).toBe(0);
    await backfiller.endAsync();
  });

  it.each([0, 1] as const)('disconnects a station flooding 20,000 QoS %i publishes; others keep their PUBACKs', async (qos) => {
    const FLOOD_SIZE = 20_000;
    sink.readings.splice(0, sink.readings.length, ...sink.readings.filter((r) => r.stationId !== FLOOD));
    const before = await throttled(gw, 'disconnected');
    const flooder = await connectStation(gw.mqttUrl, FLOOD, TOKENS[FLOOD]!, { clientId: `flooder-${qos}` });
    flooder.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()));
    const startedAt = performance.now();
    for (let seq = 0; seq < FLOOD_SIZE; seq++) {
      flooder.publish(readingsTopic(FLOOD), JSON.stringify({ ts: NOW - 3 * 86_400_000 + seq * 1_000, airTempC: 4, seq }), { qos });
    }
    await closed;
    const elapsedS = (performance.now() - startedAt) / 1_000;
    await eventually(async () => expect(await throttled(gw, 'disconnected')).toBe(before + 1));
    // What got through is bounded by the limit: the burst plus the sustained rate while it lasted.
    const limits = DEFAULT_GATEWAY_LIMITS;
    expect(sink.readingsOf(FLOOD).length).toBeLessThanOrEqual(limits.publishBurst + Math.ceil(limits.publishesPerS * (elapsedS + 1)));
    await flooder.endAsync(true);
    await stillServes(10 + qos);
  });

  it('acknowledged and stored every honest reading through all of it, each within a bounded time', async () => {
    const report = await honest.stop();
    expect(report.failed).toBe(0);
    expect(report.acked).toBe(report.sent);
    expect(report.sent).toBeGreaterThan(50);
    expect(report.maxLatencyMs).toBeLessThan(HONEST_LATENCY_BOUND_MS);
    const stored = new Set(sink.readingsOf(GOOD).map((r) => r.seq));
    expect(report.seqs.filter((seq) => !stored.has(seq))).toEqual([]);
  });
});

describe('gateway at its connection limit', () => {
  it('counts half-open WebSocket peers per address too: a flood from one address is refused, a station of another served', async () => {
    const PER_ADDRESS = 5;
    const EXTRA = 4;
    const gw = await startGateway(TOKENS, new RecordingSink(), {
      trafficLimits: { maxPendingPerAddress: PER_ADDRESS, connectTimeoutMs: CONNECT_TIMEOUT_MS },
    });
    const peers: WebSocket[] = [];
    try {
      // Upgraded to MQTT over WebSocket, then silent: each holds a pending slot until the connect timeout.
      for (let i = 0; i < PER_ADDRESS + EXTRA; i += 1) {
        const peer = new WebSocket(gw.wsUrl, 'mqtt', { localAddress: ATTACKER });
        peer.on('error', () => undefined);
        await once(peer, 'open');
        peers.push(peer);
      }
      await eventually(async () => expect(await refused(gw, 'pending_per_address')).toBe(EXTRA));
      const station = await connectStation(gw.wsUrl, GOOD, TOKENS[GOOD]!);
      await station.publishAsync(readingsTopic(GOOD), JSON.stringify({ ts: NOW, airTempC: 1 }), { qos: 1 });
      await station.endAsync();
    } finally {
      for (const peer of peers) peer.terminate();
      await gw.gateway.close();
    }
  });

  it("frees a station's pending slot by the time its CONNACK arrives: a fleet behind one address opening the next connection on each CONNACK is never refused", async () => {
    // One half-open slot per address: the next connection from 127.0.0.1 is admitted only if the previous one's slot
    // was released before its CONNACK reached the peer (a fleet behind a carrier's NAT reconnecting after an outage).
    const gw = await startGateway(TOKENS, new RecordingSink(), {
      trafficLimits: { maxPendingPerAddress: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS },
    });
    const clients: MqttClient[] = [];
    try {
      for (let i = 0; i < 200; i += 1) clients.push(await connectStation(gw.mqttUrl, GOOD, TOKENS[GOOD]!, { clientId: `chain-${i}` }));
      expect(await refused(gw, 'pending_per_address')).toBe(0);
    } finally {
      await closeClients(...clients);
      await gw.gateway.close();
    }
  });

  it('refuses connections over maxConnections at once and serves stations again once the flood is gone', async () => {
    const MAX = 20;
    const gw = await startGateway(TOKENS, new RecordingSink(), {
      trafficLimits: { maxConnections: MAX, connectTimeoutMs: CONNECT_TIMEOUT_MS },
    });
    try {
      const peers = await Promise.all(Array.from({ length: MAX + 10 }, () => rawPeer(gw.mqttPort, ATTACKER)));
      await eventually(async () => expect(await refused(gw, 'max_connections')).toBe(10));
      // Full: a station is refused too (that is what the limit means), until the half-open peers time out.
      await expect(connectStation(gw.mqttUrl, GOOD, TOKENS[GOOD]!)).rejects.toThrow();
      expect((await Promise.all(peers.map((p) => closesWithin(p, CONNECT_TIMEOUT_MS + 3_000)))).every(Boolean)).toBe(true);
      const station = await connectStation(gw.mqttUrl, GOOD, TOKENS[GOOD]!);
      await station.publishAsync(readingsTopic(GOOD), JSON.stringify({ ts: NOW, airTempC: 1 }), { qos: 1 });
      await station.endAsync();
    } finally {
      await gw.gateway.close();
    }
  });
});
