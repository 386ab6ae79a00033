import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StationId, readingsTopic } from '../../contracts/index.js';
import { type BoundPorts, type Gateway, createGateway } from '../../gateway/gateway.js';
import { HOST, capturingLogger, connectStation, fixedClock, mapAuthenticator, metricValue } from '../helpers/mqtt.js';
import { connectBytes, remainingLength } from '../helpers/raw-mqtt.js';
import { RecordingSink } from '../helpers/recording-sink.js';
import { makeTestCerts } from '../helpers/tls.js';

const STATION = 'st-guarded' as StationId;
const TOKENS: Record<string, string> = { [STATION]: 'token-guarded' };
const MAX_PACKET_BYTES = 4_096;
/**
 * Far longer than the wait below: a peer closed within CLOSED_WITHIN_MS was closed by the packet guard,
 * not by the connect timeout (the peers here never send the rest of their packet).
 */
const CONNECT_TIMEOUT_MS = 60_000;
const CLOSED_WITHIN_MS = 10_000;

/** A peer that writes raw MQTT bytes over one transport and sees when the gateway hangs up. */
interface Peer {
  write(bytes: Buffer): void;
  closed: Promise<void>;
  close(): void;
}

type Transport = 'tcp' | 'tls' | 'wss';

/** Fixed header announcing one byte over the limit, then only a little of that body: the rest never comes. */
function oversizedStart(firstByte: number): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(MAX_PACKET_BYTES + 1), Buffer.alloc(64, 0x20)]);
}

async function closesWithin(peer: Peer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([peer.closed.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

/**
 * The packet size guard sits in front of each client's parser, so every transport that hands bytes to aedes is
 * guarded: a packet whose fixed header announces more than maxPacketBytes closes the connection without its body.
 */
describe('gateway: packet size guard on every transport', () => {
  const sink = new RecordingSink();
  let dir: string;
  let ca: Buffer;
  let gateway: Gateway | undefined;
  let ports: BoundPorts;
  let registry: Registry;
  let lines: Array<Record<string, unknown>>;
  const peers: Peer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'frostwatch-guard-'));
    const certs = await makeTestCerts(dir);
    ca = await readFile(certs.caFile);
    registry = new Registry();
    const captured = capturingLogger();
    lines = captured.lines;
    gateway = await createGateway({
      authenticator: mapAuthenticator(TOKENS),
      sink,
      logger: captured.logger,
      metrics: registry,
      clock: fixedClock,
      maxPacketBytes: MAX_PACKET_BYTES,
      tls: { cert: await readFile(certs.certFile), key: await readFile(certs.keyFile) },
      trafficLimits: { connectTimeoutMs: CONNECT_TIMEOUT_MS },
    });
    ports = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0, mqttTlsPort: 0 });
  });
  afterAll(async () => {
    for (const peer of peers) peer.close();
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openPeer(transport: Transport): Promise<Peer> {
    const peer = transport === 'wss' ? await wssPeer() : await socketPeer(transport);
    peers.push(peer);
    return peer;
  }

  async function socketPeer(transport: 'tcp' | 'tls'): Promise<Peer> {
    const socket =
      transport === 'tcp'
        ? netConnect({ host: HOST, port: ports.mqttPort })
        : tlsConnect({ host: HOST, port: ports.mqttTlsPort ?? 0, ca, servername: 'localhost' });
    socket.on('error', () => undefined); // a reset is one of the ways the gateway hangs up
    const closed = once(socket, 'close').then(() => undefined);
    await once(socket, transport === 'tcp' ? 'connect' : 'secureConnect');
    return { write: (bytes) => socket.write(bytes), closed, close: () => socket.destroy() };
  }

  async function wssPeer(): Promise<Peer> {
    const ws = new WebSocket(`wss://${HOST}:${ports.wsPort}`, 'mqtt', { ca });
    ws.on('error', () => undefined);
    const closed = once(ws, 'close').then(() => undefined);
    await once(ws, 'open');
    return { write: (bytes) => ws.send(bytes), closed, close: () => ws.terminate() };
  }

  const tooLarge = () => metricValue(registry, 'frostwatch_gateway_rejected_total', { reason: 'too_large' });
  const oversizeLogs = () => lines.filter((l) => l.msg === 'oversized MQTT packet; connection closed');

  it.each<Transport>(['tcp', 'tls', 'wss'])(
    '%s: closes a CONNECT announcing too much before authentication, without its body',
    async (transport) => {
      const [countBefore, logsBefore] = [await tooLarge(), oversizeLogs().length];
      const peer = await openPeer(transport);
      peer.write(oversizedStart(0x10));
      expect(await closesWithin(peer, CLOSED_WITHIN_MS)).toBe(true);
      expect(await tooLarge()).toBe(countBefore + 1);
      expect(oversizeLogs().slice(logsBefore)).toEqual([
        expect.objectContaining({ announcedBytes: MAX_PACKET_BYTES + 1, maxPacketBytes: MAX_PACKET_BYTES }),
      ]);
    },
  );

  it.each<Transport>(['tcp', 'tls', 'wss'])(
    '%s: closes an authenticated station announcing too much, without its body',
    async (transport) => {
      const [countBefore, logsBefore] = [await tooLarge(), oversizeLogs().length];
      const peer = await openPeer(transport);
      // The CONNECT and the oversized PUBLISH's start in one write: the guard sees every byte the parser would.
      peer.write(Buffer.concat([connectBytes(STATION, TOKENS[STATION]!, `guarded-${transport}`), oversizedStart(0x32)]));
      expect(await closesWithin(peer, CLOSED_WITHIN_MS)).toBe(true);
      expect(await tooLarge()).toBe(countBefore + 1);
      expect(oversizeLogs().slice(logsBefore)).toEqual([expect.objectContaining({ announcedBytes: MAX_PACKET_BYTES + 1 })]);
    },
  );

  it('accepts a packet of exactly maxPacketBytes and keeps serving stations', async () => {
    const station = await connectStation(`mqtt://${HOST}:${ports.mqttPort}`, STATION, TOKENS[STATION]!);
    const reading = JSON.stringify({ ts: fixedClock.now(), airTempC: 1.5, seq: 7 });
    const topic = readingsTopic(STATION);
    // PUBLISH QoS 1 body: topic length (2) + topic + message id (2) + payload, padded with JSON whitespace to the limit.
    const padding = ' '.repeat(MAX_PACKET_BYTES - (2 + Buffer.byteLength(topic) + 2 + Buffer.byteLength(reading)));
    await station.publishAsync(topic, `${reading}${padding}`, { qos: 1 });
    expect(sink.readingsOf(STATION).map((r) => r.seq)).toEqual([7]);
    await station.endAsync();
  });
});
