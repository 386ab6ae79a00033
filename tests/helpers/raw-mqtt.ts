import { once } from 'node:events';
import { type Socket, connect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { readingsTopic, type StationId } from '../../contracts/index.js';
import { HOST, NOW } from './mqtt.js';

/** A raw TCP peer of the broker: what it sent is ours byte by byte, and we see when the broker hangs up. */
export interface RawPeer {
  socket: Socket;
  /** Everything the broker sent back. */
  received(): Buffer;
  /** Resolves with ms from connect to close, once the broker (or we) closed the socket. */
  closed: Promise<number>;
  isClosed(): boolean;
}

/** Opens a TCP connection from `localAddress` (any 127.x.y.z works on Linux) to the broker. */
export async function rawPeer(port: number, localAddress = '127.0.0.1'): Promise<RawPeer> {
  const socket = connect({ host: HOST, port, localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined); // a reset is one of the ways the broker hangs up
  let isClosed = false;
  const startedAt = performance.now();
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve(performance.now() - startedAt);
    }),
  );
  await Promise.race([once(socket, 'connect'), closed]);
  return { socket, received: () => Buffer.concat(chunks), closed, isClosed: () => isClosed };
}

/** Resolves true if the socket closed within `ms`, false if it was still open then. */
export async function closesWithin(peer: RawPeer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([peer.closed.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}

/** A valid MQTT 3.1.1 CONNECT. */
export function connectBytes(username: string, password: string, clientId = username): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 60,
    username,
    password: Buffer.from(password),
  });
}

export function publishBytes(topic: string | Buffer, payload: string, qos: 0 | 1 = 0, messageId = 1): Buffer {
  const topicBytes = typeof topic === 'string' ? Buffer.from(topic, 'utf8') : topic;
  const body = Buffer.concat([
    u16(topicBytes.length),
    topicBytes,
    qos > 0 ? u16(messageId) : Buffer.alloc(0),
    Buffer.from(payload, 'utf8'),
  ]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);

/** MQTT 3.1.1 §2.2.3 variable byte integer. */
export function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

export interface HonestStation {
  /** Stops publishing, waits for the publishes in flight; resolves with what happened. */
  stop(): Promise<HonestReport>;
}

export interface HonestReport {
  sent: number;
  acked: number;
  failed: number;
  maxLatencyMs: number;
  seqs: number[];
}

/**
 * An honest station: one QoS 1 reading every `gapMs`, waiting for each PUBACK before the next (as firmware does),
 * recording how long each PUBACK took.
 */
export function keepPublishing(client: MqttClient, stationId: StationId, gapMs = 20): HonestStation {
  const report: HonestReport = { sent: 0, acked: 0, failed: 0, maxLatencyMs: 0, seqs: [] };
  let stopped = false as boolean; // set by stop(), which flow analysis does not see
  const loop = (async () => {
    while (!stopped) {
      const seq = report.sent++;
      const startedAt = performance.now();
      try {
        await client.publishAsync(readingsTopic(stationId), JSON.stringify({ ts: NOW - 86_400_000 + seq * 1_000, airTempC: 1.5, seq }), {
          qos: 1,
        });
        report.acked += 1;
        report.seqs.push(seq);
      } catch {
        report.failed += 1;
      }
      report.maxLatencyMs = Math.max(report.maxLatencyMs, performance.now() - startedAt);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return report;
    },
  };
}
